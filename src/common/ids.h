// Identifiers: UUIDs for ECS resource ids, and the ARNs built from them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace berth {

// A random (version 4) UUID in its canonical 8-4-4-4-12 lowercase form.
std::string NewUuid();

// 32 lowercase hex digits: unix_millis (48 bits), then 80 random bits, as a
// version 7 UUID orders them. Ids made later sort later, so records keyed by
// them are appended to the store's key order rather than scattered through
// it (one page written per batch of new tasks, not one per task).
std::string NewTimeOrderedId(int64_t unix_millis);

// The account and region that berth reports in ARNs. berth is single-tenant,
// so they are fixed per server and only make ARNs look as clients expect.
struct ArnScope {
  std::string region = "us-east-1";
  std::string account = "000000000000";
};

// "arn:aws:<service>:<region>:<account>:<resource>"
std::string MakeArn(const ArnScope& scope, std::string_view service, std::string_view resource);

}  // namespace berth
