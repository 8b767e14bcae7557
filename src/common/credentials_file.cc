#include "common/credentials_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace berth {

namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

StatusOr<std::vector<AccessKey>> ReadCredentialsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("read credentials " + path + ": " + std::strerror(errno));
  std::vector<AccessKey> keys;
  AccessKey current;
  auto flush = [&] {
    if (!current.id.empty() && !current.secret.empty()) keys.push_back(current);
  };
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      flush();
      current = AccessKey{};
      current.profile = Trim(line.substr(1, line.size() - 2));
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = Trim(line.substr(0, eq));
    std::string value = Trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") current.id = value;
    if (key == "aws_secret_access_key") current.secret = value;
    if (key == "berth_access") {
      if (value != "full" && value != "read-only") {
        return InvalidArgument("credentials " + path + ":" + std::to_string(line_number) + ": [" +
                               current.profile + "] berth_access is \"" + value +
                               "\"; it must be full or read-only");
      }
      current.read_only = value == "read-only";
    }
  }
  flush();
  return keys;
}

StatusOr<AccessKey> ReadCredentialsProfile(const std::string& path, const std::string& profile) {
  auto keys = ReadCredentialsFile(path);
  if (!keys.ok()) return keys.status();
  for (const auto& key : *keys) {
    if (key.profile == profile) return key;
  }
  return NotFound("no aws_access_key_id/aws_secret_access_key in [" + profile + "] of " + path);
}

}  // namespace berth
