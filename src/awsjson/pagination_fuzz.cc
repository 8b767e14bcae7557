// libFuzzer target: nextToken and maxResults of the List* operations.
// Input: "<nextToken>\n<JSON request>". The token is parsed as a page
// token of this server; the request builds a page (Pager) over 100 items.
//
// Checked: a token this server did not make is refused with
// InvalidParameterException (never another exception), and one it made
// from any position parses back to it; a page holds at most maxResults
// items, and its nextToken, if any, resumes after its last item.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdio>

#include "awsjson/endpoint.h"
#include "awsjson/pagination.h"
#include "common/fuzz_testing.h"

namespace {

namespace json = boost::json;
using namespace berth::awsjson;

const PageTokens& Tokens() {
  static const PageTokens tokens("the server's durable pagination key");
  return tokens;
}

std::string Position(int item) {
  char text[8];
  std::snprintf(text, sizeof text, "%03d", item);
  return text;
}

void ListPage(const json::object& request) {
  try {
    Pager pager(Tokens(), request, 50);
    for (int i = 0; i < 100 && pager.Add(Position(i), json::value(i)); ++i) {
    }
    json::object reply;
    pager.Finish(reply, "items");
    const json::array& items = reply.at("items").as_array();
    BERTH_FUZZ_CHECK(items.size() <= 50);
    if (const json::value* next = reply.if_contains("nextToken")) {
      BERTH_FUZZ_CHECK(!items.empty());
      std::string after = Tokens().Parse(next->as_string());
      BERTH_FUZZ_CHECK(after == Position(static_cast<int>(items.back().as_int64())));
    }
  } catch (const ApiException& e) {
    BERTH_FUZZ_CHECK(e.error().type == "InvalidParameterException");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [token, body] = berth::fuzz::SplitLine(berth::fuzz::AsText(data, size));
  try {
    (void)Tokens().Parse(token);
  } catch (const ApiException& e) {
    BERTH_FUZZ_CHECK(e.error().type == "InvalidParameterException");
  }
  BERTH_FUZZ_CHECK(Tokens().Parse(Tokens().Make(token)) == token);

  boost::system::error_code ec;
  json::value request = json::parse(body, ec);
  if (!ec && request.is_object()) ListPage(request.as_object());
  return 0;
}
