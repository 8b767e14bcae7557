// libFuzzer target: HTTP/1.1 request heads as the server reads them off the
// socket (Beast's parser with the server's limits, request_head.h), then
// what handlers read from every head: the path and query (percent escapes,
// query strings, whole-number parameters, `berth exec`'s parameters) and
// the Host header's host:port.
//
// Checked: header names reach handlers lowercased; Path() and Query() are
// the target's two halves; a query value survives EncodeQueryValue and
// PercentDecode; a Host that splits formats back to itself.
#include "common/fuzz_testing.h"
#include "http/ascii.h"
#include "http/endpoint.h"
#include "http/exec_protocol.h"
#include "http/query_string.h"
#include "http/request_head.h"

namespace {

using namespace berth::http;

void CheckHostPort(std::string_view host_header) {
  auto split = SplitHostPort(host_header);
  if (!split.ok() || split->first.empty()) return;
  auto again = SplitHostPort(FormatEndpoint(split->first, split->second));
  BERTH_FUZZ_CHECK(again.ok() && *again == *split);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto request = internal::ParseRequestHead(berth::fuzz::AsText(data, size));
  if (!request.ok()) return 0;
  for (const auto& [name, value] : request->headers) {
    BERTH_FUZZ_CHECK(name == ToLower(name));
  }
  std::string_view path = request->Path(), query_text = request->Query();
  BERTH_FUZZ_CHECK(path.size() + (query_text.empty() ? 0 : query_text.size() + 1) <=
                   request->target.size());
  (void)PercentDecode(path);
  auto query = ParseQueryString(query_text);
  for (const auto& [name, value] : query) {
    (void)ParseQueryCount(value);
    if (value.find('\0') != std::string::npos) continue;  // PercentDecode refuses an escaped NUL
    auto back = PercentDecode(EncodeQueryValue(value));
    BERTH_FUZZ_CHECK(back && *back == value);
  }
  (void)DecodeExecQuery(query);
  if (const std::string* host = request->Header("host")) CheckHostPort(*host);
  return 0;
}
