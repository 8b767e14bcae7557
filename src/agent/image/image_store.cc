// ImageStore: the cache of pulled images and unpacked layers, and the pull
// that fills it (manifest -> config -> layers in parallel, each unpacked
// while it downloads).
#include "agent/image/image_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "agent/image/background_sync.h"
#include "agent/image/image_manifest.h"
#include "agent/image/layer_unpack.h"
#include "agent/image/registry_client.h"
#include "agent/image/registry_memory.h"
#include "common/crypto.h"
#include "common/log.h"
#include "common/metrics.h"
#include "http/byte_queue.h"

namespace berth::agent {
namespace fs = std::filesystem;
namespace {

constexpr size_t kMaxConfigBytes = 16 << 20;
constexpr size_t kQueueBytes = 8 << 20;  // download may run this far ahead of the unpack
constexpr uint64_t kProgressEveryBytes = 1 << 20;
constexpr int kResolveTimeoutSeconds = 15;

// The node's pull metrics (the agent serves them at /metrics), looked up once.
struct PullCounters {
  metrics::Family<metrics::Counter>& pulls = metrics::DefaultRegistry().AddCounter(
      "berth_agent_image_pulls_total",
      "Image pulls by result: pulled from a registry, found in the cache (current), failed, "
      "or the cached image used because the registry failed (pull behaviour default).",
      {"result"});
  metrics::Counter& pulled = pulls.With({"pulled"});
  metrics::Counter& cached = pulls.With({"cached"});
  metrics::Counter& failed = pulls.With({"failed"});
  metrics::Counter& fallback = pulls.With({"cached_after_failure"});
  metrics::Counter& bytes =
      metrics::DefaultRegistry()
          .AddCounter("berth_agent_image_pull_bytes_total", "Layer bytes received from registries.")
          .With({});
  // Download and unpack stream together, so a layer's time is both; with
  // the bytes above it gives the unpack throughput.
  metrics::Histogram& layer_seconds =
      metrics::DefaultRegistry()
          .AddHistogram("berth_agent_layer_pull_seconds",
                        "Time to download, verify and unpack one layer.", {},
                        {0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300})
          .With({});
};
PullCounters& PullMetrics() {
  static PullCounters counters;
  return counters;
}

using Clock = std::chrono::steady_clock;

std::string Hex(std::string_view digest) { return std::string(digest.substr(7)); }

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string Fixed(double value, int decimals) {
  std::ostringstream out;
  out.precision(decimals);
  out << std::fixed << value;
  return out.str();
}

std::string FormatRate(uint64_t bytes, double seconds) {
  return Fixed(seconds > 0 ? bytes / seconds / 1e6 : 0.0, 1);
}

// refs/ file name of a reference: readable when it fits, hashed when not.
std::string RefFileName(const std::string& reference) {
  std::string out;
  for (char c : reference) {
    if (c == '/' || c == ':' || c == '@' || c == '%') {
      static const char* kHex = "0123456789ABCDEF";
      out += '%';
      out += kHex[static_cast<unsigned char>(c) >> 4];
      out += kHex[c & 15];
    } else {
      out += c;
    }
  }
  if (out.size() > 200) out = "sha256-" + Sha256Hex(reference);
  return out;
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Reports progress at most every kProgressEveryBytes and at each layer's end.
class ProgressTracker {
 public:
  ProgressTracker(const ProgressCallback& callback, const std::vector<Descriptor>& layers)
      : callback_(callback) {
    for (const Descriptor& layer : layers) {
      progress_.layers.push_back({layer.digest, static_cast<uint64_t>(layer.size)});
      progress_.bytes_total += layer.size;
    }
    progress_.layers_total = static_cast<int>(layers.size());
  }
  void AddBytes(size_t layer, uint64_t n) {
    std::lock_guard lock(mu_);
    progress_.bytes_done += n;
    progress_.layers[layer].bytes_done += n;
    if (progress_.bytes_done - last_reported_ >= kProgressEveryBytes) ReportLocked();
  }
  // A layer that was already there (or fetched by another pull) counts whole.
  void LayerDone(size_t layer) {
    std::lock_guard lock(mu_);
    LayerProgress& p = progress_.layers[layer];
    progress_.bytes_done += p.bytes_total - p.bytes_done;
    p.bytes_done = p.bytes_total;
    p.done = true;
    progress_.layers_done++;
    ReportLocked();
  }

 private:
  void ReportLocked() {
    last_reported_ = progress_.bytes_done;
    if (callback_) callback_(progress_);
  }
  const ProgressCallback& callback_;
  std::mutex mu_;
  PullProgress progress_;
  uint64_t last_reported_ = 0;
};

// Takes a layer's bytes from the HTTP client: counts, hashes and checks
// them against the manifest while they arrive, and hands them to the unpacker.
class LayerSink : public http::BodySink {
 public:
  LayerSink(http::ByteQueue& queue, uint64_t expected_size, ProgressTracker& progress, size_t layer,
            const std::atomic<bool>& cancelled)
      : queue_(queue),
        expected_size_(expected_size),
        progress_(progress),
        layer_(layer),
        cancelled_(cancelled) {}

  Status Write(std::string_view piece) override {
    if (cancelled_.load()) return {StatusCode::kAborted, "cancelled: another layer failed"};
    bytes_ += piece.size();
    if (bytes_ > expected_size_) {
      return InvalidArgument("size mismatch: the registry sent more than the manifest's " +
                             std::to_string(expected_size_) + " bytes");
    }
    hasher_.Update(piece);
    progress_.AddBytes(layer_, piece.size());
    PullMetrics().bytes.Inc(static_cast<double>(piece.size()));
    return queue_.Push(piece);
  }

  // The verdict once the body has ended.
  Status Verify(std::string_view digest) {
    if (bytes_ != expected_size_) {
      return InvalidArgument("size mismatch: got " + std::to_string(bytes_) +
                             " bytes, the manifest says " + std::to_string(expected_size_));
    }
    std::string got = "sha256:" + hasher_.FinishHex();
    if (got != digest) return InvalidArgument("digest mismatch: the bytes hash to " + got);
    return Status::Ok();
  }
  uint64_t bytes() const { return bytes_; }

 private:
  http::ByteQueue& queue_;
  const uint64_t expected_size_;
  ProgressTracker& progress_;
  const size_t layer_;
  const std::atomic<bool>& cancelled_;
  Sha256Hasher hasher_;
  uint64_t bytes_ = 0;
};

class ImageStoreImpl : public ImageStore {
 public:
  explicit ImageStoreImpl(Options options) : options_(std::move(options)), env_(*options_.env) {}

  StatusOr<PulledImage> Pull(const std::string& image, const CredentialsLookup& credentials,
                             const ProgressCallback& progress) override {
    auto ref = ImageReference::Parse(image);
    if (!ref.ok()) return ref.status().WithContext("pull " + image);
    std::string key = ref->ToString();
    auto with_reference = [&](StatusOr<PulledImage> result) {
      if (result.ok()) result->reference = image;
      return result;
    };
    const PullBehavior behavior = options_.pull_behavior;
    StatusOr<PulledImage> cached = LoadCached(key);
    if (cached.ok()) {
      // A digest names one image for good; a tag is asked again only when
      // the behaviour says so.
      bool ask = ref->digest.empty() &&
                 (behavior == PullBehavior::kDefault || behavior == PullBehavior::kAlways);
      if (!ask) {
        PullMetrics().cached.Inc();
        return with_reference(std::move(cached));
      }
      StatusOr<std::string> current = ResolveTag(*ref, credentials);
      if (current.ok() && *current == cached->repo_digest) {
        PullMetrics().cached.Inc();
        return with_reference(std::move(cached));
      }
      if (!current.ok()) {
        if (behavior == PullBehavior::kDefault) {
          return with_reference(FallBack(key, std::move(cached), current.status()));
        }
        PullMetrics().failed.Inc();
        return current.status().WithContext("pull " + key);
      }
      LogInfo("image tag moved",
              {{"image", key}, {"cached", cached->repo_digest}, {"registry", *current}});
    }

    // One pull per image at a time: a second caller waits for the first's result.
    std::promise<StatusOr<PulledImage>> promise;
    std::shared_future<StatusOr<PulledImage>> pending;
    {
      std::lock_guard lock(mu_);
      auto it = pulls_.find(key);
      if (it != pulls_.end()) {
        pending = it->second;
      } else {
        pulls_.emplace(key, promise.get_future().share());
      }
    }
    StatusOr<PulledImage> result = [&]() -> StatusOr<PulledImage> {
      if (pending.valid()) return pending.get();
      StatusOr<PulledImage> pulled = PullFromRegistry(*ref, credentials, progress);
      (pulled.ok() ? PullMetrics().pulled : PullMetrics().failed).Inc();
      if (!pulled.ok()) pulled = pulled.status().WithContext("pull " + key);
      promise.set_value(pulled);
      std::lock_guard lock(mu_);
      pulls_.erase(key);
      return pulled;
    }();
    if (!result.ok() && cached.ok() && behavior == PullBehavior::kDefault) {
      return with_reference(FallBack(key, std::move(cached), result.status()));
    }
    return with_reference(std::move(result));
  }

  Status Init() {
    for (const char* sub : {"layers/sha256", "images/sha256", "refs", "tmp"}) {
      BERTH_RETURN_IF_ERROR(env_.CreateDirs(options_.root + "/" + sub));
    }
    // Whatever a previous process left in tmp/ was never made visible.
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(fs::path(options_.root) / "tmp", ec)) {
      (void)env_.RemoveAll(entry.path().string());
    }
    return Status::Ok();
  }

 private:
  std::string LayerDir(std::string_view digest) const {
    return options_.root + "/layers/sha256/" + Hex(digest);
  }

  Transport TransportFor(const std::string& registry) const {
    std::string host = registry.substr(0, registry.rfind(':'));
    for (const std::string& r : options_.plain_http_registries) {
      if (r == registry || r == host) return Transport::kHttp;
    }
    return IsLoopbackRegistry(registry) ? Transport::kHttpsOrHttp : Transport::kHttps;
  }

  // What the registry's tag names now (a manifest HEAD). Its own, shorter
  // timeout: a registry that does not answer soon is as good as away.
  StatusOr<std::string> ResolveTag(const ImageReference& ref,
                                   const CredentialsLookup& credentials) {
    RegistryClient registry(ref, credentials, TransportFor(ref.registry), &registry_memory_);
    RegistryConnections connections(std::min(options_.timeout_seconds, kResolveTimeoutSeconds),
                                    options_.ca_file);
    return registry.ResolveTag(connections, ref.tag);
  }

  // PullBehavior::kDefault: the cached image runs when the registry fails.
  StatusOr<PulledImage> FallBack(const std::string& key, StatusOr<PulledImage> cached,
                                 const Status& why) {
    PullMetrics().fallback.Inc();
    LogWarn("registry failed; running the cached image",
            {{"image", key}, {"digest", cached->repo_digest}, {"error", why.message()}});
    return cached;
  }

  // refs/<reference>: "<image manifest digest> <repo digest>\n" (files
  // from before repo digests were kept have the first alone).
  StatusOr<PulledImage> LoadCached(const std::string& key) {
    auto text = ReadFile(options_.root + "/refs/" + RefFileName(key));
    if (!text.ok()) return text.status();
    std::istringstream fields(*text);
    std::string digest, repo_digest;
    fields >> digest >> repo_digest;
    if (!IsSha256Digest(digest)) return NotFound("bad ref file for " + key);
    if (!IsSha256Digest(repo_digest)) repo_digest = digest;
    auto body = ReadFile(options_.root + "/images/sha256/" + Hex(digest) + ".json");
    if (!body.ok()) return body.status();
    auto record = ParseImageRecord(*body);
    if (!record.ok()) return record.status();
    PulledImage image;
    image.manifest_digest = record->manifest_digest;
    image.repo_digest = repo_digest;
    image.config_digest = record->config_digest;
    image.config = std::move(record->config);
    for (const std::string& layer : record->layers) {
      std::string dir = LayerDir(layer);
      std::error_code ec;
      // A layer removed behind our back (garbage collection): pull again.
      if (!fs::is_directory(dir, ec)) return NotFound("layer " + layer + " is gone");
      image.layer_dirs.push_back(std::move(dir));
    }
    return image;
  }

  StatusOr<PulledImage> PullFromRegistry(const ImageReference& ref,
                                         const CredentialsLookup& credentials,
                                         const ProgressCallback& progress) {
    Clock::time_point start = Clock::now();
    std::string key = ref.ToString();
    LogInfo("image pull started", {{"image", key}});
    RegistryClient registry(ref, credentials, TransportFor(ref.registry), &registry_memory_);
    RegistryConnections connections(options_.timeout_seconds, options_.ca_file);

    // Manifest: by digest when given (then verified), else by tag.
    std::string asked = ref.digest.empty() ? ref.tag : ref.digest;
    auto reply = registry.GetManifest(connections, asked);
    if (!reply.ok()) return reply.status();
    std::string digest = "sha256:" + Sha256Hex(reply->body);
    const std::string repo_digest = digest;
    if (!ref.digest.empty() && digest != ref.digest) {
      return InvalidArgument("manifest " + ref.digest + ": digest mismatch: the bytes hash to " +
                             digest);
    }
    if (ref.digest.empty() && IsSha256Digest(reply->digest_header) &&
        reply->digest_header != digest) {
      return InvalidArgument("manifest " + ref.tag + ": digest mismatch: Docker-Content-Digest " +
                             reply->digest_header + ", the bytes hash to " + digest);
    }
    auto manifest = ParseManifest(reply->body, reply->content_type);
    if (!manifest.ok()) return manifest.status().WithContext("manifest " + asked);
    if (manifest->is_index) {
      auto chosen = SelectPlatform(*manifest, "linux", "amd64");
      if (!chosen.ok()) return chosen.status();
      reply = registry.GetManifest(connections, chosen->digest);
      if (!reply.ok()) return reply.status();
      digest = "sha256:" + Sha256Hex(reply->body);
      if (digest != chosen->digest) {
        return InvalidArgument("manifest " + chosen->digest +
                               ": digest mismatch: the bytes hash to " + digest);
      }
      manifest = ParseManifest(reply->body, reply->content_type);
      if (!manifest.ok()) return manifest.status().WithContext("manifest " + chosen->digest);
      if (manifest->is_index) {
        return InvalidArgument("manifest " + chosen->digest + ": an index inside an index");
      }
    }

    auto config_body = registry.GetSmallBlob(connections, manifest->config.digest, kMaxConfigBytes);
    std::string config_what = "config " + manifest->config.digest;
    if (!config_body.ok()) return config_body.status().WithContext(config_what);
    if (static_cast<int64_t>(config_body->size()) != manifest->config.size) {
      return InvalidArgument(config_what + ": size mismatch: got " +
                             std::to_string(config_body->size()) + " bytes, the manifest says " +
                             std::to_string(manifest->config.size));
    }
    if ("sha256:" + Sha256Hex(*config_body) != manifest->config.digest) {
      return InvalidArgument(config_what + ": digest mismatch");
    }
    auto config = ParseImageConfig(*config_body);
    if (!config.ok()) return config.status().WithContext(config_what);

    uint64_t total = 0;
    for (const Descriptor& layer : manifest->layers) total += layer.size;
    ProgressTracker tracker(progress, manifest->layers);
    BERTH_RETURN_IF_ERROR(FetchLayers(registry, manifest->layers, tracker));

    ImageRecord record;
    record.manifest_digest = digest;
    record.config_digest = manifest->config.digest;
    record.config = *config;
    PulledImage image;
    image.manifest_digest = digest;
    image.repo_digest = repo_digest;
    image.config_digest = manifest->config.digest;
    image.config = std::move(*config);
    for (const Descriptor& layer : manifest->layers) {
      record.layers.push_back(layer.digest);
      image.layer_dirs.push_back(LayerDir(layer.digest));
    }
    BERTH_RETURN_IF_ERROR(env_.WriteFileAtomically(
        options_.root + "/images/sha256/" + Hex(digest) + ".json", SerializeImageRecord(record)));
    BERTH_RETURN_IF_ERROR(env_.WriteFileAtomically(
        options_.root + "/refs/" + RefFileName(ref.ToString()), digest + " " + repo_digest + "\n"));
    double seconds = SecondsSince(start);
    LogInfo("image pulled", {{"image", key},
                             {"digest", repo_digest},
                             {"layers", std::to_string(manifest->layers.size())},
                             {"bytes", std::to_string(total)},
                             {"seconds", Fixed(seconds, 3)},
                             {"MB/s", FormatRate(total, seconds)}});
    return image;
  }

  // parallel_layers workers take layers in manifest order; the first error
  // cancels the downloads still running.
  Status FetchLayers(RegistryClient& registry, const std::vector<Descriptor>& layers,
                     ProgressTracker& tracker) {
    std::atomic<size_t> next{0};
    std::atomic<bool> cancelled{false};
    std::mutex error_mu;
    Status first_error;
    auto work = [&] {
      RegistryConnections connections(options_.timeout_seconds, options_.ca_file);
      for (size_t i; (i = next++) < layers.size() && !cancelled.load();) {
        Status status = EnsureLayer(registry, connections, layers, i, tracker, cancelled);
        if (!status.ok()) {
          std::lock_guard lock(error_mu);
          // A layer cancelled because another failed is not the cause.
          if (first_error.ok() || first_error.code() == StatusCode::kAborted) {
            first_error = status.WithContext("layer " + layers[i].digest);
          }
          cancelled = true;
        }
      }
    };
    size_t workers =
        std::clamp<size_t>(options_.parallel_layers, 1, std::max<size_t>(1, layers.size()));
    std::vector<std::thread> threads;
    for (size_t i = 1; i < workers; ++i) threads.emplace_back(work);
    work();
    for (std::thread& t : threads) t.join();
    return first_error;
  }

  // The layer in the cache, downloaded unless it is there already or another
  // pull is fetching it (then this one waits for that).
  Status EnsureLayer(RegistryClient& registry, RegistryConnections& connections,
                     const std::vector<Descriptor>& layers, size_t index, ProgressTracker& tracker,
                     const std::atomic<bool>& cancelled) {
    const Descriptor& layer = layers[index];
    std::string dir = LayerDir(layer.digest);
    std::promise<Status> promise;
    std::shared_future<Status> pending;
    {
      std::lock_guard lock(mu_);
      std::error_code ec;
      // Checked under the lock: a layer is renamed into place before its
      // fetch leaves layers_, so it is either visible or still in flight.
      if (fs::is_directory(dir, ec)) {
        tracker.LayerDone(index);
        return Status::Ok();
      }
      auto it = layers_.find(layer.digest);
      if (it != layers_.end()) {
        pending = it->second;
      } else {
        layers_.emplace(layer.digest, promise.get_future().share());
      }
    }
    if (pending.valid()) {
      Status status = pending.get();
      if (status.ok()) tracker.LayerDone(index);
      return status;
    }
    Status status = DownloadLayer(registry, connections, layer, index, dir, tracker, cancelled);
    promise.set_value(status);
    {
      std::lock_guard lock(mu_);
      layers_.erase(layer.digest);
    }
    if (status.ok()) tracker.LayerDone(index);
    return status;
  }

  // Streams the blob into the unpacker through a bounded queue; the unpack
  // goes to tmp/ and is renamed into layers/ only once the digest is right.
  Status DownloadLayer(RegistryClient& registry, RegistryConnections& connections,
                       const Descriptor& layer, size_t index, const std::string& dir,
                       ProgressTracker& tracker, const std::atomic<bool>& cancelled) {
    Clock::time_point start = Clock::now();
    LogInfo("layer pull started", {{"layer", layer.digest}, {"bytes", std::to_string(layer.size)}});
    std::string tmp = options_.root + "/tmp/" + Hex(layer.digest).substr(0, 16) + "-" +
                      std::to_string(getpid()) + "-" + std::to_string(++tmp_counter_);
    BERTH_RETURN_IF_ERROR(env_.CreateDir(tmp));
    chmod(tmp.c_str(), 0755);  // whatever the umask: containers of any user read the layer

    http::ByteQueue queue(kQueueBytes);
    Status unpacked;
    std::optional<BackgroundSync> writeback;
    WrittenCallback written;
    uint64_t next_writeback = options_.writeback_every_bytes;
    if (options_.sync_layers && options_.writeback_every_bytes > 0) {
      writeback.emplace(env_, tmp);
      written = [&](uint64_t bytes) {
        if (bytes < next_writeback) return;
        writeback->Nudge();
        next_writeback = bytes + options_.writeback_every_bytes;
      };
    }
    std::thread unpacker([&] {
      http::ByteQueueSource source(queue);
      unpacked = UnpackLayer(source, tmp, written);
      queue.CloseRead(unpacked);  // stops the download early when the layer is refused
    });
    LayerSink sink(queue, static_cast<uint64_t>(layer.size), tracker, index, cancelled);
    Status downloaded = registry.GetBlob(connections, layer.digest, &sink);
    if (downloaded.ok()) downloaded = sink.Verify(layer.digest);
    queue.CloseWrite(downloaded);
    unpacker.join();

    // Whichever side failed first has the cause: a refused entry breaks the
    // download, a broken download or a digest mismatch breaks the unpack.
    Status status = downloaded;
    if (!unpacked.ok() && (queue.reader_closed_first() || downloaded.ok())) status = unpacked;
    Clock::time_point sync_start = Clock::now();
    if (writeback) {
      Status early = writeback->Finish();
      if (status.ok()) status = early.WithContext("sync layer " + layer.digest);
    }
    if (status.ok() && options_.sync_layers) {
      // A crash after the rename must not find a layer whose files are lost.
      status = env_.SyncFileSystem(tmp).WithContext("sync layer " + layer.digest);
    }
    double sync_seconds = SecondsSince(sync_start);
    if (status.ok()) {
      Status renamed = env_.RenameFile(tmp, dir);
      std::error_code exists_ec;
      // A layer already there was made first by another process: fine.
      if (!renamed.ok() && !fs::is_directory(dir, exists_ec)) status = renamed;
    }
    (void)env_.RemoveAll(tmp);
    double seconds = SecondsSince(start);
    if (status.ok()) {
      PullMetrics().layer_seconds.Observe(seconds);
      LogInfo("layer pulled", {{"layer", layer.digest},
                               {"bytes", std::to_string(sink.bytes())},
                               {"seconds", Fixed(seconds, 3)},
                               {"sync_seconds", Fixed(sync_seconds, 3)},
                               {"MB/s", FormatRate(sink.bytes(), seconds)}});
    } else {
      LogWarn("layer pull failed", {{"layer", layer.digest}, {"error", status.message()}});
    }
    return status;
  }

  const Options options_;
  Env& env_;
  // What pulls learned about each registry, so that the next one (above
  // all the check of a cached tag at each task start) asks it once.
  RegistryMemory registry_memory_{env_.clock()};
  std::mutex mu_;
  std::map<std::string, std::shared_future<StatusOr<PulledImage>>> pulls_;  // by reference
  std::map<std::string, std::shared_future<Status>> layers_;                // by digest
  std::atomic<uint64_t> tmp_counter_{0};
};

}  // namespace

StatusOr<PullBehavior> ParsePullBehavior(std::string_view text) {
  for (PullBehavior b : {PullBehavior::kDefault, PullBehavior::kAlways, PullBehavior::kOnce,
                         PullBehavior::kPreferCached}) {
    if (text == PullBehaviorName(b)) return b;
  }
  return InvalidArgument("image pull behavior '" + std::string(text) +
                         "': must be default, always, once or prefer-cached");
}

std::string_view PullBehaviorName(PullBehavior behavior) {
  switch (behavior) {
    case PullBehavior::kDefault:
      return "default";
    case PullBehavior::kAlways:
      return "always";
    case PullBehavior::kOnce:
      return "once";
    case PullBehavior::kPreferCached:
      return "prefer-cached";
  }
  return "default";
}

StatusOr<std::unique_ptr<ImageStore>> ImageStore::Open(Options options) {
  if (options.root.empty()) return InvalidArgument("image store: no root folder");
  auto store = std::make_unique<ImageStoreImpl>(std::move(options));
  BERTH_RETURN_IF_ERROR(store->Init().WithContext("open image store"));
  return std::unique_ptr<ImageStore>(std::move(store));
}

}  // namespace berth::agent
