#include "common/fault_injection_env.h"

#include <cerrno>
#include <utility>

namespace berth {

namespace {

class FaultInjectionFile final : public WritableFile {
 public:
  FaultInjectionFile(FaultInjectionEnv& env, std::unique_ptr<WritableFile> base)
      : env_(env), base_(std::move(base)) {}

  Status Append(std::string_view data) override {
    BERTH_RETURN_IF_ERROR(env_.Check(FaultInjectionEnv::Op::kAppend, path(), "write"));
    uint64_t allowed = env_.ReserveSpace(data.size());
    BERTH_RETURN_IF_ERROR(base_->Append(data.substr(0, allowed)));
    if (allowed < data.size()) return ErrnoStatus("write", path(), ENOSPC);
    return Status::Ok();
  }
  Status Truncate(uint64_t size) override {
    uint64_t before = base_->size();
    BERTH_RETURN_IF_ERROR(base_->Truncate(size));
    if (size < before) env_.ReleaseSpace(before - size);
    return Status::Ok();
  }
  void StartWriteback(uint64_t offset, uint64_t length) override {
    base_->StartWriteback(offset, length);
  }
  Status Sync() override {
    BERTH_RETURN_IF_ERROR(env_.Check(FaultInjectionEnv::Op::kSync, path(), "fsync"));
    return base_->Sync();
  }
  Status Close() override {
    Status injected = env_.Check(FaultInjectionEnv::Op::kClose, path(), "close");
    Status closed = base_->Close();  // closed either way, as close(2) does
    return injected.ok() ? closed : injected;
  }
  uint64_t size() const override { return base_->size(); }
  const std::string& path() const override { return base_->path(); }

