#include "server/gang_endpoint.h"

#include <boost/json/serialize.hpp>

#include "awsjson/endpoint.h"
#include "http/query_string.h"
#include "server/user_request.h"

namespace berth::server {

bool GangEndpoint::Accepts(const http::Request& request) {
  return request.Path() == "/berth/v1/gangs";
}

void GangEndpoint::Handle(http::Request&& request, http::Responder respond) {
  UserGet user("gangs", respond);
  if (!user.Check(request, secrets_, clock_.NowSeconds(), "read gangs")) return;
  auto query = http::ParseQueryString(request.Query());
  auto get = [&](std::string_view name) -> std::string {
    auto it = query.find(name);
    return it == query.end() ? "" : it->second;
  };
  boost::json::object body;
  try {
    if (query.contains("gang")) {
      if (get("gang").empty()) return user.Refuse("InvalidParameterException", "gang is empty");
      body["gang"] = ecs_.DescribeGang(get("cluster"), get("gang"));
    } else {
      body["gangs"] = ecs_.ListGangs(get("cluster"));
    }
  } catch (const awsjson::ApiException& e) {
    return user.Refuse(e.error().type, e.error().message);
  }
  http::Response out;
  out.SetHeader("content-type", "application/x-amz-json-1.1");
  out.SetHeader("x-amzn-requestid", user.request_id());
  out.body = boost::json::serialize(body);
  respond(std::move(out));
}

}  // namespace berth::server
