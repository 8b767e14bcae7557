#include "model/service_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <vector>

#include "model/unknown_members.h"

namespace berth::model {
namespace {

using testing::HasSubstr;

// A RegisterTaskDefinition body with two containers, valid as it stands;
// cases replace a part of it.
constexpr char kTwoContainers[] = R"({
  "family": "train",
  "containerDefinitions": [
    {"name": "main", "image": "trainer:1", "memory": 512},
    {"name": "sidecar", "image": "logger:1", "memory": 64}
  ]})";

std::string Containers(const std::string& second) {
  return R"({"family": "train", "containerDefinitions": [
      {"name": "main", "image": "trainer:1", "memory": 512}, )" +
         second + "]}";
}

struct ValidationCase {
  const char* name;
  const char* operation;
  std::string body;
  const char* type;     // "" when the body is valid
  const char* message;  // a part of the expected message
};

std::string CaseName(const testing::TestParamInfo<ValidationCase>& info) { return info.param.name; }

class EcsValidationTest : public testing::TestWithParam<ValidationCase> {};

TEST_P(EcsValidationTest, ReportsTheFirstErrorWithItsPath) {
  const ValidationCase& c = GetParam();
  boost::json::value body = boost::json::parse(c.body);
  std::optional<ApiError> error = ServiceModel::Ecs().ValidateInput(c.operation, body);
  if (std::string(c.type).empty()) {
    EXPECT_FALSE(error.has_value()) << error->type << ": " << error->message;
    return;
  }
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->type, c.type);
  EXPECT_THAT(error->message, HasSubstr(c.message));
}

std::string Tags(int count) {
  std::string tags = "[";
  for (int i = 0; i < count; ++i) {
    if (i > 0) tags += ",";
    tags += R"({"key": "k)" + std::to_string(i) + R"(", "value": "v"})";
  }
  return tags + "]";
}

