#include "model/task_definition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "model/service_model.h"

namespace berth::model {
namespace {

using boost::json::array;
using boost::json::object;
using testing::HasSubstr;

// The training task of the design: a trainer on two Neuron devices and a
// sidecar that waits for it to start. Valid; each case breaks one thing.
object TrainingTask() {
  return boost::json::parse(R"({
    "family": "bert-train",
    "networkMode": "host",
    "volumes": [{"name": "data", "host": {"sourcePath": "/data"}}],
    "containerDefinitions": [
      {"name": "trainer", "image": "123456789012.dkr.ecr.us-west-2.amazonaws.com/bert:1",
       "memory": 4096, "memoryReservation": 2048, "cpu": 1024,
       "command": ["torchrun", "train.py"],
       "linuxParameters": {
         "capabilities": {"add": ["IPC_LOCK"]},
         "devices": [{"hostPath": "/dev/neuron0", "permissions": ["read", "write"]},
                     {"hostPath": "/dev/neuron1", "containerPath": "/dev/neuron1"}]},
       "ulimits": [{"name": "memlock", "softLimit": -1, "hardLimit": -1},
                   {"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
       "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}],
       "portMappings": [{"containerPort": 8080}],
       "healthCheck": {"command": ["CMD-SHELL", "curl -f localhost:8080"], "interval": 30,
                       "timeout": 5, "retries": 3, "startPeriod": 60},
       "resourceRequirements": [{"type": "NeuronDevice", "value": "2"}]},
      {"name": "sidecar", "image": "busybox", "memory": 64, "essential": false,
       "dependsOn": [{"containerName": "trainer", "condition": "HEALTHY"}],
       "volumesFrom": [{"sourceContainer": "trainer"}]}
    ],
    "tags": [{"key": "team", "value": "ml"}]
  })")
      .as_object();
}

object& Container(object& request, size_t index) {
  return request["containerDefinitions"].as_array()[index].as_object();
}

// An enabled restart policy that ignores the exit codes 0 to count - 1.
object PolicyIgnoring(int count) {
  array codes;
  for (int i = 0; i < count; ++i) codes.push_back(i);
  return object{{"enabled", true}, {"ignoredExitCodes", std::move(codes)}};
}

struct RuleCase {
  const char* name;
  std::function<void(object&)> change;
  const char* message;  // a part of the expected message; "" when valid
};

class TaskDefinitionRuleTest : public testing::TestWithParam<RuleCase> {};

TEST_P(TaskDefinitionRuleTest, RefusesWithAClientExceptionNamingTheField) {
  object request = TrainingTask();
  GetParam().change(request);
  std::optional<ApiError> error = ValidateTaskDefinition(request);
  if (std::string(GetParam().message).empty()) {
    EXPECT_FALSE(error.has_value()) << error->message;
    return;
  }
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->type, "ClientException");
  EXPECT_THAT(error->message, HasSubstr(GetParam().message));
}

// A change that makes volumes[0] (the trainer's "data" volume) the one given
// as JSON.
std::function<void(object&)> WithVolume(const char* volume) {
  return [volume](object& r) { r["volumes"].as_array()[0] = boost::json::parse(volume); };
}

INSTANTIATE_TEST_SUITE_P(
    Volumes, TaskDefinitionRuleTest,
    testing::Values(
        RuleCase{"HostPath", WithVolume(R"({"name": "data", "host": {"sourcePath": "/data"}})"),
                 ""},
        RuleCase{"EmptyVolume", WithVolume(R"({"name": "data"})"), ""},
        RuleCase{"TaskScopedPlainDockerVolume",
                 WithVolume(R"({"name": "data", "dockerVolumeConfiguration": {"scope": "task"}})"),
                 ""},
        RuleCase{"SharedNfs",
                 WithVolume(R"({"name": "data", "dockerVolumeConfiguration": {"scope": "shared",
                       "autoprovision": true, "driver": "local", "labels": {"team": "ml"},
                       "driverOpts": {"type": "nfs", "device": ":/exports/ckpt",
                                      "o": "addr=10.0.0.2,nfsvers=4.1,hard"}}})"),
                 ""},
        RuleCase{"TaskTmpfs", WithVolume(R"({"name": "data", "dockerVolumeConfiguration": {
                       "driverOpts": {"type": "tmpfs", "device": "tmpfs", "o": "size=64m"}}})"),
                 ""},
        RuleCase{"SharedBind",
                 WithVolume(R"({"name": "data", "dockerVolumeConfiguration": {"scope": "shared",
                       "autoprovision": true,
                       "driverOpts": {"type": "none", "device": "/srv/ckpt", "o": "bind"}}})"),
                 ""},
        RuleCase{"UnknownDriver",
                 WithVolume(
                     R"({"name": "data", "dockerVolumeConfiguration": {"driver": "rexray/ebs"}})"),
                 "volumes[0].dockerVolumeConfiguration.driver: volume 'data' asks for the "
                 "Docker volume driver 'rexray/ebs'"},
        RuleCase{
            "AutoprovisionOnlyShared",
            WithVolume(R"({"name": "data", "dockerVolumeConfiguration": {"autoprovision": true}})"),
            "volumes[0].dockerVolumeConfiguration.autoprovision: volume 'data': "
            "autoprovision applies only to scope shared"},
        RuleCase{"UnknownDriverOption",
                 WithVolume(R"({"name": "data", "dockerVolumeConfiguration": {
                       "driverOpts": {"type": "tmpfs", "size": "1g"}}})"),
                 "volumes[0].dockerVolumeConfiguration.driverOpts: volume 'data': driverOpts: "
                 "unknown option 'size'"},
        RuleCase{"UnsupportedFileSystem",
                 WithVolume(R"({"name": "data", "dockerVolumeConfiguration": {
                       "driverOpts": {"type": "ext4", "device": "/dev/sdb"}}})"),
                 "driverOpts.type 'ext4' is not supported"},
        RuleCase{"RelativeBindDevice", WithVolume(R"({"name": "data", "dockerVolumeConfiguration": {
                       "driverOpts": {"type": "none", "device": "srv", "o": "bind"}}})"),
                 "a bind needs the absolute path of a host folder"},
        RuleCase{"TwoKinds", WithVolume(R"({"name": "data", "host": {"sourcePath": "/data"},
                       "dockerVolumeConfiguration": {"scope": "task"}})"),
                 "volumes[0]: volume 'data' has both host and dockerVolumeConfiguration"},
        RuleCase{
            "Efs",
            WithVolume(R"({"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-0123",
                       "rootDirectory": "/runs/1", "transitEncryption": "DISABLED"}})"),
            ""},
        RuleCase{
            "EfsTransitEncryption",
            WithVolume(R"({"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-0123",
                       "transitEncryption": "ENABLED"}})"),
            "volumes[0].efsVolumeConfiguration.transitEncryption: volume 'data': "
            "transitEncryption ENABLED cannot be honoured"},
        RuleCase{
            "EfsIam",
            WithVolume(R"({"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-0123",
                       "authorizationConfig": {"iam": "ENABLED"}}})"),
            "volumes[0].efsVolumeConfiguration.authorizationConfig.iam"},
        RuleCase{
            "EfsAccessPoint",
            WithVolume(R"({"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-0123",
                       "authorizationConfig": {"accessPointId": "fsap-1"}}})"),
            "EFS access points cannot be honoured"},
        RuleCase{
            "EfsRootLeaves",
            WithVolume(R"({"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-0123",
                       "rootDirectory": "/runs/../../etc"}})"),
            "must not leave the file system"},
        RuleCase{"EfsWithoutId",
                 WithVolume(R"({"name": "data", "efsVolumeConfiguration": {"fileSystemId": ""}})"),
                 "volumes[0].efsVolumeConfiguration.fileSystemId: volume 'data' needs a "
                 "fileSystemId"},
        RuleCase{"FsxWindows",
                 WithVolume(R"({"name": "data", "fsxWindowsFileServerVolumeConfiguration": {
                       "fileSystemId": "fs-1", "rootDirectory": "share"}})"),
                 "are for Windows container instances"}));

