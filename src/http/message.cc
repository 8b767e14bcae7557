#include "http/message.h"

#include "http/ascii.h"

namespace berth::http {

namespace {

const std::string* FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return &value;
  }
  return nullptr;
}

}  // namespace

const std::string* Request::Header(std::string_view lowercase_name) const {
  return FindHeader(headers, lowercase_name);
}

std::string_view Request::Path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view Request::Query() const {
  std::string_view t = target;
  size_t q = t.find('?');
  return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

const std::string* Response::Header(std::string_view lowercase_name) const {
  return FindHeader(headers, lowercase_name);
}

void Response::SetHeader(std::string name, std::string value) {
  ToLowerInPlace(name);
  // Handlers may also have pushed headers directly, in any case and more than
  // once; after SetHeader exactly one entry with this name remains.
  auto it = headers.begin();
  while (it != headers.end() && !EqualsIgnoreCase(it->first, name)) ++it;
  if (it == headers.end()) {
    headers.emplace_back(std::move(name), std::move(value));
    return;
  }
  it->first = std::move(name);
  it->second = std::move(value);
  for (auto dup = it + 1; dup != headers.end();) {
    dup = EqualsIgnoreCase(dup->first, it->first) ? headers.erase(dup) : dup + 1;
  }
}

}  // namespace berth::http
