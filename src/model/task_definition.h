// ECS semantics of task definitions that the service model's shapes cannot
// express: references between containers, volumes and accelerators, limits,
// and the fields ECS computes when it registers a task definition.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "model/service_model.h"

namespace berth::model {

// ECS quotas that berth keeps, so that what registers here registers on ECS.
inline constexpr size_t kMaxContainersPerTaskDefinition = 10;
inline constexpr size_t kMaxPlacementConstraints = 10;
inline constexpr size_t kMaxTags = 50;
// ECS refuses a container memory (hard or soft limit) below this many MiB.
inline constexpr int64_t kMinContainerMemoryMiB = 6;

// Checks a RegisterTaskDefinition request that has passed
// ServiceModel::Ecs().ValidateInput (so present members have the model's
// types; wrong types are ignored here, never thrown on). Returns a
// ClientException, as ECS does, whose message starts with the path of the
// offending field in ValidateInput's form and names the container:
//   "containerDefinitions[1].memory: Invalid 'memory' setting for container
//    'web'. Minimum 6 MiB"
// Cost is bounded before any per-container work: a request with 10,000
// containers is refused on its count.
std::optional<ApiError> ValidateTaskDefinition(const boost::json::object& request);

// Sets the fields ECS computes on a task definition that passed
// ValidateTaskDefinition, replacing any the object has:
//  - requiresAttributes: [{"name": ...}] for the features it uses that ECS
//    documents a container instance attribute for (see
//    KnownRequiredAttributes); a scheduler that honours them needs agents
//    that advertise them;
//  - compatibilities: ["EC2", "EXTERNAL"], plus "FARGATE" when
//    requiresCompatibilities asks for it and the definition qualifies
//    (awsvpc, task cpu and memory).
// Leaves everything else (arn, revision, status, registeredAt) to the caller;
// networkMode is not defaulted, since ECS returns it only when given.
void ComputeTaskDefinitionFields(boost::json::object& taskdef);

// Every attribute name ComputeTaskDefinitionFields can require, besides
// "com.amazonaws.ecs.capability.logging-driver.<driver>" for each log driver
// used. An agent advertises those whose features it supports.
std::span<const std::string_view> KnownRequiredAttributes();

}  // namespace berth::model
