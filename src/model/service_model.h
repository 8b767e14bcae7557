// The AWS service models (ECS, ECR) as botocore describes them, embedded at
// build time, and validation of request bodies against them.
//
// Driving validation from the model means every field the real service
// defines is accepted with the same name and type, and a new field in the
// model is a rebuild away.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace boost::json {
class value;
}

namespace berth::model {

// An error as an AWS JSON 1.1 client sees it.
struct ApiError {
  std::string type;     // "__type": SerializationException, InvalidParameterException, ...
  std::string message;  // names the field: "containerDefinitions[1].memory: ..."
};

class ServiceModel {
 public:
  // Validation refuses values nested deeper than this (structures, lists and
  // maps), whatever the shapes allow.
  static constexpr int kMaxDepth = 64;
  // A member the model does not define is kept only while it nests no
  // deeper than this from the body: stored, it sits two levels further in
  // (its record, the kept set), within what the store's JSON parser reads.
  static constexpr int kMaxKeptDepth = 24;
  // ... and while all of them together take at most this many bytes of
  // JSON, whatever the service's request limit: they are stored with the
  // resource (RequestEntityTooLargeException beyond).
  static constexpr size_t kMaxKeptBytes = 1 << 20;

  // Models are immutable after load; these are thread-safe. The ECS model
  // carries berth's enum extensions (see AllowExtraEnumValue in the .cc).
  static const ServiceModel& Ecs();
  static const ServiceModel& Ecr();

  // A model from the compact form gen_models.py writes; for tests and tools.
  static StatusOr<std::unique_ptr<ServiceModel>> FromCompactJson(std::string_view json);

  ~ServiceModel();
  ServiceModel(const ServiceModel&) = delete;
  ServiceModel& operator=(const ServiceModel&) = delete;

  std::string_view target_prefix() const;  // "AmazonEC2ContainerServiceV20141113"
  // Which model this is: "API 2014-11-13 from botocore 1.29.27 + berth's
  // additions (4 operations, 35 members, 1 enum values) following ...".
  std::string_view version() const;
  bool HasOperation(std::string_view operation) const;
  std::vector<std::string_view> OperationNames() const;  // sorted

  // Checks body against the operation's input shape: JSON types (a wrong type
  // is a SerializationException), required members, enum values, string
  // length and pattern limits, numeric ranges and list lengths (an
  // InvalidParameterException). Returns nullopt when body is valid.
  //
  // Members a structure does not define (a newer SDK's) are not checked but
  // kept, as sent, in one object under kUnknownMembersKey of that structure
  // (see unknown_members.h); their names ("ContainerDefinition.fooBar") are
  // appended to unknown_members when it is not null. One nested deeper than
  // kMaxKeptDepth is a SerializationException; more than kMaxKeptBytes of
  // them a RequestEntityTooLargeException.
  //
  // Paths in messages are 0-based, as a JSON programmer indexes:
  // "containerDefinitions[1].memory", "dockerLabels.team". Constraint errors
  // read like the AWS ones: "1 validation error detected: Value 'x' at
  // 'family' failed to satisfy constraint: Member must ...". Only the first
  // error is reported.
  //
  // On success body is also normalised for the code that reads it: members
  // that are JSON null are removed (AWS treats null as absent), and integer /
  // long members are int64 (an integral double such as 512.0 is converted).
  // Double members keep whatever JSON number kind they came as.
  //
  // Allocates nothing unless body must change or an error is reported.
  std::optional<ApiError> ValidateInput(std::string_view operation, boost::json::value& body,
                                        std::vector<std::string>* unknown_members = nullptr) const;

  // Lets an enum shape accept value besides the model's own (berth's
  // extensions, such as ResourceType "NeuronDevice"). Only while the model is
  // being set up: not thread-safe. NotFound when shape is not an enum.
  Status AllowExtraEnumValue(std::string_view shape, std::string_view value);

  // The shapes whose pattern uses regex syntax the matcher (pattern.h) lacks;
  // their values are not checked against it. Empty for the embedded models.
  std::vector<std::string> UnenforcedPatterns() const;

  struct Impl;

 private:
  explicit ServiceModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::model
