// A fixture for EcsApi tests: the API over an in-memory store, and requests
// written as JSON text.
#pragma once

#include <gtest/gtest.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "server/api/ecs_api.h"
#include "store/store.h"

namespace berth::server::api::testing {

class EcsApiTest : public ::testing::Test {
 protected:
  static constexpr int64_t kNow = 1'700'000'000'000;

  // The reply's body; throws awsjson::ApiException as the API does.
  boost::json::object Call(std::string_view op, std::string_view body, int64_t now = kNow,
                           std::string access_key_id = "key") {
    boost::json::object in = boost::json::parse(body).as_object();
    return api_.Call(op, in, CallContext{std::move(access_key_id), now}).body.as_object();
  }

  std::unique_ptr<store::Store> store_ = store::NewMemoryStore();
  awsjson::CommitTracker tracker_;
  EcsApi api_{*store_, tracker_, ArnScope{}};
};

}  // namespace berth::server::api::testing
