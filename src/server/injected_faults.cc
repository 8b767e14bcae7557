#include "server/injected_faults.h"

#include <cerrno>
#include <cstdlib>
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
  // One generator for both: SQLite's fsyncs draw from the Env's kSync rule.
  const uint64_t seed = std::random_device()();
  faults->faulty_env_ = std::make_unique<FaultInjectionEnv>(Env::Default());
  faults->faulty_env_->FailAtRandom(FaultInjectionEnv::Op::kSync, probability, EIO, seed);
  faults->faulty_env_->FailAtRandom(FaultInjectionEnv::Op::kSyncDir, probability, EIO, seed);
  BERTH_RETURN_IF_ERROR(store::RegisterFaultySyncVfs([env = faults->faulty_env_.get()] {
    return !env->Check(FaultInjectionEnv::Op::kSync, "sqlite", "fsync").ok();
  }));
  faults->sqlite_vfs_ = store::kFaultySyncVfs;
  LogWarn("crash testing: fsyncs of the store and the registry fail at random",
          {{"variable", kVariable}, {"probability", value}});
  return faults;
}

}  // namespace berth::server
