#include "awsjson/audit.h"

#include <boost/json/parse.hpp>
#include <utility>

#include "common/log.h"

namespace berth::awsjson {

std::string AuditOutcome(const http::Response& response) {
  if (response.status < 300) return "ok";
  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(response.body, ec);
  if (!ec && body.is_object()) {
    if (const auto* type = body.as_object().if_contains("__type"); type && type->is_string()) {
      return std::string(type->as_string());
    }
  }
  return std::to_string(response.status);
}

http::Responder AuditedResponder(std::shared_ptr<const AuditRecord> record,
                                 http::Responder respond) {
  return [record = std::move(record), respond = std::move(respond)](http::Response response) {
    LogAudit(record->key, record->operation, record->resource, AuditOutcome(response));
    respond(std::move(response));
  };
}

}  // namespace berth::awsjson