INSTANTIATE_TEST_SUITE_P(
    Rules, TaskDefinitionRuleTest,
    testing::Values(
        RuleCase{"TrainingTaskIsValid", [](object&) {}, ""},
        RuleCase{"FamilyCharacters", [](object& r) { r["family"] = "bert train"; },
                 "family: family 'bert train' must be 1 to 255 letters"},
        RuleCase{"FamilyTooLong", [](object& r) { r["family"] = std::string(256, 'f'); },
                 "family: family"},
        RuleCase{"NoContainers", [](object& r) { r["containerDefinitions"] = array(); },
                 "containerDefinitions: a task definition needs at least one container"},
        RuleCase{"ElevenContainers",
                 [](object& r) {
                   array many;
                   for (int i = 0; i < 11; ++i) {
                     many.push_back(
                         object{{"name", "c" + std::to_string(i)}, {"image", "i"}, {"memory", 64}});
                   }
                   r["containerDefinitions"] = std::move(many);
                 },
                 "containerDefinitions: too many container definitions (11): a task "
                 "definition holds at most 10"},
        RuleCase{"ContainerNameMissing", [](object& r) { Container(r, 1).erase("name"); },
                 "containerDefinitions[1].name: every container needs a name"},
        RuleCase{"ContainerNameCharacters", [](object& r) { Container(r, 1)["name"] = "side car"; },
                 "containerDefinitions[1].name: container name 'side car' must be"},
        RuleCase{"ContainerNamesUnique", [](object& r) { Container(r, 1)["name"] = "trainer"; },
                 "containerDefinitions[1].name: duplicate container name 'trainer'"},
        RuleCase{"ImageMissing", [](object& r) { Container(r, 1)["image"] = ""; },
                 "containerDefinitions[1].image: container 'sidecar' needs an image"},
        RuleCase{"ImageTooLong",
                 [](object& r) { Container(r, 1)["image"] = std::string(256, 'i'); },
                 "containerDefinitions[1].image: image of container 'sidecar' is longer than 255"},
        RuleCase{"NoEssentialContainer",
                 [](object& r) {
                   Container(r, 0)["essential"] = false;
                   Container(r, 1).erase("dependsOn");
                 },
                 "containerDefinitions: at least one container must be essential"},
        RuleCase{"MemoryMissing", [](object& r) { Container(r, 1).erase("memory"); },
                 "containerDefinitions[1]: Invalid setting for container 'sidecar'. At least one "
                 "of 'memory' or 'memoryReservation' must be specified."},
        RuleCase{"TaskMemoryCoversContainers",
                 [](object& r) {
                   r["memory"] = "8 GB";
                   Container(r, 1).erase("memory");
                 },
                 ""},
        RuleCase{"MemoryBelowMinimum", [](object& r) { Container(r, 1)["memory"] = 5; },
                 "containerDefinitions[1].memory: Invalid 'memory' setting for container "
                 "'sidecar'. Minimum 6 MiB"},
        RuleCase{"ReservationAboveMemory",
                 [](object& r) { Container(r, 0)["memoryReservation"] = 8192; },
                 "containerDefinitions[0].memoryReservation: Invalid 'memoryReservation' setting "
                 "for container 'trainer'. 'memoryReservation' (8192 MiB) must be less than or "
                 "equal to 'memory' (4096 MiB)"},
        RuleCase{"ContainerMemoryAboveTask", [](object& r) { r["memory"] = "2048"; },
                 "containerDefinitions[0].memory: Invalid 'memory' setting for container "
                 "'trainer'. 4096 MiB is more than the task memory (2048 MiB)"},
        RuleCase{"TaskCpuUnparsable", [](object& r) { r["cpu"] = "lots"; },
                 "cpu: Invalid 'cpu' setting 'lots'"},
        RuleCase{"TaskMemoryUnparsable", [](object& r) { r["memory"] = "2 TB"; },
                 "memory: Invalid 'memory' setting '2 TB'"},
        RuleCase{"TaskSizeWithUnits",
                 [](object& r) {
                   r["cpu"] = "2 vCPU";
                   r["memory"] = "8 GB";
                 },
                 ""},
        RuleCase{"ContainerCpuAboveTask", [](object& r) { r["cpu"] = "512"; },
                 "containerDefinitions[0].cpu: container 'trainer' cpu (1024) is more than the "
                 "task cpu (512)"},
        RuleCase{"DeviceHostPathRelative",
                 [](object& r) {
                   Container(r, 0)["linuxParameters"]
                       .as_object()["devices"]
                       .as_array()[1]
                       .as_object()["hostPath"] = "dev/neuron1";
                 },
                 "containerDefinitions[0].linuxParameters.devices[1].hostPath: device hostPath "
                 "of container 'trainer' must be an absolute path"},
        RuleCase{"InfinibandFolderMapped",
                 [](object& r) {
                   Container(r, 0)["linuxParameters"]
                       .as_object()["devices"]
                       .as_array()[1]
                       .as_object()["hostPath"] = "/dev/infiniband";
                 },
                 "containerDefinitions[0].linuxParameters.devices[1].hostPath: container "
                 "'trainer' maps the folder /dev/infiniband: map its EFA devices "
                 "(/dev/infiniband/uverbsN) or ask for them with resourceRequirements type "
                 "\"EFA\" (a count or \"ALL\")"},
        RuleCase{"DeviceMappedTwice",
                 [](object& r) {
                   Container(r, 0)["linuxParameters"]
                       .as_object()["devices"]
                       .as_array()[1]
                       .as_object()["containerPath"] = "/dev/neuron0";
                 },
                 "containerDefinitions[0].linuxParameters.devices[1]: container 'trainer' maps "
                 "device path '/dev/neuron0' twice"},
        RuleCase{"DevicePermissionTwice",
                 [](object& r) {
                   Container(r, 0)["linuxParameters"]
                       .as_object()["devices"]
                       .as_array()[0]
                       .as_object()["permissions"] = array{"read", "read"};
                 },
                 "containerDefinitions[0].linuxParameters.devices[0].permissions[1]: duplicate "
                 "device permission 'read'"},
        RuleCase{"GpuCountNotANumber",
                 [](object& r) {
                   Container(r, 1)["resourceRequirements"] =
                       array{object{{"type", "GPU"}, {"value", "two"}}};
                 },
                 "containerDefinitions[1].resourceRequirements[0].value: GPU count of container "
                 "'sidecar' must be a positive integer, got 'two'"},
        RuleCase{"GpuCountZero",
                 [](object& r) {
                   Container(r, 1)["resourceRequirements"] =
                       array{object{{"type", "GPU"}, {"value", "0"}}};
                 },
                 "must be a positive integer, got '0'"},
        RuleCase{"NeuronDeviceAll",
                 [](object& r) {
                   Container(r, 0)["resourceRequirements"] =
                       array{object{{"type", "NeuronDevice"}, {"value", "ALL"}}};
                 },
                 ""},
        RuleCase{"NeuronDeviceCountBad",
                 [](object& r) {
                   Container(r, 0)["resourceRequirements"] =
                       array{object{{"type", "NeuronDevice"}, {"value", "-1"}}};
                 },
                 "containerDefinitions[0].resourceRequirements[0].value: NeuronDevice count of "
                 "container 'trainer' must be a positive integer or \"ALL\", got '-1'"},
        RuleCase{"EfaAll",
                 [](object& r) {
                   Container(r, 0)["resourceRequirements"] =
                       array{object{{"type", "EFA"}, {"value", "ALL"}}};
                 },
                 ""},
        RuleCase{"EfaCountBad",
                 [](object& r) {
                   Container(r, 0)["resourceRequirements"] =
                       array{object{{"type", "EFA"}, {"value", "0"}}};
                 },
                 "containerDefinitions[0].resourceRequirements[0].value: EFA count of "
                 "container 'trainer' must be a positive integer or \"ALL\", got '0'"},
        RuleCase{"ResourceTypeTwice",
                 [](object& r) {
                   Container(r, 0)["resourceRequirements"] =
                       array{object{{"type", "GPU"}, {"value", "1"}},
                             object{{"type", "GPU"}, {"value", "2"}}};
                 },
                 "containerDefinitions[0].resourceRequirements[1].type: container 'trainer' "
                 "lists resource type 'GPU' twice"},
        RuleCase{"InferenceAcceleratorUndeclared",
                 [](object& r) {
                   Container(r, 0)["resourceRequirements"] =
                       array{object{{"type", "InferenceAccelerator"}, {"value", "eia"}}};
                 },
                 "containerDefinitions[0].resourceRequirements[0].value: container 'trainer' "
                 "asks for inference accelerator 'eia', which inferenceAccelerators does not "
                 "declare"},
        RuleCase{"InferenceAcceleratorDeclared",
                 [](object& r) {
                   r["inferenceAccelerators"] =
                       array{object{{"deviceName", "eia"}, {"deviceType", "eia2.medium"}}};
                   Container(r, 0)["resourceRequirements"] =
                       array{object{{"type", "InferenceAccelerator"}, {"value", "eia"}}};
                 },
                 ""},
        RuleCase{"DependsOnUnknownContainer",
                 [](object& r) {
                   Container(r, 1)["dependsOn"] =
                       array{object{{"containerName", "db"}, {"condition", "START"}}};
                 },
                 "containerDefinitions[1].dependsOn[0].containerName: container 'sidecar' "
                 "depends on 'db', which is not in this task definition"},
        RuleCase{"DependsOnItself",
                 [](object& r) {
                   Container(r, 1)["dependsOn"] =
                       array{object{{"containerName", "sidecar"}, {"condition", "START"}}};
                 },
                 "containerDefinitions[1].dependsOn[0].containerName: container 'sidecar' cannot "
                 "depend on itself"},
        RuleCase{"HealthyNeedsHealthCheck", [](object& r) { Container(r, 0).erase("healthCheck"); },
                 "containerDefinitions[1].dependsOn[0].condition: container 'sidecar' waits for "
                 "'trainer' to be HEALTHY, but 'trainer' has no healthCheck"},
        RuleCase{"CompleteOnEssentialContainer",
                 [](object& r) {
                   Container(r, 1)["dependsOn"] =
                       array{object{{"containerName", "trainer"}, {"condition", "COMPLETE"}}};
                 },
                 "containerDefinitions[1].dependsOn[0].condition: container 'sidecar' waits for "
                 "'trainer' to COMPLETE, which can only be set on a non-essential container"},
        RuleCase{"HealthCheckCommandEmpty",
                 [](object& r) { Container(r, 0)["healthCheck"].as_object()["command"] = array(); },
                 "containerDefinitions[0].healthCheck.command: health check command of container "
                 "'trainer' must start with \"CMD\" or \"CMD-SHELL\""},
        RuleCase{"HealthCheckCommandWithoutPrefix",
                 [](object& r) {
                   Container(r, 0)["healthCheck"].as_object()["command"] = array{"curl", "-f"};
                 },
                 "containerDefinitions[0].healthCheck.command"},
        RuleCase{"HealthCheckInterval",
                 [](object& r) { Container(r, 0)["healthCheck"].as_object()["interval"] = 4; },
                 "containerDefinitions[0].healthCheck.interval: health check interval of "
                 "container 'trainer' must be between 5 and 300, got 4"},
        RuleCase{"HealthCheckTimeout",
                 [](object& r) { Container(r, 0)["healthCheck"].as_object()["timeout"] = 61; },
                 "healthCheck.timeout: health check timeout of container 'trainer' must be "
                 "between 2 and 60, got 61"},
        RuleCase{"HealthCheckRetries",
                 [](object& r) { Container(r, 0)["healthCheck"].as_object()["retries"] = 0; },
                 "healthCheck.retries: health check retries of container 'trainer' must be "
                 "between 1 and 10, got 0"},
        RuleCase{"HealthCheckStartPeriod",
                 [](object& r) { Container(r, 0)["healthCheck"].as_object()["startPeriod"] = 301; },
                 "healthCheck.startPeriod: health check startPeriod of container 'trainer' must "
                 "be between 0 and 300, got 301"},
        RuleCase{"RestartPolicyIsValid",
                 [](object& r) {
                   Container(r, 0)["restartPolicy"] = object{{"enabled", true},
                                                             {"ignoredExitCodes", array{0, 143}},
                                                             {"restartAttemptPeriod", 60}};
                 },
                 ""},
        RuleCase{"RestartAttemptPeriodBelow60",
                 [](object& r) {
                   Container(r, 0)["restartPolicy"] =
                       object{{"enabled", true}, {"restartAttemptPeriod", 59}};
                 },
                 "containerDefinitions[0].restartPolicy.restartAttemptPeriod: restart policy "
                 "restartAttemptPeriod of container 'trainer' must be between 60 and 1800, got 59"},
        RuleCase{"RestartAttemptPeriodAbove1800",
                 [](object& r) {
                   Container(r, 1)["restartPolicy"] =
                       object{{"enabled", false}, {"restartAttemptPeriod", 1801}};
                 },
                 "containerDefinitions[1].restartPolicy.restartAttemptPeriod: restart policy "
                 "restartAttemptPeriod of container 'sidecar' must be between 60 and 1800, got "
                 "1801"},
        RuleCase{"FiftyOneIgnoredExitCodes",
                 [](object& r) { Container(r, 0)["restartPolicy"] = PolicyIgnoring(51); },
                 "containerDefinitions[0].restartPolicy.ignoredExitCodes: restart policy of "
                 "container 'trainer' ignores 51 exit codes, at most 50 may be given"},
        RuleCase{"FiftyIgnoredExitCodesAreEnough",
                 [](object& r) { Container(r, 0)["restartPolicy"] = PolicyIgnoring(50); }, ""},
        RuleCase{"UlimitSoftAboveHard",
                 [](object& r) {
                   Container(r, 0)["ulimits"].as_array()[1].as_object()["softLimit"] = 8192;
                 },
                 "containerDefinitions[0].ulimits[1].softLimit: ulimit 'nofile' of container "
                 "'trainer': softLimit (8192) must not be more than hardLimit (4096)"},
        RuleCase{"UlimitUnlimitedSoftUnderFiniteHard",
                 [](object& r) {
                   Container(r, 0)["ulimits"].as_array()[1].as_object()["softLimit"] = -1;
                 },
                 "softLimit (-1) must not be more than hardLimit (4096)"},
        RuleCase{"UlimitTwice",
                 [](object& r) {
                   Container(r, 0)["ulimits"].as_array()[1].as_object()["name"] = "memlock";
                 },
                 "containerDefinitions[0].ulimits[1].name: container 'trainer' sets ulimit "
                 "'memlock' twice"},
        RuleCase{"ContainerPortMissing",
                 [](object& r) {
                   Container(r, 0)["portMappings"] = array{object{{"hostPort", 80}}};
                 },
                 "containerDefinitions[0].portMappings[0].containerPort: port mapping of "
                 "container 'trainer' needs a containerPort between 1 and 65535"},
        RuleCase{"ContainerPortOutOfRange",
                 [](object& r) {
                   Container(r, 0)["portMappings"] = array{object{{"containerPort", 70000}}};
                 },
                 "containerDefinitions[0].portMappings[0].containerPort"},
        RuleCase{"HostPortOutOfRange",
                 [](object& r) {
                   r["networkMode"] = "bridge";
                   Container(r, 0)["portMappings"] =
                       array{object{{"containerPort", 80}, {"hostPort", 65536}}};
                 },
                 "containerDefinitions[0].portMappings[0].hostPort: hostPort of container "
                 "'trainer' must be between 0 and 65535"},
        RuleCase{"HostModePortsMustMatch",
                 [](object& r) {
                   Container(r, 0)["portMappings"] =
                       array{object{{"containerPort", 80}, {"hostPort", 8080}}};
                 },
                 "containerDefinitions[0].portMappings[0].hostPort: with networkMode host, the "
                 "host port and the container port of a mapping must match (8080 != 80)"},
        RuleCase{"HostPortTakenTwice",
                 [](object& r) {
                   Container(r, 1)["portMappings"] = array{object{{"containerPort", 8080}}};
                 },
                 "containerDefinitions[1].portMappings[0].hostPort: host port 8080/tcp is "
                 "already mapped by container 'trainer'"},
        RuleCase{"SamePortOtherProtocol",
                 [](object& r) {
                   Container(r, 1)["portMappings"] =
                       array{object{{"containerPort", 8080}, {"protocol", "udp"}}};
                 },
                 ""},
        RuleCase{"DynamicHostPortsNeverClash",
                 [](object& r) {
                   r["networkMode"] = "bridge";
                   Container(r, 1)["portMappings"] = array{object{{"containerPort", 8080}}};
                 },
                 ""},
        RuleCase{"VolumeNamesUnique",
                 [](object& r) {
                   r["volumes"].as_array().push_back(object{{"name", "data"}});
                 },
                 "volumes[1].name: duplicate volume name 'data'"},
        RuleCase{"VolumeNameMissing",
                 [](object& r) { r["volumes"].as_array().push_back(object{}); },
                 "volumes[1].name: every volume needs a name"},
        RuleCase{"MountOfUndeclaredVolume",
                 [](object& r) {
                   Container(r, 0)["mountPoints"] =
                       array{object{{"sourceVolume", "models"}, {"containerPath", "/m"}}};
                 },
                 "containerDefinitions[0].mountPoints[0].sourceVolume: container 'trainer' "
                 "mounts volume 'models', which volumes does not declare"},
        RuleCase{"MountWithoutContainerPath",
                 [](object& r) {
                   Container(r, 0)["mountPoints"] = array{object{{"sourceVolume", "data"}}};
                 },
                 "containerDefinitions[0].mountPoints[0].containerPath"},
        RuleCase{"VolumesFromUnknownContainer",
                 [](object& r) {
                   Container(r, 1)["volumesFrom"] = array{object{{"sourceContainer", "db"}}};
                 },
                 "containerDefinitions[1].volumesFrom[0].sourceContainer: container 'sidecar' "
                 "takes volumes from 'db'"},
        RuleCase{"LinkToUnknownContainer",
                 [](object& r) {
                   r["networkMode"] = "bridge";
                   Container(r, 1)["links"] = array{"db:database"};
                 },
                 "containerDefinitions[1].links[0]: container 'sidecar' links to 'db'"},
        RuleCase{"LinkWithAlias",
                 [](object& r) {
                   r["networkMode"] = "bridge";
                   Container(r, 1)["links"] = array{"trainer:t"};
                 },
                 ""},
        RuleCase{"LinksOnlyInBridgeMode",
                 [](object& r) { Container(r, 1)["links"] = array{"trainer"}; },
                 "containerDefinitions[1].links: links are supported only with networkMode "
                 "bridge, not host"},
        RuleCase{"MemberOfNeedsExpression",
                 [](object& r) {
                   r["placementConstraints"] = array{object{{"type", "memberOf"}}};
                 },
                 "placementConstraints[0].expression: a memberOf constraint needs an expression"},
        RuleCase{"TooManyPlacementConstraints",
                 [](object& r) {
                   array constraints;
                   for (int i = 0; i < 11; ++i) {
                     constraints.push_back(
                         object{{"type", "memberOf"}, {"expression", "attribute:x == y"}});
                   }
                   r["placementConstraints"] = std::move(constraints);
                 },
                 "placementConstraints: too many placement constraints (11): at most 10"},
        RuleCase{"TooManyTags",
                 [](object& r) {
                   array tags;
                   for (int i = 0; i < 51; ++i) tags.push_back(object{{"key", std::to_string(i)}});
                   r["tags"] = std::move(tags);
                 },
                 "tags: too many tags (51): at most 50"},
        RuleCase{"TagKeysUnique",
                 [](object& r) {
                   r["tags"].as_array().push_back(object{{"key", "team"}, {"value", "x"}});
                 },
                 "tags[1].key: duplicate tag key 'team'"},
        RuleCase{"TagKeyReserved",
                 [](object& r) {
                   r["tags"].as_array().push_back(object{{"key", "AWS:owner"}, {"value", "x"}});
                 },
                 "tags[1].key: tag key 'AWS:owner' uses the prefix aws:, which is reserved"},
        RuleCase{"TagKeyEmpty",
                 [](object& r) {
                   r["tags"].as_array().push_back(object{{"value", "x"}});
                 },
                 "tags[1].key: tag key must be 1 to 128 characters"},
        RuleCase{"TagValueTooLong",
                 [](object& r) {
                   r["tags"].as_array().push_back(
                       object{{"key", "k"}, {"value", std::string(257, 'v')}});
                 },
                 "tags[1].value: value of tag 'k' must be at most 256 characters"},
        RuleCase{"PortRangesAreNotSupported",
                 [](object& r) {
                   Container(r, 0)["portMappings"] =
                       array{object{{"containerPortRange", "8000-8010"}}};
                 },
                 "containerDefinitions[0].portMappings[0].containerPortRange: port ranges are not "
                 "supported by berth"},
        RuleCase{"FaultInjectionWithHostNetworking",
                 [](object& r) { r["enableFaultInjection"] = true; }, ""},
        RuleCase{"FaultInjectionNeedsAwsvpcOrHost",
                 [](object& r) {
                   r["enableFaultInjection"] = true;
                   r.erase("networkMode");  // bridge
                 },
                 "enableFaultInjection: Fault injection is supported only with network mode "
                 "'awsvpc' or 'host', not 'bridge'."},
        RuleCase{"FargateNeedsAwsvpc",
                 [](object& r) { r["requiresCompatibilities"] = array{"FARGATE"}; },
                 "networkMode: Fargate only supports network mode 'awsvpc'."},
        RuleCase{"FargateNeedsTaskCpu",
                 [](object& r) {
                   r["requiresCompatibilities"] = array{"FARGATE"};
                   r["networkMode"] = "awsvpc";
                 },
                 "cpu: Fargate requires that 'cpu' be defined at the task level."},
        RuleCase{"ProxyContainerUnknown",
                 [](object& r) {
                   r["proxyConfiguration"] = object{{"containerName", "envoy"}};
                 },
                 "proxyConfiguration.containerName: proxy container 'envoy' is not in this task "
                 "definition"}),
    [](const testing::TestParamInfo<RuleCase>& info) { return std::string(info.param.name); });

