// LoadDefaultSeccomp: the containers-common profile (Docker's format, with
// rules that depend on capabilities and architectures) resolved into the
// plain OCI linux.seccomp for one container on this machine, the way
// Docker's and podman's seccomp packages do it.
#include <algorithm>
#include <fstream>
#include <sstream>

#include "agent/runtime/bundle_internal.h"

namespace berth::agent {
namespace {

namespace json = boost::json;
using bundle::GetArray;
using bundle::GetObject;
using bundle::GetStrings;

// The Go architecture name (what "includes.arches" lists) and the libseccomp
// one (what archMap is keyed by) of the machine berth was built for.
#if defined(__x86_64__)
constexpr const char* kGoArch = "amd64";
constexpr const char* kSeccompArch = "SCMP_ARCH_X86_64";
#elif defined(__aarch64__)
constexpr const char* kGoArch = "arm64";
constexpr const char* kSeccompArch = "SCMP_ARCH_AARCH64";
#else
#error "berth: add this architecture's seccomp names"
#endif

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// A rule applies when every capability it includes is kept, none it
// excludes is, and (when it names architectures) this one is among them.
bool RuleApplies(const json::object& rule, const std::vector<std::string>& caps) {
  if (const json::object* inc = GetObject(rule, "includes")) {
    for (const std::string& c : GetStrings(*inc, "caps")) {
      if (!Contains(caps, c)) return false;
    }
    std::vector<std::string> arches = GetStrings(*inc, "arches");
    if (!arches.empty() && !Contains(arches, kGoArch)) return false;
  }
  if (const json::object* exc = GetObject(rule, "excludes")) {
    for (const std::string& c : GetStrings(*exc, "caps")) {
      if (Contains(caps, c)) return false;
    }
    if (Contains(GetStrings(*exc, "arches"), kGoArch)) return false;
  }
  return true;
}

}  // namespace

StatusOr<boost::json::object> LoadDefaultSeccomp(const std::string& path,
                                                 const std::vector<std::string>& capabilities) {
  std::ifstream in(path);
  if (!in) return NotFound("seccomp profile " + path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  json::value doc = json::parse(ss.str(), ec);
  if (ec || !doc.is_object()) {
    return InvalidArgument("seccomp profile " + path + ": not a JSON object");
  }
  const json::object& profile = doc.get_object();

  std::vector<std::string> caps;
  for (std::string c : capabilities) {
    if (c.rfind("CAP_", 0) != 0) c = "CAP_" + c;
    caps.push_back(c);
  }

  json::object out;
  auto it = profile.find("defaultAction");
  if (it == profile.end() || !it->value().is_string()) {
    return InvalidArgument("seccomp profile " + path + ": no defaultAction");
  }
  out["defaultAction"] = it->value();
  // ENOSYS (38) for unknown syscalls lets new glibc fall back (clone3).
  if (auto e = profile.find("defaultErrnoRet"); e != profile.end() && e->value().is_number()) {
    out["defaultErrnoRet"] = e->value();
  }

  json::array arches;
  if (const json::array* map = GetArray(profile, "archMap")) {
    for (const json::value& v : *map) {
      if (!v.is_object()) continue;
      const json::object& entry = v.get_object();
      auto a = entry.find("architecture");
      if (a == entry.end() || a->value() != kSeccompArch) continue;
      arches.push_back(a->value());
      for (const std::string& sub : GetStrings(entry, "subArchitectures")) arches.emplace_back(sub);
    }
  }
  if (arches.empty()) arches.emplace_back(kSeccompArch);
  out["architectures"] = std::move(arches);

  json::array syscalls;
  if (const json::array* rules = GetArray(profile, "syscalls")) {
    for (const json::value& v : *rules) {
      if (!v.is_object()) continue;
      const json::object& rule = v.get_object();
      if (!RuleApplies(rule, caps)) continue;
      json::object s;
      json::array names;
      for (const std::string& n : GetStrings(rule, "names")) names.emplace_back(n);
      if (auto n = rule.find("name"); n != rule.end() && n->value().is_string()) {
        names.push_back(n->value());  // the old single-name form
      }
      if (names.empty()) continue;
      s["names"] = std::move(names);
      s["action"] = rule.at("action");
      if (auto e = rule.find("errnoRet"); e != rule.end() && e->value().is_number()) {
        s["errnoRet"] = e->value();
      }
      if (const json::array* args = GetArray(rule, "args"); args && !args->empty()) {
        s["args"] = *args;
      }
      syscalls.push_back(std::move(s));
    }
  }
  out["syscalls"] = std::move(syscalls);
  return out;
}

}  // namespace berth::agent