INSTANTIATE_TEST_SUITE_P(
    RegisterTaskDefinition, EcsValidationTest,
    testing::Values(
        ValidationCase{"Valid", "RegisterTaskDefinition", kTwoContainers, "", ""},
        ValidationCase{"BodyIsNotAnObject", "RegisterTaskDefinition", "[1, 2]",
                       "SerializationException", "request body: expected object, found array"},
        ValidationCase{"TopLevelWrongType", "RegisterTaskDefinition",
                       R"({"family": 7, "containerDefinitions": []})", "SerializationException",
                       "family: expected string, found integer"},
        ValidationCase{"NestedWrongType", "RegisterTaskDefinition",
                       Containers(R"({"name": "s", "image": "i", "memory": "64"})"),
                       "SerializationException",
                       "containerDefinitions[1].memory: expected integer, found string"},
        ValidationCase{"DeeplyNestedWrongType", "RegisterTaskDefinition",
                       Containers(R"({"name": "s", "image": "i", "memory": 64,
                           "linuxParameters": {"devices": [{"hostPath": "/dev/neuron0",
                               "permissions": ["read", 1]}]}})"),
                       "SerializationException",
                       "containerDefinitions[1].linuxParameters.devices[0].permissions[1]: "
                       "expected string, found integer"},
        ValidationCase{"ListGivenAnObject", "RegisterTaskDefinition",
                       R"({"family": "f", "containerDefinitions": {"name": "x"}})",
                       "SerializationException",
                       "containerDefinitions: expected array, found object"},
        ValidationCase{"BooleanAsString", "RegisterTaskDefinition",
                       Containers(R"({"name": "s", "image": "i", "essential": "true"})"),
                       "SerializationException",
                       "containerDefinitions[1].essential: expected boolean, found string"},
        ValidationCase{"MapValueWrongType", "RegisterTaskDefinition",
                       Containers(R"({"name": "s", "image": "i", "dockerLabels": {"team": 1}})"),
                       "SerializationException",
                       "containerDefinitions[1].dockerLabels.team: expected string, found integer"},
        ValidationCase{"IntegerOutOf32Bits", "RegisterTaskDefinition",
                       Containers(R"({"name": "s", "image": "i", "memory": 3000000000})"),
                       "SerializationException", "expected a 32-bit integer, found 3000000000"},
        ValidationCase{"FractionForInteger", "RegisterTaskDefinition",
                       Containers(R"({"name": "s", "image": "i", "memory": 64.5})"),
                       "SerializationException", "expected integer, found number"},
        ValidationCase{"IntegralDoubleForInteger", "RegisterTaskDefinition",
                       Containers(R"({"name": "s", "image": "i", "memory": 512.0})"), "", ""},
        ValidationCase{"RequiredMissing", "RegisterTaskDefinition",
                       R"({"containerDefinitions": []})", "InvalidParameterException",
                       "1 validation error detected: Value null at 'family' failed to satisfy "
                       "constraint: Member must not be null"},
        ValidationCase{"RequiredNull", "RegisterTaskDefinition",
                       R"({"family": null, "containerDefinitions": []})",
                       "InvalidParameterException", "Value null at 'family'"},
        ValidationCase{"NestedRequiredMissing", "RegisterTaskDefinition",
                       Containers(R"({"name": "s", "image": "i",
                           "linuxParameters": {"devices": [{"containerPath": "/dev/x"}]}})"),
                       "InvalidParameterException",
                       "Value null at 'containerDefinitions[1].linuxParameters.devices[0]."
                       "hostPath' failed to satisfy constraint: Member must not be null"},
        ValidationCase{"NullListElement", "RegisterTaskDefinition",
                       Containers(R"({"name": "s", "image": "i", "command": ["a", null]})"),
                       "InvalidParameterException",
                       "Value null at 'containerDefinitions[1].command[1]'"},
        ValidationCase{"EnumBadValue", "RegisterTaskDefinition",
                       R"({"family": "f", "containerDefinitions": [], "networkMode": "bogus"})",
                       "InvalidParameterException",
                       "Value 'bogus' at 'networkMode' failed to satisfy constraint: Member must "
                       "satisfy enum value set: [bridge, host, awsvpc, none]"},
        ValidationCase{"NeuronDeviceIsAResourceType", "RegisterTaskDefinition",
                       Containers(R"({"name": "s", "image": "i", "resourceRequirements":
                           [{"type": "NeuronDevice", "value": "2"}]})"),
                       "", ""},
        ValidationCase{"UnknownResourceTypeListsTheExtension", "RegisterTaskDefinition",
                       Containers(R"({"name": "s", "image": "i", "resourceRequirements":
                           [{"type": "TPU", "value": "2"}]})"),
                       "InvalidParameterException",
                       "at 'containerDefinitions[1].resourceRequirements[0].type' failed to "
                       "satisfy constraint: Member must satisfy enum value set: [GPU, "
                       "InferenceAccelerator, NeuronDevice, EFA]"},
        ValidationCase{"EfaIsAResourceType", "RegisterTaskDefinition",
                       Containers(R"({"name": "s", "image": "i", "resourceRequirements":
                           [{"type": "EFA", "value": "ALL"}]})"),
                       "", ""},
        ValidationCase{"FiftyTagsAreAllowed", "RegisterTaskDefinition",
                       R"({"family": "f", "containerDefinitions": [], "tags": )" + Tags(50) + "}",
                       "", ""},
        ValidationCase{"TooManyTags", "RegisterTaskDefinition",
                       R"({"family": "f", "containerDefinitions": [], "tags": )" + Tags(51) + "}",
                       "InvalidParameterException",
                       "Value with 51 items at 'tags' failed to satisfy constraint: Member must "
                       "have length less than or equal to 50"},
        ValidationCase{"TagKeyTooLong", "RegisterTaskDefinition",
                       R"({"family": "f", "containerDefinitions": [], "tags": [{"key": ")" +
                           std::string(129, 'k') + R"("}]})",
                       "InvalidParameterException",
                       "at 'tags[0].key' failed to satisfy constraint: Member must have length "
                       "less than or equal to 128"},
        ValidationCase{"TagKeyEmpty", "RegisterTaskDefinition",
                       R"({"family": "f", "containerDefinitions": [], "tags": [{"key": ""}]})",
                       "InvalidParameterException",
                       "Value '' at 'tags[0].key' failed to satisfy constraint: Member must have "
                       "length greater than or equal to 1"},
        ValidationCase{"TagKeyPattern", "RegisterTaskDefinition",
                       R"({"family": "f", "containerDefinitions": [], "tags": [{"key": "a#b"}]})",
                       "InvalidParameterException",
                       "Value 'a#b' at 'tags[0].key' failed to satisfy constraint: Member must "
                       "satisfy regular expression pattern"}),
    CaseName);