 private:
  FaultInjectionEnv& env_;
  std::unique_ptr<WritableFile> base_;
};

}  // namespace

FaultInjectionEnv::FaultInjectionEnv(Env* base, Clock* clock)
    : base_(base), clock_(clock != nullptr ? clock : &base->clock()) {}

void FaultInjectionEnv::Fail(Op op, std::string path_part, int err, int times) {
  std::lock_guard lock(mu_);
  rules_.push_back(Rule{op, std::move(path_part), err, times});
}

void FaultInjectionEnv::FailAtRandom(Op op, double probability, int err, uint64_t seed) {
  std::lock_guard lock(mu_);
  random_.seed(seed);
  rules_.push_back(Rule{op, "", err, -1, probability});
}

void FaultInjectionEnv::SetFreeSpace(std::optional<uint64_t> bytes) {
  std::lock_guard lock(mu_);
  free_space_ = bytes;
}

void FaultInjectionEnv::ClearFaults() {
  std::lock_guard lock(mu_);
  rules_.clear();
  free_space_.reset();
}

int FaultInjectionEnv::calls(Op op) const {
  std::lock_guard lock(mu_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

void FaultInjectionEnv::UseFakeMounts() {
  std::lock_guard lock(mu_);
  fake_mounts_ = true;
}

bool FaultInjectionEnv::IsMounted(const std::string& target) const {
  std::lock_guard lock(mu_);
  return mounts_.contains(target);
}

std::vector<Env::MountRequest> FaultInjectionEnv::Mounts() const {
  std::lock_guard lock(mu_);
  std::vector<MountRequest> out;
  for (const auto& [target, request] : mounts_) out.push_back(request);
  return out;
}

Status FaultInjectionEnv::Check(Op op, const std::string& path, std::string_view what) {
  std::lock_guard lock(mu_);
  ++calls_[op];
  for (Rule& rule : rules_) {
    if (rule.op != op || rule.times == 0 || path.find(rule.path_part) == std::string::npos) {
      continue;
    }
    if (rule.probability < 1 &&
        std::uniform_real_distribution<double>(0, 1)(random_) >= rule.probability) {
      continue;
    }
    if (rule.times > 0) --rule.times;
    return ErrnoStatus(what, path, rule.err);
  }
  return Status::Ok();
}

uint64_t FaultInjectionEnv::ReserveSpace(uint64_t wanted) {
  std::lock_guard lock(mu_);
  if (!free_space_) return wanted;
  uint64_t allowed = std::min(wanted, *free_space_);
  *free_space_ -= allowed;
  return allowed;
}

void FaultInjectionEnv::ReleaseSpace(uint64_t bytes) {
  std::lock_guard lock(mu_);
  if (free_space_) *free_space_ += bytes;
}

StatusOr<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(const std::string& path,
                                                                           OpenMode mode,
                                                                           uint32_t permissions) {
  BERTH_RETURN_IF_ERROR(Check(Op::kOpen, path, "open"));
  StatusOr<std::unique_ptr<WritableFile>> file = base_->NewWritableFile(path, mode, permissions);
  if (!file.ok()) return file.status();
  return std::unique_ptr<WritableFile>(
      std::make_unique<FaultInjectionFile>(*this, std::move(*file)));
}

Status FaultInjectionEnv::SyncFile(const std::string& path) {
  BERTH_RETURN_IF_ERROR(Check(Op::kSync, path, "fsync"));
  return base_->SyncFile(path);
}

Status FaultInjectionEnv::SyncDir(const std::string& path) {
  BERTH_RETURN_IF_ERROR(Check(Op::kSyncDir, path, "fsync"));
  return base_->SyncDir(path);
}

Status FaultInjectionEnv::SyncFileSystem(const std::string& path) {
  BERTH_RETURN_IF_ERROR(Check(Op::kSync, path, "syncfs"));
  return base_->SyncFileSystem(path);
}

Status FaultInjectionEnv::TouchFile(const std::string& path) { return base_->TouchFile(path); }

StatusOr<uint64_t> FaultInjectionEnv::FreeBytes(const std::string& path) {
  {
    std::lock_guard lock(mu_);
    if (free_space_) return *free_space_;
  }
  return base_->FreeBytes(path);
}

Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  BERTH_RETURN_IF_ERROR(Check(Op::kRename, to, "rename " + from + " to"));
  return base_->RenameFile(from, to);
}

Status FaultInjectionEnv::RenameNoReplace(const std::string& from, const std::string& to) {
  BERTH_RETURN_IF_ERROR(Check(Op::kRename, to, "rename " + from + " to"));
  return base_->RenameNoReplace(from, to);
}

Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  BERTH_RETURN_IF_ERROR(Check(Op::kRemove, path, "remove"));
  return base_->RemoveFile(path);
}

Status FaultInjectionEnv::RemoveAll(const std::string& path) {
  BERTH_RETURN_IF_ERROR(Check(Op::kRemove, path, "remove"));
  return base_->RemoveAll(path);
}

Status FaultInjectionEnv::CreateDir(const std::string& path) {
  BERTH_RETURN_IF_ERROR(Check(Op::kCreateDir, path, "create"));
  return base_->CreateDir(path);
}

Status FaultInjectionEnv::CreateDirs(const std::string& path) {
  BERTH_RETURN_IF_ERROR(Check(Op::kCreateDir, path, "create"));
  return base_->CreateDirs(path);
}

Status FaultInjectionEnv::Mount(const MountRequest& request) {
  BERTH_RETURN_IF_ERROR(Check(Op::kMount, request.target, "mount on"));
  {
    std::lock_guard lock(mu_);
    if (fake_mounts_) {
      mounts_[request.target] = request;
      return Status::Ok();
    }
  }
  return base_->Mount(request);
}

Status FaultInjectionEnv::Unmount(const std::string& target, bool detach) {
  BERTH_RETURN_IF_ERROR(Check(Op::kUnmount, target, "unmount"));
  {
    std::lock_guard lock(mu_);
    if (fake_mounts_) {
      mounts_.erase(target);  // not mounted is Ok, as for the real one
      return Status::Ok();
    }
  }
  return base_->Unmount(target, detach);
}

Clock& FaultInjectionEnv::clock() { return *clock_; }

}  // namespace berth
