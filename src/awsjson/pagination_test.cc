#include "awsjson/pagination.h"

#include <gtest/gtest.h>

#include "awsjson/endpoint.h"

namespace berth::awsjson {
namespace {

namespace json = boost::json;

TEST(PageTokens, RoundTripsAPosition) {
  PageTokens tokens("secret");
  EXPECT_EQ(tokens.Parse(tokens.Make("family 0000000003")), "family 0000000003");
}

TEST(PageTokens, RefusesTokensFromNowhere) {
  PageTokens tokens("secret");
  PageTokens other("other-secret");
  for (std::string bad : {std::string("garbage!"), std::string(""), std::string("AAAA"),
                          other.Make("family 0000000003")}) {
    try {
      tokens.Parse(bad);
      FAIL() << "accepted " << bad;
    } catch (const ApiException& e) {
      EXPECT_EQ(e.error().type, "InvalidParameterException");
    }
  }
}

TEST(Pager, PagesThroughItemsInOrder) {
  PageTokens tokens("k");
  std::vector<std::string> all = {"a", "b", "c", "d", "e"};
  std::vector<std::string> seen;
  json::object request{{"maxResults", 2}};
  int pages = 0;
  while (true) {
    Pager pager(tokens, request, 100);
    for (const auto& item : all) {
      if (!pager.Add(item, json::string(item))) break;
    }
    json::object reply;
    pager.Finish(reply, "items");
    for (const auto& v : reply["items"].as_array()) seen.emplace_back(v.as_string());
    ++pages;
    if (!reply.contains("nextToken")) break;
    request["nextToken"] = reply["nextToken"];
  }
  EXPECT_EQ(seen, all);
  EXPECT_EQ(pages, 3);  // 2 + 2 + 1
}

TEST(Pager, RefusesAPageSizeOutOfRange) {
  PageTokens tokens("k");
  EXPECT_THROW(Pager(tokens, json::object{{"maxResults", 0}}, 100), ApiException);
  EXPECT_THROW(Pager(tokens, json::object{{"maxResults", 101}}, 100), ApiException);
}

}  // namespace
}  // namespace berth::awsjson