INSTANTIATE_TEST_SUITE_P(
    OtherOperations, EcsValidationTest,
    testing::Values(
        ValidationCase{"NumericRange", "CreateService",
                       R"({"serviceName": "s", "capacityProviderStrategy":
                           [{"capacityProvider": "p", "weight": 1001}]})",
                       "InvalidParameterException",
                       "Value '1001' at 'capacityProviderStrategy[0].weight' failed to satisfy "
                       "constraint: Member must have value less than or equal to 1000"},
        ValidationCase{"TimestampAsEpochSeconds", "SubmitTaskStateChange",
                       R"({"pullStartedAt": 1700000000.5})", "", ""},
        ValidationCase{"TimestampAsBoolean", "SubmitTaskStateChange", R"({"pullStartedAt": true})",
                       "SerializationException", "pullStartedAt: expected timestamp"},
        ValidationCase{"NeuronPlatformDevice", "RegisterContainerInstance",
                       R"({"platformDevices": [{"id": "0", "type": "NEURON_DEVICE"}]})", "", ""},
        ValidationCase{"EfaPlatformDevice", "RegisterContainerInstance",
                       R"({"platformDevices": [{"id": "0", "type": "EFA"}]})", "", ""},
        ValidationCase{"UnknownOperation", "LaunchRockets", "{}", "UnknownOperationException",
                       "LaunchRockets"}),
    CaseName);

TEST(ServiceModel, EcsModelDescribesTheService) {
  const ServiceModel& ecs = ServiceModel::Ecs();
  EXPECT_EQ(ecs.target_prefix(), "AmazonEC2ContainerServiceV20141113");
  EXPECT_TRUE(ecs.HasOperation("RegisterTaskDefinition"));
  EXPECT_TRUE(ecs.HasOperation("RunTask"));
  EXPECT_FALSE(ecs.HasOperation("runtask"));
  EXPECT_GT(ecs.OperationNames().size(), 50u);
  EXPECT_EQ(&ecs, &ServiceModel::Ecs());
}

TEST(ServiceModel, EveryModelPatternIsEnforced) {
  EXPECT_THAT(ServiceModel::Ecs().UnenforcedPatterns(), testing::IsEmpty());
  EXPECT_THAT(ServiceModel::Ecr().UnenforcedPatterns(), testing::IsEmpty());
}

TEST(ServiceModel, UnknownMembersAreKeptAsideAndNullsRemoved) {
  boost::json::value body = boost::json::parse(R"({
    "zeta": 1, "family": "f", "bogus": {"deep": [1, 2]}, "taskRoleArn": null,
    "containerDefinitions": [{"name": "a", "notAField": true, "image": "i", "memory": 6}]})");
  std::vector<std::string> unknown;
  ASSERT_FALSE(ServiceModel::Ecs().ValidateInput("RegisterTaskDefinition", body, &unknown));
  EXPECT_EQ(boost::json::serialize(body),
            R"({"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":6,)"
            R"("@unknownMembers":{"notAField":true}}],)"
            R"("@unknownMembers":{"zeta":1,"bogus":{"deep":[1,2]}}})");
  EXPECT_THAT(unknown, testing::UnorderedElementsAre("RegisterTaskDefinitionRequest.zeta",
                                                     "RegisterTaskDefinitionRequest.bogus",
                                                     "ContainerDefinition.notAField"));
  // What a client sees again: its members where it sent them.
  UnfoldUnknownMembers(body);
  EXPECT_EQ(body, boost::json::parse(R"({"family": "f", "zeta": 1, "bogus": {"deep": [1, 2]},
    "containerDefinitions": [{"name": "a", "notAField": true, "image": "i", "memory": 6}]})"));
}

