// Names and references in the ECS API: cluster names or ARNs, task
// definition references, resource name rules, tags.
#pragma once

#include <boost/json/array.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth::server::api {

// 1-255 letters, digits, '-' and '_' (clusters, families, containers).
bool IsValidName(std::string_view name);

// The cluster name in a name or a cluster ARN.
std::string ClusterName(std::string_view ref);

// "family", "family:3" or a task definition ARN.
struct TaskDefinitionRef {
  std::string family;
  std::optional<int64_t> revision;
};
// Throws ClientException when ref is none of the three forms.
TaskDefinitionRef ParseTaskDefinitionRef(std::string_view ref);

// The id in a container instance id or ARN
// ("arn:...:container-instance/CLUSTER/ID" or the older ".../ID").
std::string ContainerInstanceId(std::string_view ref);

// ECS tag rules: at most 50, keys 1-128 characters and unique, values up
// to 256, the "aws:" prefix reserved. Throws InvalidParameterException.
void ValidateTags(const boost::json::array& tags);
// The tag with this key as a whole number from min to max (berth's tags
// that take one); nullopt when there is none. Throws
// InvalidParameterException "KEY: want a whole number from MIN to MAX, got
// 'VALUE'" otherwise.
std::optional<int64_t> WholeNumberTag(const boost::json::array& tags, std::string_view key,
                                      int64_t min, int64_t max);
// Adds tags, replacing the values of keys already present.
void MergeTags(boost::json::array& existing, const boost::json::array& tags);

}  // namespace berth::server::api
