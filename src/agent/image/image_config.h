// What an image's config supplies to a container (OCI image config, the
// "config" object): shared by the puller, which reads it, and the bundle
// builder, which combines it with the task definition as Docker does.
#pragma once

#include <string>
#include <vector>

namespace berth::agent {

struct ImageConfig {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "NAME=value"
  std::string working_dir;
  std::string user;
};

}  // namespace berth::agent
