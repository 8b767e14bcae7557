// libFuzzer target: the agent's side of the channel, the answers of the
// assignment poll (assignments.h), and then, for every task the agent
// accepts, what it reads from each container definition before anything
// runs: the health check, the restart policy, the capabilities and the OCI
// bundle (config.json) built from the definition, its override and the
// task's volumes, with a fake device tree (/dev/neuron0-15).
//
// Checked: an accepted task has the shape the task runner relies on
// (CheckAssignedTask passes on it again), and a bundle that builds has a
// process to run.
#include <string>

#include "agent/assignments.h"
#include "agent/health_check.h"
#include "agent/restart_policy.h"
#include "agent/runtime/oci_bundle.h"
#include "agent/state_files.h"
#include "common/fuzz_testing.h"

namespace {

namespace json = boost::json;
using namespace berth::agent;

berth::StatusOr<HostDevice> FakeDevice(const std::string& path) {
  for (int i = 0; i < 16; ++i) {
    if (path == "/dev/neuron" + std::to_string(i)) return HostDevice{'c', 245, i, 0666};
  }
  return berth::NotFound(path + ": no such device");
}

const json::object* OverrideFor(const json::object& task, std::string_view name) {
  const json::value* overrides = task.if_contains("overrides");
  if (overrides == nullptr) return nullptr;
  const json::value* list = overrides->get_object().if_contains("containerOverrides");
  if (list == nullptr) return nullptr;
  for (const json::value& o : list->get_array()) {
    if (StringField(o.get_object(), "name") == name) return &o.get_object();
  }
  return nullptr;
}

void ReadContainer(const json::object& task, const json::object& container) {
  (void)ParseHealthCheck(container);
  (void)ParseRestartPolicy(container);
  (void)ContainerCapabilities(container);

  const json::object& definition = task.at("taskDefinition").get_object();
  BundleInput input;
  input.task_definition = &definition;
  input.container = &container;
  input.overrides = OverrideFor(task, StringField(container, "name"));
  input.rootfs = "/var/lib/berth/agent/tasks/t/c/rootfs";
  input.task_id = "t";
  input.cgroups_path = "/berth/t/c";
  input.neuron_device_ids = {0, 1};
  input.gpu_ids = {0};
  if (const json::value* volumes = definition.if_contains("volumes")) {
    for (const json::value& v : volumes->get_array()) {
      input.volume_paths[std::string(StringField(v.get_object(), "name"))] = "/data/volume";
    }
  }
  input.host_hard_limits = {{"nofile", 1048576}, {"memlock", UINT64_MAX}, {"nproc", 4194304}};
  input.devices = FakeDevice;
  input.host_hosts = "127.0.0.1 localhost\n";
  input.host_resolv_conf = "nameserver 10.0.0.2\n";
  auto bundle = BuildOciBundle(input);
  if (bundle.ok()) BERTH_FUZZ_CHECK(bundle->config.contains("process"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto assignments = ParseAssignments(berth::fuzz::AsText(data, size));
  if (!assignments.ok()) return 0;
  for (const json::object& task : assignments->tasks) {
    BERTH_FUZZ_CHECK(CheckAssignedTask(task).ok());
    const json::object& definition = task.at("taskDefinition").get_object();
    for (const json::value& container : definition.at("containerDefinitions").get_array()) {
      ReadContainer(task, container.get_object());
    }
  }
  return 0;
}
