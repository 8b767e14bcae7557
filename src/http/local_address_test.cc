#include "http/local_address.h"

#include <gtest/gtest.h>

namespace berth::http {
namespace {

TEST(IsIpAddress, TakesAddressesNotNames) {
  for (const char* yes : {"10.0.0.5", "127.0.0.1", "::1", "fd00::5", "0.0.0.0"}) {
    EXPECT_TRUE(IsIpAddress(yes)) << yes;
  }
  for (const char* no :
       {"", "node-1", "10.0.0", "10.0.0.256", "10.0.0.5:80", "[::1]", " 10.0.0.5"}) {
    EXPECT_FALSE(IsIpAddress(no)) << no;
  }
}

TEST(LocalAddressToward, TheLoopbackForAServerOnIt) {
  // Port 9 (discard): nothing need listen, no packet is sent.
  EXPECT_EQ(LocalAddressToward("127.0.0.1", 9).value(), "127.0.0.1");
  StatusOr<std::string> local = LocalAddressToward("localhost", 9);
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  EXPECT_TRUE(*local == "127.0.0.1" || *local == "::1") << *local;
  EXPECT_EQ(LocalAddressToward("no-such-host.invalid", 9).status().code(),
            StatusCode::kUnavailable);
}

}  // namespace
}  // namespace berth::http