TEST(ServiceModel, AKnownMemberOfTheWrongTypeIsStillRefusedNamingIt) {
  boost::json::value body = boost::json::parse(Containers(
      R"({"name": "s", "image": "i", "memory": "lots", "newerThanTheModel": {"x": 1}})"));
  auto error = ServiceModel::Ecs().ValidateInput("RegisterTaskDefinition", body);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->type, "SerializationException");
  EXPECT_THAT(error->message, HasSubstr("containerDefinitions[1].memory"));
}

TEST(ServiceModel, TheClientsOwnKeyForKeptMembersIsKeptLikeAnyOther) {
  std::string sent = R"({"cluster": "c", "@unknownMembers": {"family": "x"}})";
  boost::json::value body = boost::json::parse(sent);
  ASSERT_FALSE(ServiceModel::Ecs().ValidateInput("ListTasks", body));
  EXPECT_EQ(body.at("cluster"), "c");
  EXPECT_FALSE(body.as_object().contains("family"));
  UnfoldUnknownMembers(body);
  EXPECT_EQ(body, boost::json::parse(sent));
}

// restartPolicy is newer than Debian's botocore: ecs_additions.json adds it,
// so a registered definition keeps it for the agent.
TEST(ServiceModel, ContainerRestartPolicyIsKept) {
  boost::json::value body = boost::json::parse(Containers(
      R"({"name": "s", "image": "i", "memory": 6, "restartPolicy": {"enabled": true,
          "ignoredExitCodes": [0, 143], "restartAttemptPeriod": 60}})"));
  ASSERT_FALSE(ServiceModel::Ecs().ValidateInput("RegisterTaskDefinition", body));
  EXPECT_EQ(boost::json::serialize(body.at("containerDefinitions").at(1).at("restartPolicy")),
            R"({"enabled":true,"ignoredExitCodes":[0,143],"restartAttemptPeriod":60})");

  boost::json::value no_enabled = boost::json::parse(
      Containers(R"({"name": "s", "image": "i", "memory": 6, "restartPolicy": {}})"));
  auto error = ServiceModel::Ecs().ValidateInput("RegisterTaskDefinition", no_enabled);
  ASSERT_TRUE(error);
  EXPECT_THAT(error->message, HasSubstr("enabled"));
  boost::json::value not_a_code = boost::json::parse(Containers(
      R"({"name": "s", "image": "i", "memory": 6,
          "restartPolicy": {"enabled": true, "ignoredExitCodes": ["1"]}})"));
  EXPECT_TRUE(ServiceModel::Ecs().ValidateInput("RegisterTaskDefinition", not_a_code));
}

TEST(ServiceModel, IntegralDoublesBecomeIntegers) {
  boost::json::value body = boost::json::parse(Containers(R"({"name": "s", "memory": 512.0})"));
  ASSERT_FALSE(ServiceModel::Ecs().ValidateInput("RegisterTaskDefinition", body));
  const boost::json::value& memory = body.at("containerDefinitions").at(1).at("memory");
  ASSERT_TRUE(memory.is_int64());
  EXPECT_EQ(memory.get_int64(), 512);
}

TEST(ServiceModel, UnknownMembersNestedTooDeepAreRefused) {
  auto nested = [](int levels) { return std::string(levels, '[') + std::string(levels, ']'); };
  const int fits = ServiceModel::kMaxKeptDepth - 1;  // below the body's own level
  boost::json::value ok = boost::json::parse(R"({"cluster": "c", "junk": )" + nested(fits) + "}");
  EXPECT_FALSE(ServiceModel::Ecs().ValidateInput("ListTasks", ok));
  boost::json::value deep =
      boost::json::parse(R"({"cluster": "c", "junk": )" + nested(fits + 1) + "}");
  auto error = ServiceModel::Ecs().ValidateInput("ListTasks", deep);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->type, "SerializationException");
  EXPECT_THAT(error->message, HasSubstr("junk: a member the service model does not define"));
}