TEST(TaskDefinition, DependencyCycleIsNamed) {
  object request = TrainingTask();
  Container(request, 0)["dependsOn"] =
      array{object{{"containerName", "sidecar"}, {"condition", "START"}}};
  std::optional<ApiError> error = ValidateTaskDefinition(request);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->type, "ClientException");
  EXPECT_THAT(error->message, HasSubstr("containerDefinitions[0].dependsOn: container "
                                        "dependencies form a cycle: trainer -> sidecar -> "
                                        "trainer"));
}

TEST(TaskDefinition, LongerCycleThroughThreeContainers) {
  object request = TrainingTask();
  Container(request, 1)["dependsOn"] =
      array{object{{"containerName", "third"}, {"condition", "START"}}};
  request["containerDefinitions"].as_array().push_back(
      object{{"name", "third"},
             {"image", "i"},
             {"memory", 64},
             {"dependsOn", array{object{{"containerName", "sidecar"}, {"condition", "START"}}}}});
  std::optional<ApiError> error = ValidateTaskDefinition(request);
  ASSERT_TRUE(error.has_value());
  EXPECT_THAT(error->message, HasSubstr("cycle: sidecar -> third -> sidecar"));
}

TEST(TaskDefinition, TenThousandContainersAreRefusedQuickly) {
  std::string body = R"({"family": "huge", "containerDefinitions": [)";
  for (int i = 0; i < 10000; ++i) {
    if (i > 0) body += ",";
    body += R"({"name": "c)" + std::to_string(i) + R"(", "image": "busybox", "memory": 64})";
  }
  body += "]}";
  auto start = std::chrono::steady_clock::now();
  boost::json::value request = boost::json::parse(body);
  // The whole path a request takes: shape validation, then these rules.
  ASSERT_FALSE(ServiceModel::Ecs().ValidateInput("RegisterTaskDefinition", request));
  std::optional<ApiError> error = ValidateTaskDefinition(request.as_object());
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->type, "ClientException");
  EXPECT_THAT(error->message, HasSubstr("too many container definitions (10000)"));
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST(TaskDefinition, WrongTypesAreIgnoredNotThrownOn) {
  // ValidateInput normally comes first; these rules must not rely on it.
  object request = boost::json::parse(R"({
    "family": "f", "volumes": 7, "tags": "x", "containerDefinitions": [
      {"name": "a", "image": "i", "memory": "lots", "memoryReservation": 64,
       "dependsOn": [5], "ulimits": [null], "portMappings": {"x": 1}}]})")
                       .as_object();
  EXPECT_NO_THROW(ValidateTaskDefinition(request));
}

