#include "registry/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>
#include <mutex>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

#include "common/crypto.h"
#include "common/env.h"
#include "common/log.h"
#include "registry/blob_sync_queue.h"

namespace berth::registry {

namespace {

namespace fs = std::filesystem;

// Upload writers gather small pieces (an HTTP body arrives in a few KiB at a
// time) into writes of this size, so that system calls cost little next to
// hashing; pieces at least this large are written straight from the caller.
constexpr size_t kWriteBufferBytes = 1 << 20;
// Rehashing reads in large pieces for the same reason; the buffer lives only
// for the duration of one rehash.
constexpr size_t kReadBufferBytes = 4 << 20;

constexpr size_t kUploadIdHexLength = 32;

// An owned file descriptor, for reading (writes go through Env).
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  void Reset() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }
  int fd_;
};

Fd OpenFile(const std::string& path, int flags, mode_t mode = 0) {
  return Fd(::open(path.c_str(), flags | O_CLOEXEC, mode));
}

// Reads exactly out.size() bytes from offset; returns 0 or an errno value
// (EIO when the file turns out shorter than expected).
int ReadAllAt(int fd, uint64_t offset, std::span<char> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    done += static_cast<size_t>(n);
  }
  return 0;
}

// The names in dir. directory_iterator is used with error codes throughout:
// a sweep reports a failure instead of throwing.
Status ListNames(const std::string& dir, std::vector<std::string>* names) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    names->push_back(it->path().filename().string());
  }
  if (ec) return Internal("list " + dir + ": " + ec.message());
  return Status::Ok();
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool IsUploadId(std::string_view id) {
  if (id.size() != kUploadIdHexLength) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Callers may build a Digest by hand; every path is built from one that
// Parse accepts, so that no hex can walk out of blobs/.
bool IsValidDigest(const Digest& digest) {
  std::optional<Digest> parsed = Digest::Parse(digest.ToString());
  return parsed && *parsed == digest;
}

Status DigestMismatch(const Digest& expected, const Digest& actual) {
  return InvalidArgument("digest mismatch: expected " + expected.ToString() + ", got " +
                         actual.ToString());
}

Status UnknownUpload(std::string_view id) {
  return NotFound("upload " + std::string(id) + ": unknown upload");
}

Status BusyUpload(std::string_view id) {
  return FailedPrecondition("upload " + std::string(id) +
                            ": another request is writing, completing or cancelling it");
}

// What the store remembers about an upload between requests: the sha256 of
// the data written so far, so that completing it needs no second read.
struct UploadState {
  bool busy = false;                     // held by one writer, completion, cancellation or cleanup
  std::unique_ptr<DigestHasher> sha256;  // of the first hashed_size bytes, or null: unknown
  uint64_t hashed_size = 0;
};

// The in-memory upload table. Shared with writers through shared_ptr, so a
// writer stays valid even if it outlives its store.
class UploadTable {
 public:
  void Add(const std::string& id) {
    std::lock_guard lock(mu_);
    UploadState& state = states_[id];
    state.sha256 = std::make_unique<DigestHasher>("sha256");
    state.hashed_size = 0;
  }

  // Marks id busy and hands over its hash state; false if already busy.
  bool TryClaim(const std::string& id, std::unique_ptr<DigestHasher>* sha256,
                uint64_t* hashed_size) {
    std::lock_guard lock(mu_);
    UploadState& state = states_[id];  // none after a restart: the hash is unknown
    if (state.busy) return false;
    state.busy = true;
    *sha256 = std::move(state.sha256);
    *hashed_size = state.hashed_size;
    return true;
  }

  void Release(const std::string& id, std::unique_ptr<DigestHasher> sha256, uint64_t hashed_size) {
    std::lock_guard lock(mu_);
    UploadState& state = states_[id];
    state.busy = false;
    state.sha256 = std::move(sha256);
    state.hashed_size = hashed_size;
  }

  void Forget(const std::string& id) {
    std::lock_guard lock(mu_);
    states_.erase(id);
  }

 private:
  std::mutex mu_;
  std::map<std::string, UploadState> states_;
};

// Exclusive use of one upload for the duration of one operation. Gives the
// hash state back on destruction, or drops the entry once the upload is gone.
class UploadClaim {
 public:
  static std::optional<UploadClaim> Acquire(std::shared_ptr<UploadTable> table, std::string id) {
    UploadClaim claim(std::move(table), std::move(id));
    if (!claim.table_->TryClaim(claim.id_, &claim.sha256, &claim.hashed_size)) {
      claim.table_ = nullptr;
      return std::nullopt;
    }
    return claim;
  }

  UploadClaim(UploadClaim&& other) noexcept
      : sha256(std::move(other.sha256)),
        hashed_size(other.hashed_size),
        table_(std::move(other.table_)),
        id_(std::move(other.id_)),
        gone_(other.gone_) {}
  UploadClaim& operator=(UploadClaim&&) = delete;

  ~UploadClaim() {
    if (table_ == nullptr) return;
    if (gone_) {
      table_->Forget(id_);
    } else {
      table_->Release(id_, std::move(sha256), hashed_size);
    }
  }

  const std::string& id() const { return id_; }
  // The upload no longer exists on disk.
  void MarkGone() { gone_ = true; }

  // The hash state while claimed; what is here on destruction is kept.
  std::unique_ptr<DigestHasher> sha256;
  uint64_t hashed_size = 0;

 private:
  UploadClaim(std::shared_ptr<UploadTable> table, std::string id)
      : table_(std::move(table)), id_(std::move(id)) {}

  std::shared_ptr<UploadTable> table_;
  std::string id_;
  bool gone_ = false;
};

class FileUploadWriter final : public UploadWriter {
 public:
  FileUploadWriter(std::string context, UploadClaim claim, std::unique_ptr<WritableFile> file)
      : context_(std::move(context)),
        id_(claim.id()),
        claim_(std::move(claim)),
        file_(std::move(file)),
        written_(file_->size()) {}

  ~FileUploadWriter() override {
    if (closed_) return;
    Status status = Close();
    if (!status.ok()) {
      LogError("upload writer dropped without Close lost data",
               {{"upload", id_}, {"error", status.message()}});
    }
  }

  Status Write(std::string_view data) override {
    if (closed_) return FailedPrecondition("upload " + id_ + ": writer is closed");
    BERTH_RETURN_IF_ERROR(failure_);
    if (buffer_.size() + data.size() < kWriteBufferBytes) {
      if (buffer_.capacity() < kWriteBufferBytes) buffer_.reserve(kWriteBufferBytes);
      buffer_.append(data);
      return Status::Ok();
    }
    BERTH_RETURN_IF_ERROR(Flush());
    if (data.size() >= kWriteBufferBytes) return Append(data);
    buffer_.append(data);
    return Status::Ok();
  }

  uint64_t size() const override { return written_ + buffer_.size(); }

  Status Close() override {
    if (closed_) return failure_;
    // A failed Write has already cut the file back and reported; Close
    // repeats that error, since the chunk as a whole did not arrive.
    Status status = failure_.ok() ? Flush() : failure_;
    closed_ = true;
    // The tail too: the upload's completion may come next, and its fsync
    // then finds the bytes on their way (and a group of completions the
    // bytes of all of them).
    if (status.ok() && written_ > writeback_from_) {
      file_->StartWriteback(writeback_from_, written_ - writeback_from_);
      writeback_from_ = written_;
    }
    if (Status closed = file_->Close(); !closed.ok() && status.ok()) {
      status = closed.WithContext("close upload " + id_).WithContext(context_);
      claim_.sha256 = nullptr;  // what reached the disk is in doubt
    }
    claim_.hashed_size = written_;
    buffer_ = std::string();
    // Hand the upload back now rather than when the writer is destroyed.
    UploadClaim released = std::move(claim_);
    failure_ = status;
    return status;
  }

 private:
  Status Flush() {
    if (buffer_.empty()) return Status::Ok();
    Status status = Append(buffer_);
    buffer_.clear();
    return status;
  }

  Status Append(std::string_view data) {
    if (Status written = file_->Append(data); !written.ok()) {
      // Cut off a partial write, so that the file, the size reported to the
      // client and the hash state agree and the client can resume.
      if (!file_->Truncate(written_).ok()) claim_.sha256 = nullptr;
      failure_ = written.WithContext("write upload " + id_).WithContext(context_);
      return failure_;
    }
    if (claim_.sha256 != nullptr) claim_.sha256->Update(data);
    written_ += data.size();
    // Start writing back what has arrived while the upload goes on (as
    // RocksDB's bytes_per_sync does), so that the fsync before the blob is
    // committed waits for the tail only, not for the whole layer.
    if (written_ - writeback_from_ >= kWritebackBytes) {
      file_->StartWriteback(writeback_from_, written_ - writeback_from_);
      writeback_from_ = written_;
    }
    return Status::Ok();
  }

  static constexpr uint64_t kWritebackBytes = 8 << 20;

  const std::string context_;
  const std::string id_;
  UploadClaim claim_;
  std::unique_ptr<WritableFile> file_;
  uint64_t written_;                    // bytes in the file
  uint64_t writeback_from_ = written_;  // the first byte not yet sent to disk
  std::string buffer_;
  Status failure_;
  bool closed_ = false;
};

class FileBlobStore final : public BlobStore {
 public:
  FileBlobStore(std::string root, Env* env)
      : root_(std::move(root)),
        env_(env),
        context_("blob store " + root_),
        uploads_(std::make_shared<UploadTable>()) {}

  std::optional<BlobInfo> Stat(const Digest& digest) const override {
    if (!IsValidDigest(digest)) return std::nullopt;
    std::string path = BlobPath(digest);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    // A client told that a blob exists (a HEAD before a push skips the
    // upload) will reference it soon, in a manifest that has not arrived
    // yet. Touching restarts the blob's garbage-collection grace period, so
    // that a collection running in between does not remove it.
    (void)env_->TouchFile(path);
    return BlobInfo{std::move(path), static_cast<uint64_t>(st.st_size)};
  }

  StatusOr<std::string> Read(const Digest& digest, uint64_t max_bytes) const override {
    if (!IsValidDigest(digest)) return InvalidArgument("invalid digest " + digest.ToString());
    std::string what = "read blob " + digest.ToString();
    Fd fd = OpenFile(BlobPath(digest), O_RDONLY);
    if (!fd.valid()) {
      if (errno == ENOENT) return NotFound("blob " + digest.ToString() + ": not found");
      return ErrnoStatus("open", BlobPath(digest), errno).WithContext(what).WithContext(context_);
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) {
      return ErrnoStatus("stat", BlobPath(digest), errno).WithContext(what).WithContext(context_);
    }
    auto size = static_cast<uint64_t>(st.st_size);
    if (size > max_bytes) {
      return Status(StatusCode::kResourceExhausted,
                    "blob " + digest.ToString() + " is " + std::to_string(size) +
                        " bytes, more than the limit of " + std::to_string(max_bytes));
    }
    std::string bytes(size, '\0');
    if (int err = ReadAllAt(fd.get(), 0, bytes); err != 0) {
      return ErrnoStatus("read", BlobPath(digest), err).WithContext(what).WithContext(context_);
    }
    return bytes;
  }

  Status Put(const Digest& expected, std::string_view bytes) override {
    if (!IsValidDigest(expected)) return InvalidArgument("invalid digest " + expected.ToString());
    DigestHasher hasher(expected.algorithm);
    hasher.Update(bytes);
    if (Digest actual = hasher.Finish(); actual != expected) {
      return DigestMismatch(expected, actual);
    }
    std::string path = BlobPath(expected);
    if (TouchIfExists(path)) return Status::Ok();  // touched for the reason Stat gives

    // Written to a temporary file beside the blob and renamed into place;
    // CollectGarbage removes what a crash in between leaves.
    std::string what = "put blob " + expected.ToString();
    Status status = EnsureBlobDirs(expected);
    if (status.ok()) status = env_->WriteFileAtomically(path, bytes);
    return status.WithContext(what).WithContext(context_);
  }

  StatusOr<std::string> StartUpload() override {
    StatusOr<std::string> result = Internal("not started");
    CommitNow(StartChange([&](StatusOr<std::string> id) { result = std::move(id); }));
    return result;
  }

  void StartUploadAsync(StartDone done) override {
    if (std::optional<DurableChange> change = StartChange(std::move(done))) {
      sync_.Push(std::move(*change));
    }
  }

  StatusOr<std::string> StartInternalUpload() override {
    std::string id;
    Status made = CreateUpload(&id);
    if (!made.ok()) return made.WithContext("start upload " + id).WithContext(context_);
    uploads_->Add(id);
    return id;
  }

  // While a writer is open, this counts only what it has flushed.
  StatusOr<uint64_t> UploadSize(std::string_view id) const override {
    if (!IsUploadId(id)) return UnknownUpload(id);
    struct stat st;
    if (::stat(UploadDataPath(id).c_str(), &st) != 0) {
      if (errno == ENOENT) return UnknownUpload(id);
      return ErrnoStatus("stat", UploadDataPath(id), errno)
          .WithContext("upload size " + std::string(id))
          .WithContext(context_);
    }
    return static_cast<uint64_t>(st.st_size);
  }

  StatusOr<std::unique_ptr<UploadWriter>> OpenUpload(std::string_view id,
                                                     uint64_t offset) override {
    if (!IsUploadId(id)) return UnknownUpload(id);
    std::optional<UploadClaim> claim = UploadClaim::Acquire(uploads_, std::string(id));
    if (!claim) return BusyUpload(id);
    std::string what = "open upload " + std::string(id);
    StatusOr<std::unique_ptr<WritableFile>> file =
        env_->NewWritableFile(UploadDataPath(id), Env::OpenMode::kAppend, 0644);
    if (!file.ok()) {
      if (file.status().code() == StatusCode::kNotFound) {
        claim->MarkGone();
        return UnknownUpload(id);
      }
      return file.status().WithContext(what).WithContext(context_);
    }
    uint64_t size = (*file)->size();
    if (offset != size) {
      return FailedPrecondition("upload " + std::string(id) + ": chunk starts at " +
                                std::to_string(offset) + " but the upload has " +
                                std::to_string(size) + " bytes");
    }
    if (claim->sha256 != nullptr && claim->hashed_size != size) {
      claim->sha256 = nullptr;  // stale: CompleteUpload will rehash the file
    }
    if (claim->sha256 == nullptr && size == 0) {
      claim->sha256 = std::make_unique<DigestHasher>("sha256");
      claim->hashed_size = 0;
    }
    return std::unique_ptr<UploadWriter>(
        std::make_unique<FileUploadWriter>(context_, std::move(*claim), std::move(*file)));
  }

  StatusOr<BlobInfo> CompleteUpload(std::string_view id, const Digest& expected) override {
    StatusOr<BlobInfo> result = Internal("not completed");
    CommitNow(
        CompleteChange(id, expected, [&](StatusOr<BlobInfo> blob) { result = std::move(blob); }));
    return result;
  }

  void CompleteUploadAsync(std::string_view id, const Digest& expected,
                           CompleteDone done) override {
    if (std::optional<DurableChange> change = CompleteChange(id, expected, std::move(done))) {
      sync_.Push(std::move(*change));
    }
  }

  Status CancelUpload(std::string_view id) override {
    if (!IsUploadId(id)) return UnknownUpload(id);
    std::optional<UploadClaim> claim = UploadClaim::Acquire(uploads_, std::string(id));
    if (!claim) return BusyUpload(id);
    claim->MarkGone();
    struct stat st;
    if (::stat(UploadDir(id).c_str(), &st) != 0) return UnknownUpload(id);
    return env_->RemoveAll(UploadDir(id))
        .WithContext("cancel upload " + std::string(id))
        .WithContext(context_);
  }

  Status Delete(const Digest& digest) override {
    if (!IsValidDigest(digest)) return InvalidArgument("invalid digest " + digest.ToString());
    Status removed = env_->RemoveFile(BlobPath(digest));
    if (removed.code() == StatusCode::kNotFound) {
      return NotFound("blob " + digest.ToString() + ": not found");
    }
    return removed.WithContext("delete blob " + digest.ToString()).WithContext(context_);
  }

  StatusOr<GcStats> CollectGarbage(const std::function<bool(const Digest&)>& referenced,
                                   int64_t min_age_seconds,
                                   int64_t upload_max_age_seconds) override {
    GcStats stats;
    int64_t now = env_->clock().NowSeconds();
    Status status = CollectBlobs(referenced, now - min_age_seconds, &stats);
    if (status.ok()) status = CollectUploads(now - upload_max_age_seconds, &stats);
    if (status.ok()) status = CollectTemporaryFiles(now - upload_max_age_seconds);
    if (!status.ok()) return status.WithContext("collect garbage").WithContext(context_);
    return stats;
  }

 private:
  // A group of one, on the calling thread: the synchronous calls.
  void CommitNow(std::optional<DurableChange> change) {
    if (!change) return;
    std::vector<DurableChange> group;
    group.push_back(std::move(*change));
    BlobSyncQueue::CommitGroup(*env_, group);
  }

  // Creates uploads/<id>/ with an empty data file; nothing synced.
  Status CreateUpload(std::string* id) {
    *id = HexEncode(RandomBytes(kUploadIdHexLength / 2));
    std::string dir = UploadDir(*id);
    BERTH_RETURN_IF_ERROR(env_->CreateDir(dir));
    Status status = CreateFile(dir + "/data", "");
    if (status.ok()) {
      status = CreateFile(dir + "/started", std::to_string(env_->clock().NowSeconds()) + "\n");
    }
    if (!status.ok()) (void)env_->RemoveAll(dir);
    return status;
  }

  // A new upload, durable once its change is: the upload's location is
  // acknowledged to the client, so it must survive a crash. nullopt when
  // done was already called (with the error).
  std::optional<DurableChange> StartChange(StartDone done) {
    std::string id;
    if (Status made = CreateUpload(&id); !made.ok()) {
      done(made.WithContext("start upload " + id).WithContext(context_));
      return std::nullopt;
    }
    std::string dir = UploadDir(id);
    return DurableChange{
        nullptr, {dir, root_ + "/uploads"}, [this, id, dir, done = std::move(done)](Status synced) {
          if (!synced.ok()) {
            (void)env_->RemoveAll(dir);
            return done(synced.WithContext("start upload " + id).WithContext(context_));
          }
          uploads_->Add(id);
          done(id);
        }};
  }

  // Checks the upload against expected here; the fsync, the rename and the
  // directory sync are the change's. nullopt when done was already called:
  // the check failed, or the blob was there already.
  std::optional<DurableChange> CompleteChange(std::string_view id, const Digest& expected,
                                              CompleteDone done) {
    if (!IsValidDigest(expected)) {
      done(InvalidArgument("invalid digest " + expected.ToString()));
      return std::nullopt;
    }
    if (!IsUploadId(id)) {
      done(UnknownUpload(id));
      return std::nullopt;
    }
    std::optional<UploadClaim> acquired = UploadClaim::Acquire(uploads_, std::string(id));
    if (!acquired) {
      done(BusyUpload(id));
      return std::nullopt;
    }
    // Shared by the change's steps (std::function copies what it holds).
    auto claim = std::make_shared<UploadClaim>(std::move(*acquired));
    std::string what = "complete upload " + std::string(id);
    auto fail = [&](Status status) {
      done(std::move(status));
      return std::nullopt;
    };
    std::string data_path = UploadDataPath(id);
    Fd fd = OpenFile(data_path, O_RDONLY);
    if (!fd.valid()) {
      if (errno == ENOENT) {
        claim->MarkGone();
        return fail(UnknownUpload(id));
      }
      return fail(ErrnoStatus("open", data_path, errno).WithContext(what).WithContext(context_));
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) {
      return fail(ErrnoStatus("stat", data_path, errno).WithContext(what).WithContext(context_));
    }
    auto size = static_cast<uint64_t>(st.st_size);

    Digest actual;
    if (expected.algorithm == "sha256" && claim->sha256 != nullptr && claim->hashed_size == size) {
      actual = claim->sha256->Finish();
      claim->sha256 = nullptr;
    } else {
      // The hash kept while writing is gone (a restart, a failed write) or
      // is of another algorithm: read the file once.
      StatusOr<Digest> rehashed = HashFile(fd.get(), data_path, size, expected.algorithm);
      if (!rehashed.ok()) return fail(rehashed.status().WithContext(what).WithContext(context_));
      actual = *std::move(rehashed);
    }
    if (actual != expected) {
      RemoveUpload(id);
      claim->MarkGone();
      return fail(DigestMismatch(expected, actual));
    }

    std::string blob_path = BlobPath(expected);
    // Another upload of the same content got there first: keep its copy.
    // (Touched, like in Put, so that it is not collected before the
    // manifest that refers to it arrives.)
    if (TouchIfExists(blob_path)) {
      RemoveUpload(id);
      claim->MarkGone();
      done(BlobInfo{std::move(blob_path), size});
      return std::nullopt;
    }
    auto apply = [this, data_path, expected]() -> Status {
      // The data's mtime is its last write, which may be long ago if the
      // client waited before completing; the blob's age for GC starts now.
      // (Before the fsync, so that the new time is durable too.)
      Status synced = env_->TouchFile(data_path);
      if (synced.ok()) synced = env_->SyncFile(data_path);
      // The upload stays as it was: the client may complete it again.
      BERTH_RETURN_IF_ERROR(synced);
      // Two uploads of the same digest may both get here; the second rename
      // replaces the first's file atomically with identical bytes, so both
      // succeed and one file remains.
      BERTH_RETURN_IF_ERROR(EnsureBlobDirs(expected));
      return env_->RenameFile(data_path, BlobPath(expected));
    };
    return DurableChange{std::move(apply),
                         {BlobDir(expected)},
                         [this, claim, id = std::string(id), what, blob_path, size,
                          done = std::move(done)](Status durable) mutable {
                           if (!durable.ok()) {
                             claim.reset();  // the client may try again at once
                             return done(durable.WithContext(what).WithContext(context_));
                           }
                           RemoveUpload(id);
                           claim->MarkGone();
                           claim.reset();
                           done(BlobInfo{std::move(blob_path), size});
                         }};
  }

  std::string BlobDir(const Digest& digest) const {
    return root_ + "/blobs/" + digest.algorithm + "/" + digest.hex.substr(0, 2);
  }
  std::string BlobPath(const Digest& digest) const { return BlobDir(digest) + "/" + digest.hex; }
  std::string UploadDir(std::string_view id) const { return root_ + "/uploads/" + std::string(id); }
  std::string UploadDataPath(std::string_view id) const { return UploadDir(id) + "/data"; }

  // Creates the blob's algorithm and shard folders where missing; a new
  // one is made durable in its parent.
  Status EnsureBlobDirs(const Digest& digest) {
    std::string algorithm_dir = root_ + "/blobs/" + digest.algorithm;
    BERTH_RETURN_IF_ERROR(EnsureDir(algorithm_dir, root_ + "/blobs"));
    return EnsureDir(BlobDir(digest), algorithm_dir);
  }
  Status EnsureDir(const std::string& dir, const std::string& parent) {
    Status made = env_->CreateDir(dir);
    if (made.code() == StatusCode::kAlreadyExists) return Status::Ok();
    BERTH_RETURN_IF_ERROR(made);
    return env_->SyncDir(parent);
  }

  // A small file, not synced: the directory sync that follows makes its
  // name durable, and its content matters only to operators.
  Status CreateFile(const std::string& path, std::string_view content) {
    StatusOr<std::unique_ptr<WritableFile>> file =
        env_->NewWritableFile(path, Env::OpenMode::kCreateExclusive, 0644);
    if (!file.ok()) return file.status();
    BERTH_RETURN_IF_ERROR((*file)->Append(content));
    return (*file)->Close();
  }

  // Updates the file's mtime to now. True if the file exists.
  bool TouchIfExists(const std::string& path) {
    Status touched = env_->TouchFile(path);
    if (touched.ok()) return true;
    if (touched.code() == StatusCode::kNotFound) return false;
    // Not allowed to touch (a read-only mount): it still exists.
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  static StatusOr<Digest> HashFile(int fd, const std::string& path, uint64_t size,
                                   std::string_view algorithm) {
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    DigestHasher hasher(algorithm);
    std::string buffer(std::min<uint64_t>(size, kReadBufferBytes), '\0');
    for (uint64_t offset = 0; offset < size;) {
      size_t n = std::min<uint64_t>(size - offset, buffer.size());
      if (int err = ReadAllAt(fd, offset, std::span<char>(buffer.data(), n)); err != 0) {
        return ErrnoStatus("rehash", path, err);
      }
      hasher.Update(std::string_view(buffer.data(), n));
      offset += n;
    }
    return hasher.Finish();
  }

  // Best effort: the blob is already safe, and GC removes what is left.
  void RemoveUpload(std::string_view id) {
    if (Status removed = env_->RemoveAll(UploadDir(id)); !removed.ok()) {
      LogWarn("cannot remove upload", {{"upload", std::string(id)}, {"error", removed.message()}});
    }
  }

  Status CollectBlobs(const std::function<bool(const Digest&)>& referenced, int64_t cutoff,
                      GcStats* stats) {
    std::vector<std::string> algorithms;
    BERTH_RETURN_IF_ERROR(ListNames(root_ + "/blobs", &algorithms));
    for (const std::string& algorithm : algorithms) {
      std::string algorithm_dir = root_ + "/blobs/" + algorithm;
      if (!IsDirectory(algorithm_dir)) continue;
      std::vector<std::string> shards;
      BERTH_RETURN_IF_ERROR(ListNames(algorithm_dir, &shards));
      // Empty shard directories stay: removing one could race with a rename
      // into it, and there are at most 256 per algorithm.
      for (const std::string& shard : shards) {
        std::string shard_dir = algorithm_dir + "/" + shard;
        if (!IsDirectory(shard_dir)) continue;
        std::vector<std::string> files;
        BERTH_RETURN_IF_ERROR(ListNames(shard_dir, &files));
        for (const std::string& file : files) {
          std::optional<Digest> digest = Digest::Parse(algorithm + ":" + file);
          if (!digest || BlobDir(*digest) != shard_dir) {
            // Left by a Put that crashed before its rename; else not ours.
            if (IsTemporaryName(file)) RemoveIfOld(shard_dir + "/" + file, cutoff);
            continue;
          }
          CollectBlob(*digest, referenced, cutoff, stats);
        }
      }
    }
    return Status::Ok();
  }

  void CollectBlob(const Digest& digest, const std::function<bool(const Digest&)>& referenced,
                   int64_t cutoff, GcStats* stats) {
    std::string path = BlobPath(digest);
    if (!IsOldFile(path, cutoff) || referenced(digest) ||
        // Again after the callback, which may have taken a while: a HEAD in
        // between has touched the blob (see Stat).
        !IsOldFile(path, cutoff)) {
      ++stats->blobs_kept;
      return;
    }
    struct stat st;
    uint64_t size = ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    if (Status removed = env_->RemoveFile(path); !removed.ok()) {
      if (removed.code() == StatusCode::kNotFound) return;  // deleted meanwhile
      // One file that cannot go must not stop the sweep.
      LogWarn("cannot remove blob", {{"path", path}, {"error", removed.message()}});
      ++stats->blobs_kept;
      return;
    }
    ++stats->blobs_removed;
    stats->bytes_removed += size;
  }

  Status CollectUploads(int64_t cutoff, GcStats* stats) {
    std::vector<std::string> ids;
    BERTH_RETURN_IF_ERROR(ListNames(root_ + "/uploads", &ids));
    for (const std::string& id : ids) {
      if (!IsUploadId(id)) continue;
      // The data file's mtime is the last write; without one (a crash while
      // starting or completing), the directory's says when that happened.
      struct stat st;
      bool has_data = ::stat(UploadDataPath(id).c_str(), &st) == 0;
      if (!IsOldFile(has_data ? UploadDataPath(id) : UploadDir(id), cutoff)) continue;
      std::optional<UploadClaim> claim = UploadClaim::Acquire(uploads_, id);
      if (!claim) continue;  // in use, so not abandoned
      claim->MarkGone();
      if (Status removed = env_->RemoveAll(UploadDir(id)); !removed.ok()) {
        LogWarn("cannot remove upload", {{"upload", id}, {"error", removed.message()}});
        continue;
      }
      ++stats->uploads_removed;
    }
    return Status::Ok();
  }

  // Left in tmp/ by a Put of an earlier version that crashed between
  // writing and renaming (Put now writes beside the blob).
  Status CollectTemporaryFiles(int64_t cutoff) {
    std::vector<std::string> names;
    BERTH_RETURN_IF_ERROR(ListNames(root_ + "/tmp", &names));
    for (const std::string& name : names) RemoveIfOld(root_ + "/tmp/" + name, cutoff);
    return Status::Ok();
  }

  // Env::WriteFileAtomically names its temporary file "<name>.tmp-<hex>".
  static bool IsTemporaryName(std::string_view name) {
    return name.find(".tmp-") != std::string_view::npos;
  }
  void RemoveIfOld(const std::string& path, int64_t cutoff) {
    if (IsOldFile(path, cutoff)) (void)env_->RemoveFile(path);
  }

  static bool IsOldFile(const std::string& path, int64_t cutoff) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return false;
    return static_cast<int64_t>(st.st_mtime) <= cutoff;  // at least min_age old
  }

  const std::string root_;
  Env* const env_;
  const std::string context_;  // "blob store <root>", in front of I/O errors
  std::shared_ptr<UploadTable> uploads_;
  // Last: its thread finishes what is queued before the members it uses go.
  BlobSyncQueue sync_{env_};
};

}  // namespace

StatusOr<std::unique_ptr<BlobStore>> BlobStore::Open(const std::string& root, Env* env) {
  if (root.empty()) return InvalidArgument("blob store: empty root directory");
  for (const std::string& dir : {root, root + "/blobs", root + "/uploads", root + "/tmp"}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Internal("blob store " + root + ": create " + dir + ": " + ec.message());
    if (!fs::is_directory(dir, ec)) {
      return FailedPrecondition("blob store " + root + ": " + dir + " is not a directory");
    }
  }
  return std::unique_ptr<BlobStore>(std::make_unique<FileBlobStore>(root, env));
}

}  // namespace berth::registry