TEST(ServiceModel, UnknownMembersTakeAtMostAMebibyteWhateverTheRequestLimit) {
  // ECR takes 16 MiB requests (layer parts); kept members stay bounded.
  boost::json::value fits = boost::json::parse(R"({"repositoryName": "r1"})");
  fits.as_object()["future"] = std::string(ServiceModel::kMaxKeptBytes - 100, 'x');
  EXPECT_FALSE(ServiceModel::Ecr().ValidateInput("CreateRepository", fits));
  boost::json::array numbers;  // about 500 KB of JSON
  for (int i = 0; i < 100'000; ++i) numbers.push_back(i);
  boost::json::value many = boost::json::parse(R"({"repositoryName": "r1"})");
  many.as_object()["future"] = std::move(numbers);
  auto many_error = ServiceModel::Ecr().ValidateInput("CreateRepository", many);
  EXPECT_FALSE(many_error) << many_error->message;
  boost::json::value big = boost::json::parse(R"({"repositoryName": "r1", "tags": []})");
  big.as_object()["a"] = std::string(ServiceModel::kMaxKeptBytes / 2, 'x');
  big.as_object()["b"] = boost::json::array{std::string(ServiceModel::kMaxKeptBytes / 2, 'x')};
  auto error = ServiceModel::Ecr().ValidateInput("CreateRepository", big);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->type, "RequestEntityTooLargeException");
  EXPECT_THAT(error->message, HasSubstr("b: the members the service model does not define"));
}

TEST(ServiceModel, NewerMembersAreDefinedWithTheirTypes) {
  boost::json::value body = boost::json::parse(Containers(
      R"({"name": "s", "image": "i", "memory": 6, "versionConsistency": "disabled",
          "credentialSpecs": ["credentialspec:arn:aws:ssm:us-east-1:1:parameter/x"]})"));
  body.as_object()["enableFaultInjection"] = true;
  ASSERT_FALSE(ServiceModel::Ecs().ValidateInput("RegisterTaskDefinition", body));
  EXPECT_FALSE(body.as_object().contains(kUnknownMembersKey));
  EXPECT_EQ(body.at("containerDefinitions").at(1).at("versionConsistency"), "disabled");

  boost::json::value bad = boost::json::parse(
      Containers(R"({"name": "s", "image": "i", "memory": 6, "versionConsistency": "sometimes"})"));
  auto error = ServiceModel::Ecs().ValidateInput("RegisterTaskDefinition", bad);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->type, "InvalidParameterException");
  EXPECT_THAT(error->message, HasSubstr("containerDefinitions[1].versionConsistency"));

  boost::json::value not_bool = boost::json::parse(Containers(R"({"name": "s"})"));
  not_bool.as_object()["enableFaultInjection"] = "yes";
  error = ServiceModel::Ecs().ValidateInput("RegisterTaskDefinition", not_bool);
  ASSERT_TRUE(error);
  EXPECT_THAT(error->message, HasSubstr("enableFaultInjection: expected boolean"));
}

TEST(ServiceModel, ServiceDeploymentOperationsAreInTheModel) {
  for (const char* op :
       {"ListServiceDeployments", "DescribeServiceDeployments", "DescribeServiceRevisions"}) {
    EXPECT_TRUE(ServiceModel::Ecs().HasOperation(op)) << op;
  }
  boost::json::value bad = boost::json::parse(R"({"service": "s", "status": ["DONE"]})");
  auto error = ServiceModel::Ecs().ValidateInput("ListServiceDeployments", bad);
  ASSERT_TRUE(error);
  EXPECT_THAT(error->message, HasSubstr("ROLLBACK_SUCCESSFUL"));
}

