#include "server/injected_faults.h"

#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <random>

#include "common/log.h"
#include "store/sqlite_faulty_sync_vfs.h"

namespace berth::server {

constexpr char kVariable[] = "BERTH_CRASH_TEST_FSYNC_FAILURES";

StatusOr<std::unique_ptr<InjectedFaults>> InjectedFaults::FromEnvironment() {
  auto faults = std::make_unique<InjectedFaults>();
  const char* value = std::getenv(kVariable);
  if (value == nullptr || *value == '\0') return faults;
  char* end = nullptr;
  const double probability = std::strtod(value, &end);
  if (*end != '\0' || !(probability > 0 && probability <= 1)) {
    return InvalidArgument(std::string(kVariable) + "=" + value +
                           ": expected a probability, more than 0 and at most 1");
  }
  const uint64_t seed = std::random_device()();
  auto random = std::make_shared<std::pair<std::mutex, std::mt19937_64>>();
  random->second.seed(seed);
  BERTH_RETURN_IF_ERROR(store::RegisterFaultySyncVfs([random, probability] {
    std::lock_guard lock(random->first);
    return std::uniform_real_distribution<double>(0, 1)(random->second) < probability;
  }));
  faults->sqlite_vfs_ = store::kFaultySyncVfs;
  faults->faulty_env_ = std::make_unique<FaultInjectionEnv>(Env::Default());
  faults->faulty_env_->FailAtRandom(FaultInjectionEnv::Op::kSync, probability, EIO, seed + 1);
  faults->faulty_env_->FailAtRandom(FaultInjectionEnv::Op::kSyncDir, probability, EIO, seed + 2);
  LogWarn("crash testing: fsyncs of the store and the registry fail at random",
          {{"variable", kVariable}, {"probability", value}});
  return faults;
}

}  // namespace berth::server
