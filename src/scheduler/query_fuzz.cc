// libFuzzer target: the cluster query language (memberOf constraints,
// ListContainerInstances --filter). The input is the expression; one that
// parses is evaluated against instances whose facts the dictionary names.
#include <vector>

#include "common/fuzz_testing.h"
#include "scheduler/query.h"

namespace {

using berth::scheduler::InstanceFacts;
using berth::scheduler::Query;

std::vector<InstanceFacts> Instances() {
  InstanceFacts trn1;
  trn1.id = "c-trn1";
  trn1.ec2_instance_id = "i-0123456789abcdef0";
  trn1.agent_version = "1.68.2";
  trn1.registered_at_millis = 1529360908500;
  trn1.running_tasks_count = 3;
  trn1.attributes = {{"ecs.instance-type", "trn1.32xlarge"},
                     {"ecs.availability-zone", "us-east-1a"},
                     {"ecs.os-type", "linux"},
                     {"stack", "prod"},
                     {"marker", ""}};
  trn1.task_groups = {"service:trainers", "family:train", "family:train"};

  InstanceFacts idle;
  idle.id = "c-idle";
  idle.agent_connected = false;
  idle.agent_version = "0.9";
  idle.registered_at_millis = -1;
  idle.attributes = {{"ecs.instance-type", "t2.micro"}, {"gpu-count", "8"}};
  return {trn1, idle, InstanceFacts{}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<InstanceFacts> instances = Instances();
  std::string_view text = berth::fuzz::AsText(data, size);
  auto query = Query::Parse(text);
  if (!query.ok()) {
    BERTH_FUZZ_CHECK(!query.status().message().empty());
    return 0;
  }
  BERTH_FUZZ_CHECK(query->text() == text);
  for (const InstanceFacts& instance : instances) (void)query->Matches(instance);
  (void)query->DependsOnTasks();
  return 0;
}