TEST(ServiceModel, TheVersionNamesBotocoreAndTheAdditions) {
  EXPECT_THAT(std::string(ServiceModel::Ecs().version()), HasSubstr("2014-11-13"));
  EXPECT_THAT(std::string(ServiceModel::Ecs().version()), HasSubstr("botocore"));
  EXPECT_THAT(std::string(ServiceModel::Ecr().version()), HasSubstr("additions"));
}

TEST(ServiceModel, LongValuesAreCutInMessages) {
  boost::json::value body = boost::json::parse(R"({"family": "f", "containerDefinitions": [],
      "networkMode": ")" + std::string(5000, 'x') +
                                               R"("})");
  auto error = ServiceModel::Ecs().ValidateInput("RegisterTaskDefinition", body);
  ASSERT_TRUE(error.has_value());
  EXPECT_LT(error->message.size(), 400u);
  EXPECT_THAT(error->message, HasSubstr("xxx...'"));
}

// A model with a recursive shape, which neither ECS nor ECR has, to reach
// the depth limit.
constexpr char kRecursiveModel[] = R"({
  "targetPrefix": "Test",
  "operations": {"Nest": "Node", "Ping": null},
  "shapes": {
    "Node": {"type": "structure", "members": {"child": "Node", "items": "Nodes", "n": "Int"},
             "required": ["n"]},
    "Nodes": {"type": "list", "member": "Node", "max": 3},
    "Int": {"type": "integer", "min": 1}
  }})";

std::string Nested(int depth) {
  std::string json;
  for (int i = 0; i < depth; ++i) json += R"({"n": 1, "child": )";
  json += R"({"n": 1})";
  json += std::string(depth, '}');
  return json;
}

TEST(ServiceModel, DepthIsLimited) {
  auto model = ServiceModel::FromCompactJson(kRecursiveModel);
  ASSERT_TRUE(model.ok()) << model.status().ToString();

  boost::json::parse_options options;
  options.max_depth = 1000;
  boost::json::value ok = boost::json::parse(Nested(ServiceModel::kMaxDepth - 1), {}, options);
  EXPECT_FALSE((*model)->ValidateInput("Nest", ok));

  boost::json::value deep = boost::json::parse(Nested(200), {}, options);
  auto error = (*model)->ValidateInput("Nest", deep);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->type, "SerializationException");
  EXPECT_THAT(error->message, HasSubstr("nested deeper than 64 levels"));
  EXPECT_THAT(error->message, HasSubstr("child.child.child"));
}

TEST(ServiceModel, OperationWithoutInputTakesAnyObject) {
  auto model = ServiceModel::FromCompactJson(kRecursiveModel);
  ASSERT_TRUE(model.ok());
  boost::json::value body = boost::json::parse(R"({"x": 1})");
  EXPECT_FALSE((*model)->ValidateInput("Ping", body));
  EXPECT_EQ(boost::json::serialize(body), R"({"@unknownMembers":{"x":1}})");
}

TEST(ServiceModel, ExtraEnumValuesOnlyForEnumShapes) {
  auto model = ServiceModel::FromCompactJson(kRecursiveModel);
  ASSERT_TRUE(model.ok());
  EXPECT_EQ((*model)->AllowExtraEnumValue("Int", "x").code(), StatusCode::kNotFound);
  EXPECT_EQ((*model)->AllowExtraEnumValue("Missing", "x").code(), StatusCode::kNotFound);
}

TEST(ServiceModel, MalformedModelsAreRefused) {
  for (const char* json :
       {"[]", "{}", R"({"targetPrefix": "T", "operations": {}, "shapes": {"A": {"type": "x"}}})",
        R"({"targetPrefix": "T", "operations": {"Op": "Missing"}, "shapes": {}})",
        R"({"targetPrefix": "T", "operations": {},
            "shapes": {"L": {"type": "list", "member": "Missing"}}})",
        R"({"targetPrefix": "T", "operations": {},
            "shapes": {"S": {"type": "structure", "members": {}, "required": ["a"]}}})"}) {
    EXPECT_FALSE(ServiceModel::FromCompactJson(json).ok()) << json;
  }
}

