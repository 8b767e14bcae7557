#include "common/reload_signal.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

namespace berth {
namespace {

// Once per process: the handler stays for the process's life.
TEST(ReloadSignalTest, SighupRunsTheReloadAndTheProcessGoesOn) {
  static std::atomic<int> reloads{0};
  HandleReloadSignal([] { ++reloads; });
  ASSERT_EQ(raise(SIGHUP), 0);  // without the handler this would end the test binary
  for (int i = 0; i < 500 && reloads.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(reloads.load(), 1);
}

}  // namespace
}  // namespace berth
