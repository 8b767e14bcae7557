#include "model/task_definition.h"

#include <algorithm>
#include <boost/json/object.hpp>
#include <cctype>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/task_size.h"
#include "model/json_util.h"
#include "model/task_volumes.h"

namespace berth::model {

namespace {

using boost::json::array;
using boost::json::object;
using Result = std::optional<ApiError>;

constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxImageLength = 255;
constexpr size_t kMaxTagKeyLength = 128;
constexpr size_t kMaxTagValueLength = 256;
// Docker's value for an unlimited ulimit, which training containers use for memlock.
constexpr int64_t kUnlimited = -1;

ApiError Refuse(const std::string& path, const std::string& message) {
  return ApiError{"ClientException", path + ": " + message};
}

std::string At(std::string_view base, size_t index) {
  return std::string(base) + "[" + std::to_string(index) + "]";
}

std::string At(std::string_view base, std::string_view member) {
  return std::string(base) + "." + std::string(member);
}

std::string Quoted(std::string_view text) {
  // Names in messages are short by now, but a hostile one is cut.
  constexpr size_t kMax = 100;
  if (text.size() > kMax) return "'" + std::string(text.substr(0, kMax)) + "...'";
  return "'" + std::string(text) + "'";
}

// ECS names (family, container, volume): ^[a-zA-Z0-9_-]{1,255}$.
bool IsName(std::string_view text) {
  if (text.empty() || text.size() > kMaxNameLength) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

constexpr char kNameRule[] =
    "must be 1 to 255 letters (uppercase and lowercase), numbers, hyphens and underscores";

// "1", "8": a count of devices, without sign, spaces or leading zeros.
std::optional<int64_t> PositiveCount(std::string_view text) {
  if (text.empty() || text.size() > 9 || text[0] == '0') return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

struct Container {
  std::string_view name;
  const object* definition = nullptr;
  bool essential = true;
  bool has_health_check = false;
  std::vector<size_t> depends_on;  // indexes of the containers it waits for
};

// One pass over a request. Each Check* returns the first error it finds.
class TaskDefinitionChecker {
 public:
  explicit TaskDefinitionChecker(const object& request) : request_(request) {}

  Result Run() {
    if (auto e = CheckFamily()) return e;
    if (auto e = CheckTaskSize()) return e;
    if (auto e = CheckVolumes()) return e;
    if (auto e = CheckInferenceAccelerators()) return e;
    if (auto e = CollectContainers()) return e;
    for (size_t i = 0; i < containers_.size(); ++i) {
      if (auto e = CheckContainer(i)) return e;
    }
    if (auto e = CheckDependencyCycles()) return e;
    if (auto e = CheckProxyConfiguration()) return e;
    if (auto e = CheckPlacementConstraints()) return e;
    if (auto e = CheckTags()) return e;
    if (auto e = CheckFaultInjection()) return e;
    return CheckFargate();
  }

 private:
  Result CheckFamily() {
    std::string_view family = OptString(request_, "family").value_or("");
    if (!IsName(family)) return Refuse("family", "family " + Quoted(family) + " " + kNameRule);
    return std::nullopt;
  }

  Result CheckTaskSize() {
    network_mode_ = OptString(request_, "networkMode").value_or("bridge");
    if (auto cpu = OptString(request_, "cpu")) {
      task_cpu_ = ParseTaskCpu(*cpu);
      if (!task_cpu_) {
        return Refuse("cpu", "Invalid 'cpu' setting " + Quoted(*cpu) +
                                 ": expected CPU units (\"1024\") or vCPU (\"1 vCPU\")");
      }
    }
    if (auto memory = OptString(request_, "memory")) {
      task_memory_ = ParseTaskMemory(*memory);
      if (!task_memory_) {
        return Refuse("memory", "Invalid 'memory' setting " + Quoted(*memory) +
                                    ": expected MiB (\"2048\") or GB (\"2 GB\")");
      }
    }
    return std::nullopt;
  }

  Result CheckVolumes() {
    const array& volumes = ArrayOr(request_, "volumes");
    for (size_t i = 0; i < volumes.size(); ++i) {
      std::string_view name = OptString(AsObject(volumes[i]), "name").value_or("");
      std::string path = At(At("volumes", i), "name");
      if (name.empty()) return Refuse(path, "every volume needs a name");
      if (!IsName(name)) return Refuse(path, "volume name " + Quoted(name) + " " + kNameRule);
      if (!volume_names_.insert(name).second) {
        return Refuse(path, "duplicate volume name " + Quoted(name));
      }
      if (auto e = CheckTaskVolume(AsObject(volumes[i]), At("volumes", i))) return e;
    }
    return std::nullopt;
  }

  Result CheckInferenceAccelerators() {
    const array& accelerators = ArrayOr(request_, "inferenceAccelerators");
    for (size_t i = 0; i < accelerators.size(); ++i) {
      std::string_view name = OptString(AsObject(accelerators[i]), "deviceName").value_or("");
      std::string path = At(At("inferenceAccelerators", i), "deviceName");
      if (name.empty()) return Refuse(path, "every inference accelerator needs a deviceName");
      if (!accelerator_names_.insert(name).second) {
        return Refuse(path, "duplicate inference accelerator " + Quoted(name));
      }
    }
    return std::nullopt;
  }

  // Names, essential flags and health checks first: the per-container checks
  // refer to other containers by name.
  Result CollectContainers() {
    const array& definitions = ArrayOr(request_, "containerDefinitions");
    // Before anything per container, so that the cost of refusing a huge
    // request does not grow with it.
    if (definitions.empty()) {
      return Refuse("containerDefinitions",
                    "a task definition needs at least one container definition");
    }
    if (definitions.size() > kMaxContainersPerTaskDefinition) {
      return Refuse("containerDefinitions", "too many container definitions (" +
                                                std::to_string(definitions.size()) +
                                                "): a task definition holds at most " +
                                                std::to_string(kMaxContainersPerTaskDefinition));
    }
    bool any_essential = false;
    for (size_t i = 0; i < definitions.size(); ++i) {
      std::string path = At("containerDefinitions", i);
      if (!definitions[i].is_object()) return Refuse(path, "expected an object");
      Container container;
      container.definition = &definitions[i].get_object();
      container.name = OptString(*container.definition, "name").value_or("");
      if (container.name.empty()) return Refuse(At(path, "name"), "every container needs a name");
      if (!IsName(container.name)) {
        return Refuse(At(path, "name"),
                      "container name " + Quoted(container.name) + " " + kNameRule);
      }
      if (FindContainer(container.name)) {
        return Refuse(At(path, "name"), "duplicate container name " + Quoted(container.name));
      }
      container.essential = OptBool(*container.definition, "essential").value_or(true);
      container.has_health_check = ObjectAt(*container.definition, "healthCheck") != nullptr;
      any_essential = any_essential || container.essential;
      containers_.push_back(std::move(container));
    }
    if (!any_essential) {
      return Refuse("containerDefinitions", "at least one container must be essential");
    }
    return std::nullopt;
  }

  std::optional<size_t> FindContainer(std::string_view name) const {
    for (size_t i = 0; i < containers_.size(); ++i) {
      if (containers_[i].name == name) return i;
    }
    return std::nullopt;
  }

  Result CheckContainer(size_t index) {
    const Container& container = containers_[index];
    const object& definition = *container.definition;
    std::string path = At("containerDefinitions", index);
    std::string_view image = OptString(definition, "image").value_or("");
    if (image.empty()) {
      return Refuse(At(path, "image"), "container " + Quoted(container.name) + " needs an image");
    }
    if (image.size() > kMaxImageLength) {
      return Refuse(At(path, "image"), "image of container " + Quoted(container.name) +
                                           " is longer than " + std::to_string(kMaxImageLength) +
                                           " characters");
    }
    if (auto e = CheckCpuAndMemory(container, path)) return e;
    if (auto e = CheckLinuxParameters(container, path)) return e;
    if (auto e = CheckResourceRequirements(container, path)) return e;
    if (auto e = CheckDependsOn(index, path)) return e;
    if (auto e = CheckHealthCheck(container, path)) return e;
    if (auto e = CheckRestartPolicy(container, path)) return e;
    if (auto e = CheckUlimits(container, path)) return e;
    if (auto e = CheckPortMappings(container, path)) return e;
    return CheckReferences(index, path);
  }

  Result CheckCpuAndMemory(const Container& container, const std::string& path) {
    const object& definition = *container.definition;
    std::optional<int64_t> cpu = OptInt(definition, "cpu");
    if (cpu && *cpu < 0) {
      return Refuse(At(path, "cpu"), "Invalid 'cpu' setting for container " +
                                         Quoted(container.name) + ". It must not be negative");
    }
    if (cpu && task_cpu_ && *cpu > *task_cpu_) {
      return Refuse(At(path, "cpu"), "container " + Quoted(container.name) + " cpu (" +
                                         std::to_string(*cpu) + ") is more than the task cpu (" +
                                         std::to_string(*task_cpu_) + ")");
    }
    std::optional<int64_t> memory = OptInt(definition, "memory");
    std::optional<int64_t> reservation = OptInt(definition, "memoryReservation");
    if (!memory && !reservation && !task_memory_) {
      return Refuse(path, "Invalid setting for container " + Quoted(container.name) +
                              ". At least one of 'memory' or 'memoryReservation' must be "
                              "specified.");
    }
    for (auto [field, value] :
         {std::pair{"memory", memory}, std::pair{"memoryReservation", reservation}}) {
      if (value && *value < kMinContainerMemoryMiB) {
        return Refuse(At(path, field), std::string("Invalid '") + field +
                                           "' setting for container " + Quoted(container.name) +
                                           ". Minimum " + std::to_string(kMinContainerMemoryMiB) +
                                           " MiB");
      }
      if (value && task_memory_ && *value > *task_memory_) {
        return Refuse(At(path, field), std::string("Invalid '") + field +
                                           "' setting for container " + Quoted(container.name) +
                                           ". " + std::to_string(*value) +
                                           " MiB is more than the task memory (" +
                                           std::to_string(*task_memory_) + " MiB)");
      }
    }
    if (memory && reservation && *reservation > *memory) {
      return Refuse(At(path, "memoryReservation"),
                    "Invalid 'memoryReservation' setting for container " + Quoted(container.name) +
                        ". 'memoryReservation' (" + std::to_string(*reservation) +
                        " MiB) must be less than or equal to 'memory' (" + std::to_string(*memory) +
                        " MiB)");
    }
    return std::nullopt;
  }

  Result CheckLinuxParameters(const Container& container, const std::string& path) {
    const object* linux_parameters = ObjectAt(*container.definition, "linuxParameters");
    if (linux_parameters == nullptr) return std::nullopt;
    std::string base = At(path, "linuxParameters");
    if (auto swappiness = OptInt(*linux_parameters, "swappiness");
        swappiness && (*swappiness < 0 || *swappiness > 100)) {
      return Refuse(At(base, "swappiness"), "swappiness of container " + Quoted(container.name) +
                                                " must be between 0 and 100");
    }
    const array& devices = ArrayOr(*linux_parameters, "devices");
    std::set<std::string_view> container_paths;
    for (size_t j = 0; j < devices.size(); ++j) {
      const object& device = AsObject(devices[j]);
      std::string device_path = At(At(base, "devices"), j);
      std::string_view host_path = OptString(device, "hostPath").value_or("");
      if (host_path.empty() || host_path[0] != '/') {
        return Refuse(At(device_path, "hostPath"),
                      "device hostPath of container " + Quoted(container.name) +
                          " must be an absolute path, got " + Quoted(host_path));
      }
      // runc maps device nodes, not folders; EFA devices are reserved one by
      // one, so the folder is refused with the two ways that work.
      if (host_path == "/dev/infiniband" || host_path == "/dev/infiniband/") {
        return Refuse(At(device_path, "hostPath"),
                      "container " + Quoted(container.name) +
                          " maps the folder /dev/infiniband: map its EFA devices "
                          "(/dev/infiniband/uverbsN) or ask for them with resourceRequirements "
                          "type \"EFA\" (a count or \"ALL\")");
      }
      std::string_view container_path = OptString(device, "containerPath").value_or(host_path);
      if (container_path.empty() || container_path[0] != '/') {
        return Refuse(At(device_path, "containerPath"),
                      "device containerPath of container " + Quoted(container.name) +
                          " must be an absolute path, got " + Quoted(container_path));
      }
      if (!container_paths.insert(container_path).second) {
        return Refuse(device_path, "container " + Quoted(container.name) + " maps device path " +
                                       Quoted(container_path) + " twice");
      }
      const array& permissions = ArrayOr(device, "permissions");
      for (size_t k = 0; k < permissions.size(); ++k) {
        for (size_t l = 0; l < k; ++l) {
          if (AsString(permissions[l]) == AsString(permissions[k])) {
            return Refuse(At(At(device_path, "permissions"), k),
                          "duplicate device permission " + Quoted(AsString(permissions[k])));
          }
        }
      }
    }
    return std::nullopt;
  }

  Result CheckResourceRequirements(const Container& container, const std::string& path) {
    const array& requirements = ArrayOr(*container.definition, "resourceRequirements");
    std::set<std::string_view> types;
    for (size_t j = 0; j < requirements.size(); ++j) {
      const object& requirement = AsObject(requirements[j]);
      std::string base = At(At(path, "resourceRequirements"), j);
      std::string_view type = OptString(requirement, "type").value_or("");
      std::string_view value = OptString(requirement, "value").value_or("");
      if (!types.insert(type).second) {
        return Refuse(At(base, "type"), "container " + Quoted(container.name) +
                                            " lists resource type " + Quoted(type) + " twice");
      }
      if (type == "GPU" && !PositiveCount(value)) {
        return Refuse(At(base, "value"), "GPU count of container " + Quoted(container.name) +
                                             " must be a positive integer, got " + Quoted(value));
      }
      if ((type == "NeuronDevice" || type == "EFA") && value != "ALL" && !PositiveCount(value)) {
        return Refuse(At(base, "value"),
                      std::string(type) + " count of container " + Quoted(container.name) +
                          " must be a positive integer or \"ALL\", got " + Quoted(value));
      }
      if (type == "InferenceAccelerator" && !accelerator_names_.contains(value)) {
        return Refuse(At(base, "value"), "container " + Quoted(container.name) +
                                             " asks for inference accelerator " + Quoted(value) +
                                             ", which inferenceAccelerators does not declare");
      }
    }
    return std::nullopt;
  }

  Result CheckDependsOn(size_t index, const std::string& path) {
    Container& container = containers_[index];
    const array& dependencies = ArrayOr(*container.definition, "dependsOn");
    for (size_t j = 0; j < dependencies.size(); ++j) {
      const object& dependency = AsObject(dependencies[j]);
      std::string base = At(At(path, "dependsOn"), j);
      std::string_view target_name = OptString(dependency, "containerName").value_or("");
      std::optional<size_t> target = FindContainer(target_name);
      if (!target) {
        return Refuse(At(base, "containerName"), "container " + Quoted(container.name) +
                                                     " depends on " + Quoted(target_name) +
                                                     ", which is not in this task definition");
      }
      if (*target == index) {
        return Refuse(At(base, "containerName"),
                      "container " + Quoted(container.name) + " cannot depend on itself");
      }
      std::string_view condition = OptString(dependency, "condition").value_or("");
      const Container& waited_for = containers_[*target];
      if (condition == "HEALTHY" && !waited_for.has_health_check) {
        return Refuse(At(base, "condition"), "container " + Quoted(container.name) + " waits for " +
                                                 Quoted(waited_for.name) + " to be HEALTHY, but " +
                                                 Quoted(waited_for.name) + " has no healthCheck");
      }
      if ((condition == "COMPLETE" || condition == "SUCCESS") && waited_for.essential) {
        // An essential container that exits stops the task, so nothing
        // could ever start after it completes.
        return Refuse(At(base, "condition"),
                      "container " + Quoted(container.name) + " waits for " +
                          Quoted(waited_for.name) + " to " + std::string(condition) +
                          ", which can only be set on a non-essential container");
      }
      if (condition != "START" && condition != "COMPLETE" && condition != "SUCCESS" &&
          condition != "HEALTHY") {
        return Refuse(At(base, "condition"),
                      "condition must be START, COMPLETE, SUCCESS or "
                      "HEALTHY, got " +
                          Quoted(condition));
      }
      container.depends_on.push_back(*target);
    }
    return std::nullopt;
  }

  Result CheckHealthCheck(const Container& container, const std::string& path) {
    const object* health_check = ObjectAt(*container.definition, "healthCheck");
    if (health_check == nullptr) return std::nullopt;
    std::string base = At(path, "healthCheck");
    const array& command = ArrayOr(*health_check, "command");
    std::string_view kind = command.empty() ? "" : AsString(command[0]);
    if (command.size() < 2 || (kind != "CMD" && kind != "CMD-SHELL")) {
      return Refuse(At(base, "command"),
                    "health check command of container " + Quoted(container.name) +
                        " must start with \"CMD\" or \"CMD-SHELL\" followed by the command");
    }
    return CheckRanges(container, *health_check, base, "health check ",
                       {Range{"interval", 5, 300}, Range{"timeout", 2, 60}, Range{"retries", 1, 10},
                        Range{"startPeriod", 0, 300}});
  }

  // ECS: restartAttemptPeriod 60 to 1800 seconds, at most 50 ignoredExitCodes
  // (`enabled` is required by the model).
  Result CheckRestartPolicy(const Container& container, const std::string& path) {
    constexpr size_t kMaxIgnoredExitCodes = 50;
    const object* policy = ObjectAt(*container.definition, "restartPolicy");
    if (policy == nullptr) return std::nullopt;
    std::string base = At(path, "restartPolicy");
    const array& codes = ArrayOr(*policy, "ignoredExitCodes");
    if (codes.size() > kMaxIgnoredExitCodes) {
      return Refuse(At(base, "ignoredExitCodes"),
                    "restart policy of container " + Quoted(container.name) + " ignores " +
                        std::to_string(codes.size()) + " exit codes, at most " +
                        std::to_string(kMaxIgnoredExitCodes) + " may be given");
    }
    return CheckRanges(container, *policy, base, "restart policy ",
                       {Range{"restartAttemptPeriod", 60, 1800}});
  }

  struct Range {
    const char* field;
    int64_t min;
    int64_t max;
  };
  // Each integer field of o (a part of container's definition at base) that
  // is present within its range; what names the part in the message.
  Result CheckRanges(const Container& container, const object& o, const std::string& base,
                     std::string_view what, std::initializer_list<Range> ranges) {
    for (const Range& range : ranges) {
      std::optional<int64_t> value = OptInt(o, range.field);
      if (value && (*value < range.min || *value > range.max)) {
        return Refuse(At(base, range.field),
                      std::string(what) + range.field + " of container " + Quoted(container.name) +
                          " must be between " + std::to_string(range.min) + " and " +
                          std::to_string(range.max) + ", got " + std::to_string(*value));
      }
    }
    return std::nullopt;
  }

  Result CheckUlimits(const Container& container, const std::string& path) {
    const array& ulimits = ArrayOr(*container.definition, "ulimits");
    std::set<std::string_view> names;
    for (size_t j = 0; j < ulimits.size(); ++j) {
      const object& ulimit = AsObject(ulimits[j]);
      std::string base = At(At(path, "ulimits"), j);
      std::string_view name = OptString(ulimit, "name").value_or("");
      if (!names.insert(name).second) {
        return Refuse(At(base, "name"), "container " + Quoted(container.name) + " sets ulimit " +
                                            Quoted(name) + " twice");
      }
      int64_t soft = OptInt(ulimit, "softLimit").value_or(0);
      int64_t hard = OptInt(ulimit, "hardLimit").value_or(0);
      for (auto [field, value] : {std::pair{"softLimit", soft}, std::pair{"hardLimit", hard}}) {
        if (value < kUnlimited) {
          return Refuse(At(base, field), std::string(field) + " of ulimit " + Quoted(name) +
                                             " must be -1 (unlimited) or more, got " +
                                             std::to_string(value));
        }
      }
      bool soft_above_hard = hard != kUnlimited && (soft == kUnlimited || soft > hard);
      if (soft_above_hard) {
        return Refuse(At(base, "softLimit"),
                      "ulimit " + Quoted(name) + " of container " + Quoted(container.name) +
                          ": softLimit (" + std::to_string(soft) +
                          ") must not be more than hardLimit (" + std::to_string(hard) + ")");
      }
    }
    return std::nullopt;
  }

  Result CheckPortMappings(const Container& container, const std::string& path) {
    const array& mappings = ArrayOr(*container.definition, "portMappings");
    // In these modes the container shares the host's or its own ENI's
    // ports, so the host port is the container port.
    bool host_port_is_container_port = network_mode_ == "awsvpc" || network_mode_ == "host";
    for (size_t j = 0; j < mappings.size(); ++j) {
      const object& mapping = AsObject(mappings[j]);
      std::string base = At(At(path, "portMappings"), j);
      // ECS (2023) maps port ranges; berth reserves and binds single ports.
      if (mapping.contains("containerPortRange")) {
        return Refuse(At(base, "containerPortRange"),
                      "port ranges are not supported by berth: map each port of container " +
                          Quoted(container.name) + " with containerPort");
      }
      std::optional<int64_t> container_port = OptInt(mapping, "containerPort");
      if (!container_port || *container_port < 1 || *container_port > 65535) {
        return Refuse(At(base, "containerPort"), "port mapping of container " +
                                                     Quoted(container.name) +
                                                     " needs a containerPort between 1 and 65535");
      }
      std::optional<int64_t> host_port = OptInt(mapping, "hostPort");
      if (host_port && (*host_port < 0 || *host_port > 65535)) {
        return Refuse(At(base, "hostPort"), "hostPort of container " + Quoted(container.name) +
                                                " must be between 0 and 65535");
      }
      if (host_port_is_container_port && host_port && *host_port != 0 &&
          *host_port != *container_port) {
        return Refuse(At(base, "hostPort"),
                      "with networkMode " + std::string(network_mode_) +
                          ", the host port and the container port of a mapping must match (" +
                          std::to_string(*host_port) + " != " + std::to_string(*container_port) +
                          ")");
      }
      int64_t effective = host_port_is_container_port ? *container_port : host_port.value_or(0);
      if (effective == 0) continue;  // chosen by the agent, never twice
      std::string_view protocol = OptString(mapping, "protocol").value_or("tcp");
      auto [it, inserted] = host_ports_.emplace(std::pair{effective, protocol}, container.name);
      if (!inserted) {
        return Refuse(At(base, "hostPort"),
                      "host port " + std::to_string(effective) + "/" + std::string(protocol) +
                          " is already mapped by container " + Quoted(it->second));
      }
    }
    return std::nullopt;
  }

  // mountPoints, volumesFrom and links name volumes and containers.
  Result CheckReferences(size_t index, const std::string& path) {
    const Container& container = containers_[index];
    const object& definition = *container.definition;
    const array& mounts = ArrayOr(definition, "mountPoints");
    for (size_t j = 0; j < mounts.size(); ++j) {
      const object& mount = AsObject(mounts[j]);
      std::string base = At(At(path, "mountPoints"), j);
      std::string_view volume = OptString(mount, "sourceVolume").value_or("");
      if (!volume_names_.contains(volume)) {
        return Refuse(At(base, "sourceVolume"), "container " + Quoted(container.name) +
                                                    " mounts volume " + Quoted(volume) +
                                                    ", which volumes does not declare");
      }
      if (OptString(mount, "containerPath").value_or("").empty()) {
        return Refuse(At(base, "containerPath"), "mount point of volume " + Quoted(volume) +
                                                     " in container " + Quoted(container.name) +
                                                     " needs a containerPath");
      }
    }
    const array& volumes_from = ArrayOr(definition, "volumesFrom");
    for (size_t j = 0; j < volumes_from.size(); ++j) {
      std::string_view source =
          OptString(AsObject(volumes_from[j]), "sourceContainer").value_or("");
      std::optional<size_t> found = FindContainer(source);
      if (!found || *found == index) {
        return Refuse(At(At(At(path, "volumesFrom"), j), "sourceContainer"),
                      "container " + Quoted(container.name) + " takes volumes from " +
                          Quoted(source) + ", which is not another container of this task");
      }
    }
    const array& links = ArrayOr(definition, "links");
    if (!links.empty() && network_mode_ != "bridge") {
      return Refuse(At(path, "links"), "links are supported only with networkMode bridge, not " +
                                           std::string(network_mode_));
    }
    for (size_t j = 0; j < links.size(); ++j) {
      std::string_view link = AsString(links[j]);
      std::string_view target = link.substr(0, link.find(':'));  // "name" or "name:alias"
      std::optional<size_t> found = FindContainer(target);
      if (!found || *found == index) {
        return Refuse(At(At(path, "links"), j), "container " + Quoted(container.name) +
                                                    " links to " + Quoted(target) +
                                                    ", which is not another container of this "
                                                    "task");
      }
    }
    return std::nullopt;
  }

  // Depth-first over dependsOn; a container met again while still on the
  // path closes a cycle, which the message spells out.
  Result CheckDependencyCycles() {
    enum Color : uint8_t { kUnseen, kOnPath, kDone };
    std::vector<Color> color(containers_.size(), kUnseen);
    std::vector<size_t> on_path;
    std::optional<ApiError> error;
    auto visit = [&](auto& self, size_t node) -> bool {
      color[node] = kOnPath;
      on_path.push_back(node);
      for (size_t next : containers_[node].depends_on) {
        if (color[next] == kOnPath) {
          auto start = std::find(on_path.begin(), on_path.end(), next);
          std::string cycle;
          for (auto it = start; it != on_path.end(); ++it) {
            cycle += std::string(containers_[*it].name) + " -> ";
          }
          cycle += std::string(containers_[next].name);
          error = Refuse(At(At("containerDefinitions", next), "dependsOn"),
                         "container dependencies form a cycle: " + cycle);
          return false;
        }
        if (color[next] == kUnseen && !self(self, next)) return false;
      }
      on_path.pop_back();
      color[node] = kDone;
      return true;
    };
    for (size_t i = 0; i < containers_.size(); ++i) {
      if (color[i] == kUnseen && !visit(visit, i)) return error;
    }
    return std::nullopt;
  }

  Result CheckProxyConfiguration() {
    const object* proxy = ObjectAt(request_, "proxyConfiguration");
    if (proxy == nullptr) return std::nullopt;
    std::string_view name = OptString(*proxy, "containerName").value_or("");
    if (!FindContainer(name)) {
      return Refuse("proxyConfiguration.containerName",
                    "proxy container " + Quoted(name) + " is not in this task definition");
    }
    return std::nullopt;
  }

  Result CheckPlacementConstraints() {
    const array& constraints = ArrayOr(request_, "placementConstraints");
    if (constraints.size() > kMaxPlacementConstraints) {
      return Refuse("placementConstraints", "too many placement constraints (" +
                                                std::to_string(constraints.size()) + "): at most " +
                                                std::to_string(kMaxPlacementConstraints));
    }
    for (size_t i = 0; i < constraints.size(); ++i) {
      const object& constraint = AsObject(constraints[i]);
      std::string base = At("placementConstraints", i);
      std::string_view type = OptString(constraint, "type").value_or("");
      if (type != "memberOf") {
        return Refuse(At(base, "type"),
                      "placement constraint type must be memberOf, got " + Quoted(type));
      }
      if (OptString(constraint, "expression").value_or("").empty()) {
        return Refuse(At(base, "expression"), "a memberOf constraint needs an expression");
      }
    }
    return std::nullopt;
  }

  Result CheckTags() {
    const array& tags = ArrayOr(request_, "tags");
    if (tags.size() > kMaxTags) {
      return Refuse("tags", "too many tags (" + std::to_string(tags.size()) + "): at most " +
                                std::to_string(kMaxTags));
    }
    std::set<std::string_view> keys;
    for (size_t i = 0; i < tags.size(); ++i) {
      const object& tag = AsObject(tags[i]);
      std::string base = At("tags", i);
      std::string_view key = OptString(tag, "key").value_or("");
      std::string_view value = OptString(tag, "value").value_or("");
      if (key.empty() || key.size() > kMaxTagKeyLength) {
        return Refuse(At(base, "key"), "tag key must be 1 to 128 characters");
      }
      if (value.size() > kMaxTagValueLength) {
        return Refuse(At(base, "value"),
                      "value of tag " + Quoted(key) + " must be at most 256 characters");
      }
      if (StartsWithIgnoreCase(key, "aws:")) {
        return Refuse(At(base, "key"), "tag key " + Quoted(key) +
                                           " uses the prefix aws:, which is reserved for AWS use");
      }
      if (!keys.insert(key).second)
        return Refuse(At(base, "key"), "duplicate tag key " + Quoted(key));
    }
    return std::nullopt;
  }

  // ECS's fault injection works only in the awsvpc and host network modes.
  Result CheckFaultInjection() {
    if (!OptBool(request_, "enableFaultInjection").value_or(false)) return std::nullopt;
    if (network_mode_ != "awsvpc" && network_mode_ != "host") {
      return Refuse("enableFaultInjection",
                    "Fault injection is supported only with network mode 'awsvpc' or 'host', "
                    "not " +
                        Quoted(network_mode_) + ".");
    }
    return std::nullopt;
  }

  // What ECS refuses for a definition that asks to run on Fargate.
  Result CheckFargate() {
    bool fargate = false;
    for (const auto& compatibility : ArrayOr(request_, "requiresCompatibilities")) {
      fargate = fargate || AsString(compatibility) == "FARGATE";
    }
    if (!fargate) return std::nullopt;
    if (network_mode_ != "awsvpc") {
      return Refuse("networkMode", "Fargate only supports network mode 'awsvpc'.");
    }
    if (!task_cpu_)
      return Refuse("cpu", "Fargate requires that 'cpu' be defined at the task level.");
    if (!task_memory_) {
      return Refuse("memory", "Fargate requires that 'memory' be defined at the task level.");
    }
    return std::nullopt;
  }

  const object& request_;
  std::string_view network_mode_;
  std::optional<int64_t> task_cpu_;
  std::optional<int64_t> task_memory_;
  std::set<std::string_view> volume_names_;
  std::set<std::string_view> accelerator_names_;
  std::vector<Container> containers_;
  std::map<std::pair<int64_t, std::string_view>, std::string_view> host_ports_;
};

}  // namespace

std::optional<ApiError> ValidateTaskDefinition(const object& request) {
  return TaskDefinitionChecker(request).Run();
}

}  // namespace berth::model
