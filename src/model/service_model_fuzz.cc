// libFuzzer target: AWS JSON 1.1 request bodies through the service model's
// validation, for every operation of one service. Built twice, as
// ecs_request_fuzz (BERTH_FUZZ_SERVICE=Ecs) and ecr_request_fuzz (Ecr).
//
// Input: "<Operation>\n<JSON body>". A first line that names no operation of
// the service picks one by its hash, so every input exercises some
// operation. The body is parsed as AwsJsonEndpoint parses it (an empty body
// is {}).
//
// Checked: an error has a type and a message; a body that passed is an
// object, and its known members pass again unchanged (validation's
// normalisation is idempotent, so what the operations read is what was
// checked). Members the model does not define are set aside under
// model::kUnknownMembersKey, which a second validation would keep as one
// more unknown member: they are left out of the second pass.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <string>
#include <vector>

#include "common/fuzz_testing.h"
#include "model/service_model.h"
#include "model/unknown_members.h"

namespace {

using berth::model::ServiceModel;

const ServiceModel& Model() { return ServiceModel::BERTH_FUZZ_SERVICE(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string_view> operations = Model().OperationNames();
  auto [first_line, body] = berth::fuzz::SplitLine(berth::fuzz::AsText(data, size));
  std::string_view operation = first_line;
  if (!Model().HasOperation(operation)) {
    operation = operations[std::hash<std::string_view>()(first_line) % operations.size()];
  }

  boost::json::value input = boost::json::object();
  if (!body.empty()) {
    boost::system::error_code ec;
    input = boost::json::parse(body, ec);
    if (ec) return 0;
  }
  if (auto error = Model().ValidateInput(operation, input)) {
    BERTH_FUZZ_CHECK(!error->type.empty() && !error->message.empty());
    return 0;
  }
  BERTH_FUZZ_CHECK(input.is_object());
  boost::json::value known = input;
  berth::model::DropUnknownMembers(known);
  boost::json::value again = known;
  BERTH_FUZZ_CHECK(!Model().ValidateInput(operation, again));
  BERTH_FUZZ_CHECK(again == known);
  return 0;
}
