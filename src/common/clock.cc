#include "common/clock.h"

#include <chrono>

namespace berth {

namespace {
class WallClock : public Clock {
 public:
  int64_t NowMillis() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};
}  // namespace

Clock& SystemClock() {
  static WallClock clock;
  return clock;
}

}  // namespace berth
