// libFuzzer target: `berth exec`'s messages, which cross the server and the
// agent (exec_protocol.h): the input is read as a WebSocket message (a
// frame), as a status and a resize payload, and as the upgrade request's
// query string.
//
// Checked: whatever decodes encodes back to the same message or to
// something that decodes to the same value.
#include "common/fuzz_testing.h"
#include "http/exec_protocol.h"
#include "http/query_string.h"

namespace {

using namespace berth::http;

// The payload of a whole frame that Encode* made.
std::string_view PayloadOf(const std::string& frame) {
  auto decoded = DecodeExecFrame(frame);
  BERTH_FUZZ_CHECK(decoded.ok());
  return decoded->payload;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = berth::fuzz::AsText(data, size);

  if (auto frame = DecodeExecFrame(text); frame.ok()) {
    BERTH_FUZZ_CHECK(EncodeExecFrame(frame->channel, frame->payload) == text);
  }
  if (auto status = DecodeExecStatus(text); status.ok()) {
    auto again = DecodeExecStatus(PayloadOf(EncodeExecStatus(*status)));
    BERTH_FUZZ_CHECK(again.ok() && again->exit_code == status->exit_code &&
                     again->error == status->error);
  }
  if (auto resize = DecodeExecResize(text); resize.ok()) {
    auto again = DecodeExecResize(PayloadOf(EncodeExecResize(*resize)));
    BERTH_FUZZ_CHECK(again.ok() && again->columns == resize->columns &&
                     again->rows == resize->rows);
  }
  if (auto options = DecodeExecQuery(ParseQueryString(text)); options.ok()) {
    auto again = DecodeExecQuery(ParseQueryString(EncodeExecQuery(*options)));
    BERTH_FUZZ_CHECK(again.ok() && again->command == options->command &&
                     again->tty == options->tty && again->stdin == options->stdin);
  }
  return 0;
}
