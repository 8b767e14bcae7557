#include "awsjson/pagination.h"

#include "awsjson/endpoint.h"
#include "common/base64.h"
#include "common/crypto.h"
#include "model/json_util.h"

namespace berth::awsjson {

using model::OptInt;
using model::OptString;

namespace {
constexpr size_t kMacBytes = 16;
}

std::string PageTokens::Make(std::string_view position) const {
  std::string payload(position);
  payload += HmacSha256(key_, position).substr(0, kMacBytes);
  return Base64UrlEncode(payload);
}

std::string PageTokens::Parse(std::string_view token) const {
  auto payload = Base64UrlDecode(token);
  if (!payload || payload->size() < kMacBytes) {
    Fail("InvalidParameterException", "Invalid nextToken: not a token issued by this server");
  }
  std::string_view position(payload->data(), payload->size() - kMacBytes);
  std::string_view mac(payload->data() + position.size(), kMacBytes);
  if (!ConstantTimeEquals(mac, HmacSha256(key_, position).substr(0, kMacBytes))) {
    Fail("InvalidParameterException", "Invalid nextToken: not a token issued by this server");
  }
  return std::string(position);
}

int PageSize(const boost::json::object& request, int limit) {
  auto max = OptInt(request, "maxResults");
  if (!max) return limit;
  if (*max < 1 || *max > limit) {
    Fail("InvalidParameterException", "maxResults must be between 1 and " + std::to_string(limit) +
                                          ", got " + std::to_string(*max));
  }
  return static_cast<int>(*max);
}

}  // namespace berth::awsjson

namespace berth::awsjson {

Pager::Pager(const PageTokens& tokens, const boost::json::object& request, int limit,
             bool descending)
    : tokens_(tokens), size_(PageSize(request, limit)), descending_(descending) {
  if (auto token = OptString(request, "nextToken")) after_ = tokens_.Parse(*token);
}

bool Pager::Add(const std::string& position, boost::json::value item) {
  if (!after_.empty() && (descending_ ? position >= after_ : position <= after_)) return true;
  if (items_.size() == size_) {
    more_ = true;
    return false;
  }
  items_.push_back(std::move(item));
  last_ = position;
  return true;
}

void Pager::Finish(boost::json::object& reply, std::string_view list_member) {
  reply[list_member] = std::move(items_);
  if (more_) reply["nextToken"] = tokens_.Make(last_);
}

}  // namespace berth::awsjson