struct EcrCase {
  const char* name;
  const char* operation;
  const char* body;
  const char* type;
  const char* message;
};

class EcrValidationTest : public testing::TestWithParam<EcrCase> {};

TEST_P(EcrValidationTest, AppliesEcrConstraints) {
  const EcrCase& c = GetParam();
  boost::json::value body = boost::json::parse(c.body);
  std::optional<ApiError> error = ServiceModel::Ecr().ValidateInput(c.operation, body);
  if (std::string(c.type).empty()) {
    EXPECT_FALSE(error.has_value()) << error->type << ": " << error->message;
    return;
  }
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->type, c.type);
  EXPECT_THAT(error->message, HasSubstr(c.message));
}

INSTANTIATE_TEST_SUITE_P(
    Ecr, EcrValidationTest,
    testing::Values(
        EcrCase{"ValidRepository", "CreateRepository", R"({"repositoryName": "team/trainer"})", "",
                ""},
        EcrCase{"UppercaseRepository", "CreateRepository", R"({"repositoryName": "Team"})",
                "InvalidParameterException",
                "Value 'Team' at 'repositoryName' failed to satisfy constraint: Member must "
                "satisfy regular expression pattern: (?:[a-z0-9]+"},
        EcrCase{"ShortRepository", "CreateRepository", R"({"repositoryName": "a"})",
                "InvalidParameterException", "length greater than or equal to 2"},
        EcrCase{"RegistryIdDigits", "DescribeRepositories", R"({"registryId": "12345"})",
                "InvalidParameterException", "at 'registryId'"},
        EcrCase{"Blob", "UploadLayerPart",
                R"({"repositoryName": "r1", "uploadId": "0f6e9a1c-5b2d-4c3e-8f7a-123456789abc",
                    "partFirstByte": 0, "partLastByte": 2, "layerPartBlob": "YWJj"})",
                "", ""},
        EcrCase{"BlobNotBase64", "UploadLayerPart",
                R"({"repositoryName": "r1", "uploadId": "0f6e9a1c-5b2d-4c3e-8f7a-123456789abc",
                    "partFirstByte": 0, "partLastByte": 2, "layerPartBlob": "a b!"})",
                "SerializationException", "layerPartBlob: expected base64-encoded string"},
        EcrCase{"NegativeLong", "UploadLayerPart",
                R"({"repositoryName": "r1", "uploadId": "0f6e9a1c-5b2d-4c3e-8f7a-123456789abc",
                    "partFirstByte": -1, "partLastByte": 2, "layerPartBlob": ""})",
                "InvalidParameterException",
                "at 'partFirstByte' failed to satisfy constraint: Member must have value greater "
                "than or equal to 0"},
        EcrCase{"ExclusionFilters", "CreateRepository",
                R"({"repositoryName": "r1", "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
                    "imageTagMutabilityExclusionFilters":
                      [{"filterType": "WILDCARD", "filter": "latest*"}]})",
                "", ""},
        EcrCase{"ExclusionFilterPattern", "PutImageTagMutability",
                R"({"repositoryName": "r1", "imageTagMutability": "MUTABLE_WITH_EXCLUSION",
                    "imageTagMutabilityExclusionFilters":
                      [{"filterType": "WILDCARD", "filter": "a/b"}]})",
                "InvalidParameterException", "at 'imageTagMutabilityExclusionFilters[0].filter'"},
        EcrCase{"ExclusionFilterType", "PutImageTagMutability",
                R"({"repositoryName": "r1", "imageTagMutability": "MUTABLE_WITH_EXCLUSION",
                    "imageTagMutabilityExclusionFilters": [{"filterType": "REGEX", "filter": "a"}]})",
                "InvalidParameterException", "enum value set: [WILDCARD]"}),
    [](const testing::TestParamInfo<EcrCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace berth::model
