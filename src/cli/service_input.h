// The input of `berth service create|update`: the flags as typed, checked
// and turned into CreateService's or UpdateService's JSON. Numbers arrive as
// text so a bad one is refused here, as one line, like any other bad value.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "common/status.h"

namespace berth::cli {

struct ServiceFlags {
  std::string name;
  std::string task_definition;      // create: required; update: optional
  std::string desired_count;        // empty: not given
  std::string scheduling_strategy;  // create only: REPLICA or DAEMON
  std::string max_percent;          // create only, both or neither
  std::string min_healthy_percent;
  bool circuit_breaker = false;       // create only
  bool rollback = false;              // needs circuit_breaker
  bool force_new_deployment = false;  // update only
};

// A whole number in [low, high], or InvalidArgument naming the flag.
StatusOr<int> ParseFlagNumber(const std::string& flag, const std::string& text, int low, int high);

// CreateService's input in cluster, or InvalidArgument.
StatusOr<boost::json::object> CreateServiceInput(const std::string& cluster,
                                                 const ServiceFlags& flags);
// UpdateService's input in cluster, or InvalidArgument when it changes nothing.
StatusOr<boost::json::object> UpdateServiceInput(const std::string& cluster,
                                                 const ServiceFlags& flags);

}  // namespace berth::cli