std::vector<std::string> AttributeNames(const object& taskdef) {
  std::vector<std::string> names;
  for (const auto& attribute : taskdef.at("requiresAttributes").as_array()) {
    names.emplace_back(attribute.at("name").as_string());
  }
  return names;
}

TEST(TaskDefinitionFields, RequiresAttributesFollowTheFeaturesUsed) {
  object taskdef = TrainingTask();
  taskdef["executionRoleArn"] = "arn:aws:iam::123456789012:role/exec";
  taskdef["taskRoleArn"] = "arn:aws:iam::123456789012:role/task";
  Container(taskdef, 1)["logConfiguration"] = object{{"logDriver", "awslogs"}};
  ComputeTaskDefinitionFields(taskdef);
  EXPECT_THAT(
      AttributeNames(taskdef),
      testing::UnorderedElementsAre(
          "com.amazonaws.ecs.capability.task-iam-role", "com.amazonaws.ecs.capability.ecr-auth",
          "ecs.capability.execution-role-ecr-pull", "ecs.capability.container-health-check",
          "com.amazonaws.ecs.capability.docker-remote-api.1.18",
          "com.amazonaws.ecs.capability.logging-driver.awslogs",
          "com.amazonaws.ecs.capability.docker-remote-api.1.19",
          "ecs.capability.execution-role-awslogs", "ecs.capability.container-ordering"));
  EXPECT_EQ(boost::json::serialize(taskdef.at("compatibilities")), R"(["EC2","EXTERNAL"])");
  for (const std::string& name : AttributeNames(taskdef)) {
    if (name.starts_with("com.amazonaws.ecs.capability.logging-driver.")) continue;
    auto known = KnownRequiredAttributes();
    EXPECT_NE(std::find(known.begin(), known.end(), name), known.end()) << name;
  }
}

