// process.user from "name", "uid", "name:group" or "uid:gid", looked up in
// the image's own /etc/passwd and /etc/group as Docker does (the host's user
// database means nothing inside the container).
#include <sys/stat.h>

#include <charconv>
#include <cstdint>
#include <fstream>
#include <sstream>

#include "agent/runtime/bundle_internal.h"

namespace berth::agent::bundle {
namespace {

std::optional<uint32_t> ParseId(const std::string& s) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Lines of rootfs/etc/<name> split at ':'. An image can make etc/passwd a
// symlink to anything on the host, so neither etc nor the file may be one.
std::vector<std::vector<std::string>> ReadDatabase(const std::string& rootfs,
                                                   const std::string& name) {
  std::vector<std::vector<std::string>> rows;
  struct stat st;
  std::string etc = rootfs + "/etc";
  std::string path = etc + "/" + name;
  if (lstat(etc.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return rows;
  if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::stringstream ss(line);
    std::string f;
    while (std::getline(ss, f, ':')) fields.push_back(f);
    if (!line.empty() && line.back() == ':') fields.emplace_back();
    rows.push_back(std::move(fields));
  }
  return rows;
}

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

std::optional<PasswdEntry> FindUser(const std::vector<std::vector<std::string>>& passwd,
                                    const std::string& user) {
  std::optional<uint32_t> uid = ParseId(user);
  for (const auto& row : passwd) {
    if (row.size() < 4) continue;
    std::optional<uint32_t> ruid = ParseId(row[2]);
    std::optional<uint32_t> rgid = ParseId(row[3]);
    if (!ruid || !rgid) continue;
    if ((uid && *ruid == *uid) || (!uid && row[0] == user))
      return PasswdEntry{row[0], *ruid, *rgid};
  }
  return std::nullopt;
}

}  // namespace

StatusOr<json::object> ResolveUser(const std::string& rootfs, const std::string& spec) {
  if (spec.empty()) return json::object{{"uid", 0}, {"gid", 0}};
  std::string user = spec, group;
  if (size_t colon = spec.find(':'); colon != std::string::npos) {
    user = spec.substr(0, colon);
    group = spec.substr(colon + 1);
  }
  auto passwd = ReadDatabase(rootfs, "passwd");
  std::optional<PasswdEntry> entry = FindUser(passwd, user);
  uint32_t uid = 0, gid = 0;
  if (std::optional<uint32_t> n = ParseId(user)) {
    uid = *n;
    if (entry) gid = entry->gid;  // a bare uid takes its passwd group, else root's
  } else if (entry) {
    uid = entry->uid;
    gid = entry->gid;
  } else {
    return InvalidArgument("unknown user " + user + " (not in the image's /etc/passwd)");
  }

  auto groups = ReadDatabase(rootfs, "group");
  if (!group.empty()) {
    if (std::optional<uint32_t> n = ParseId(group)) {
      gid = *n;
    } else {
      bool found = false;
      for (const auto& row : groups) {
        if (row.size() >= 3 && row[0] == group) {
          if (std::optional<uint32_t> g = ParseId(row[2])) {
            gid = *g;
            found = true;
            break;
          }
        }
      }
      if (!found) {
        return InvalidArgument("unknown group " + group + " (not in the image's /etc/group)");
      }
    }
  }

  // Supplementary groups: every group that lists the user as a member.
  json::array extra;
  if (entry) {
    for (const auto& row : groups) {
      if (row.size() < 4) continue;
      std::optional<uint32_t> g = ParseId(row[2]);
      if (!g || *g == gid) continue;
      std::stringstream members(row[3]);
      std::string m;
      while (std::getline(members, m, ',')) {
        if (m == entry->name) {
          extra.emplace_back(*g);
          break;
        }
      }
    }
  }
  json::object out{{"uid", uid}, {"gid", gid}};
  if (!extra.empty()) out["additionalGids"] = std::move(extra);
  return out;
}

}  // namespace berth::agent::bundle
