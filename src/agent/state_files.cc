#include "agent/state_files.h"

#include <boost/json/parse.hpp>
#include <fstream>
#include <sstream>

namespace berth::agent {

namespace json = boost::json;

std::string_view StringField(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
}

std::optional<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<json::object> ReadJsonObject(const std::string& path) {
  auto text = ReadWholeFile(path);
  if (!text) return std::nullopt;
  json::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

}  // namespace berth::agent