TEST(TaskDefinitionFields, PlainTaskRequiresNothing) {
  object taskdef = boost::json::parse(R"({"family": "f", "containerDefinitions": [
      {"name": "a", "image": "localhost:8080/app:1", "memory": 64}]})")
                       .as_object();
  ComputeTaskDefinitionFields(taskdef);
  EXPECT_TRUE(taskdef.at("requiresAttributes").as_array().empty());
}

TEST(TaskDefinitionFields, FargateOnlyWhenAskedForAndQualified) {
  object taskdef = boost::json::parse(R"({"family": "f", "networkMode": "awsvpc",
      "cpu": "1 vCPU", "memory": "2 GB", "requiresCompatibilities": ["FARGATE"],
      "containerDefinitions": [{"name": "a", "image": "busybox"}]})")
                       .as_object();
  ComputeTaskDefinitionFields(taskdef);
  EXPECT_EQ(boost::json::serialize(taskdef.at("compatibilities")),
            R"(["EC2","EXTERNAL","FARGATE"])");
  EXPECT_THAT(AttributeNames(taskdef), testing::ElementsAre("ecs.capability.task-eni"));

  taskdef.erase("requiresCompatibilities");
  ComputeTaskDefinitionFields(taskdef);  // replaces what it set before
  EXPECT_EQ(boost::json::serialize(taskdef.at("compatibilities")), R"(["EC2","EXTERNAL"])");
}

}  // namespace
}  // namespace berth::model
