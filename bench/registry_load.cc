// berth_registry_load: push and pull load for an OCI distribution registry
// (/v2/), the same client for berth's registry and for the reference one.
//
// Scenarios (--scenario):
//   login      GetAuthorizationToken through the ECR API and nothing else: a
//              start-up check.
//   prepare    writes the benchmark image into --data-dir once: --layers
//              uncompressed tar layers of --layer-mib MiB of deterministic
//              incompressible bytes, its config and its OCI manifest, with
//              their digests in image.txt. A directory already holding the
//              same image is left as it is.
//   image      pushes that image (--parallel layers at a time, each as POST,
//              one streamed PATCH, PUT ?digest=; then the manifest), then
//              pulls it (manifest by tag, then --parallel blobs at a time,
//              each hashed as it arrives and checked against its digest).
//   blobs      pushes --blobs distinct blobs of --blob-kib KiB (POST, PUT
//              ?digest= with the body) from --concurrency threads, then pulls
//              each of them back, verified.
//   manifests  pushes a small image, then GETs its manifest by tag
//              --requests times from --concurrency threads.
//
// --round N (default 0) changes every byte pushed and the tags, so that a
// repeated benchmark can push again into the same registry without finding
// its blobs there; prepare and image must be given the same round.
//
// Against berth give --credentials (the server's DATA/credentials): the tool
// signs GetAuthorizationToken with SigV4 and sends the token as Basic auth,
// as `aws ecr get-login-password | docker login` does. Against a registry
// without authentication give --no-auth.
//
// Prints one machine-readable line per measured operation:
//   op=... concurrency=... count=... bytes=... seconds=... per_s=... mib_s=...
//     p50_us=... p99_us=... errors=...
// (count: blobs or requests; per_s: count per second; mib_s: MiB of blob or
// manifest bytes per second; latencies per blob or request) and exits
// non-zero when any request failed, so that a broken registry cannot pass for
// a fast one.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <latch>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "awsjson/client.h"
#include "common/base64.h"
#include "common/credentials_file.h"
#include "common/crypto.h"
#include "common/status.h"
#include "http/client.h"
#include "http/endpoint.h"
#include "http/message.h"
#include "http/sigv4.h"
#include "registry_client.h"

namespace berth::bench {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
namespace json = boost::json;

constexpr int kMaxPrintedErrors = 10;
constexpr double kMiB = 1024.0 * 1024.0;

constexpr std::string_view kManifestType = "application/vnd.oci.image.manifest.v1+json";
constexpr std::string_view kConfigType = "application/vnd.oci.image.config.v1+json";
constexpr std::string_view kLayerType = "application/vnd.oci.image.layer.v1.tar";

// The first line of image.txt: what the directory holds, so that a rerun with
// the same settings reuses it and one with other settings rewrites it.
constexpr std::string_view kImageFormat = "berth-registry-load-image 1";

// Seeds of the deterministic byte streams: one per layer, per blob, and for
// the small image of the manifest scenario, each plus (round << 32) + index
// (RoundSeed); apart so that no two collide for rounds below 4096.
constexpr uint64_t kLayerSeed = 0x1a7e500000000000;
constexpr uint64_t kBlobSeed = 0xb10b000000000000;
constexpr uint64_t kSmallImageSeed = 0x5a11000000000000;

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 5000;
  std::string credentials_file;
  std::string profile = "default";
  bool no_auth = false;
  std::string scenario = "image";
  std::string data_dir;
  std::string repository_prefix = "bench";
  int layers = 8;
  int layer_mib = 128;
  int parallel = 4;
  int blobs = 512;
  int blob_kib = 1024;
  int concurrency = 16;
  int64_t requests = 20000;
  int64_t warmup = 500;
  int timeout_seconds = 120;
  // Rounds of a repeated benchmark push different bytes (all seeds depend on
  // it) under different tags, so that no round finds its blobs already in
  // the registry from an earlier one.
  int round = 0;
};

uint64_t RoundSeed(uint64_t base, const Options& options, uint64_t i) {
  return base + (static_cast<uint64_t>(options.round) << 32) + i;
}

std::string RoundTag(std::string_view name, const Options& options) {
  return std::string(name) + "-r" + std::to_string(options.round);
}

// --- deterministic data ------------------------------------------------------

// xoshiro256** seeded through splitmix64: gigabytes per second of bytes that
// no registry or filesystem can compress or deduplicate, the same on every
// run and machine.
class Noise {
 public:
  explicit Noise(uint64_t seed) {
    for (auto& word : state_) {
      seed += 0x9e3779b97f4a7c15;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
      z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
      word = z ^ (z >> 31);
    }
  }

  void Fill(char* out, size_t n) {
    while (n >= 8) {
      uint64_t word = Next();
      std::memcpy(out, &word, 8);
      out += 8;
      n -= 8;
    }
    if (n > 0) {
      uint64_t word = Next();
      std::memcpy(out, &word, n);
    }
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t Next() {
    uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  std::array<uint64_t, 4> state_{};
};

// A ustar header for one regular file. Layers are real (uncompressed) tar
// archives so that the image is a valid one: a registry that looked inside
// would find one file per layer.
std::string TarHeader(std::string_view name, uint64_t size) {
  std::string header(512, '\0');
  auto put = [&header](size_t offset, std::string_view value) {
    std::memcpy(header.data() + offset, value.data(), value.size());
  };
  auto octal = [](uint64_t value, int digits) {
    char text[32];
    std::snprintf(text, sizeof text, "%0*llo", digits, static_cast<unsigned long long>(value));
    return std::string(text);
  };
  put(0, name.substr(0, 99));
  put(100, octal(0644, 7));
  put(108, octal(0, 7));
  put(116, octal(0, 7));
  put(124, octal(size, 11));
  put(136, octal(0, 11));
  put(148, "        ");  // the checksum counts its own field as spaces
  header[156] = '0';
  put(257, "ustar");
  put(263, "00");
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  put(148, octal(sum, 6));
  header[154] = '\0';
  header[155] = ' ';
  return header;
}

// A tar archive of exactly total bytes (a multiple of 512, at least 2048):
// one header, one file of noise filling it, the two zero blocks that end an
// archive. Calls sink with it in pieces.
void WriteTarLayer(uint64_t seed, std::string_view file_name, uint64_t total,
                   const std::function<void(std::string_view)>& sink) {
  const uint64_t content = total - 512 - 1024;
  sink(TarHeader(file_name, content));
  Noise noise(seed);
  std::vector<char> piece(4 << 20);
  for (uint64_t left = content; left > 0;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(piece.size(), left));
    noise.Fill(piece.data(), n);
    sink(std::string_view(piece.data(), n));
    left -= n;
  }
  sink(std::string(1024, '\0'));
}

std::string Digest(std::string_view bytes) { return "sha256:" + Sha256Hex(bytes); }

struct Blob {
  std::string digest;
  uint64_t size = 0;
  std::string media_type;
};

std::string ConfigJson(const std::vector<Blob>& layers) {
  // Uncompressed layers: each diff_id is the layer's own digest.
  json::array diff_ids;
  for (const auto& layer : layers) diff_ids.emplace_back(layer.digest);
  json::object config{{"architecture", "amd64"},
                      {"os", "linux"},
                      {"config", json::object{{"Cmd", json::array{"/bin/true"}}}},
                      {"rootfs", json::object{{"type", "layers"}, {"diff_ids", diff_ids}}}};
  return json::serialize(config);
}

std::string ManifestJson(const Blob& config, const std::vector<Blob>& layers) {
  auto descriptor = [](const Blob& blob) {
    return json::object{
        {"mediaType", blob.media_type}, {"digest", blob.digest}, {"size", blob.size}};
  };
  json::array layer_list;
  for (const auto& layer : layers) layer_list.emplace_back(descriptor(layer));
  json::object manifest{{"schemaVersion", 2},
                        {"mediaType", kManifestType},
                        {"config", descriptor(config)},
                        {"layers", layer_list}};
  return json::serialize(manifest);
}

// --- the benchmark image on disk ----------------------------------------------

struct ImageFiles {
  std::string config;  // bytes
  Blob config_blob;
  std::vector<Blob> layers;
  std::vector<std::string> layer_paths;
  std::string manifest;  // bytes, as pushed
  std::string manifest_digest;
};

std::string ImageHeader(const Options& options) {
  return std::string(kImageFormat) + " layers=" + std::to_string(options.layers) +
         " layer_mib=" + std::to_string(options.layer_mib) +
         " round=" + std::to_string(options.round);
}

StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Status WriteFile(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return Internal("cannot write " + path.string());
  return Status::Ok();
}

// Reads image.txt of dir; fails unless it describes the image options asks for.
StatusOr<ImageFiles> LoadImage(const Options& options) {
  fs::path dir(options.data_dir);
  auto index = ReadFile(dir / "image.txt");
  if (!index.ok()) return index.status();
  std::istringstream lines(*index);
  std::string line;
  if (!std::getline(lines, line) || line != ImageHeader(options)) {
    return FailedPrecondition(dir.string() + " holds another image (" + line + ")");
  }
  ImageFiles image;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string kind, digest, file;
    uint64_t size = 0;
    if (!(fields >> kind >> digest >> size >> file)) continue;
    if (kind == "layer") {
      image.layers.push_back({digest, size, std::string(kLayerType)});
      image.layer_paths.push_back((dir / file).string());
    } else if (kind == "config") {
      image.config_blob = {digest, size, std::string(kConfigType)};
    } else if (kind == "manifest") {
      image.manifest_digest = digest;
    }
  }
  auto config = ReadFile(dir / "config.json");
  if (!config.ok()) return config.status();
  image.config = std::move(*config);
  auto manifest = ReadFile(dir / "manifest.json");
  if (!manifest.ok()) return manifest.status();
  image.manifest = std::move(*manifest);
  if (static_cast<int>(image.layers.size()) != options.layers ||
      Digest(image.manifest) != image.manifest_digest ||
      Digest(image.config) != image.config_blob.digest) {
    return FailedPrecondition(dir.string() + "/image.txt does not match its files");
  }
  for (size_t i = 0; i < image.layers.size(); ++i) {
    std::error_code ec;
    if (fs::file_size(image.layer_paths[i], ec) != image.layers[i].size || ec) {
      return FailedPrecondition(image.layer_paths[i] + " is not " +
                                std::to_string(image.layers[i].size) + " bytes");
    }
  }
  return image;
}

int Prepare(const Options& options) {
  if (options.data_dir.empty()) {
    std::fprintf(stderr, "--scenario prepare needs --data-dir\n");
    return 2;
  }
  if (LoadImage(options).ok()) {
    std::fprintf(stderr, "%s already holds the image\n", options.data_dir.c_str());
    return 0;
  }
  fs::path dir(options.data_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "create %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  fs::remove(dir / "image.txt", ec);  // until every file is written, the directory is not an image

  const uint64_t layer_bytes = static_cast<uint64_t>(options.layer_mib) << 20;
  std::vector<Blob> layers(options.layers);
  std::vector<std::string> names(options.layers);
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  // Generation and hashing are CPU-bound: one layer per core at a time.
  int workers =
      std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, options.layers);
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < options.layers;) {
        names[i] = "layer-" + std::to_string(i) + ".tar";
        std::ofstream out(dir / names[i], std::ios::binary | std::ios::trunc);
        Sha256Hasher hasher;
        WriteTarLayer(RoundSeed(kLayerSeed, options, static_cast<uint64_t>(i)),
                      "bench/layer-" + std::to_string(i) + ".bin", layer_bytes,
                      [&](std::string_view piece) {
                        hasher.Update(piece);
                        out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
                      });
        out.close();
        if (!out) failed = true;
        layers[i] = {"sha256:" + hasher.FinishHex(), layer_bytes, std::string(kLayerType)};
      }
    });
  }
  for (auto& thread : threads) thread.join();
  if (failed) {
    std::fprintf(stderr, "writing the layers into %s failed (disk full?)\n", dir.c_str());
    return 1;
  }

  std::string config = ConfigJson(layers);
  Blob config_blob{Digest(config), config.size(), std::string(kConfigType)};
  std::string manifest = ManifestJson(config_blob, layers);
  std::string index = ImageHeader(options) + "\n";
  index += "config " + config_blob.digest + " " + std::to_string(config.size()) + " config.json\n";
  for (int i = 0; i < options.layers; ++i) {
    index +=
        "layer " + layers[i].digest + " " + std::to_string(layer_bytes) + " " + names[i] + "\n";
  }
  index +=
      "manifest " + Digest(manifest) + " " + std::to_string(manifest.size()) + " manifest.json\n";
  for (auto [name, bytes] : {std::pair<const char*, std::string_view>{"config.json", config},
                             {"manifest.json", manifest},
                             {"image.txt", index}}) {
    if (Status written = WriteFile(dir / name, bytes); !written.ok()) {
      std::fprintf(stderr, "%s\n", written.ToString().c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "wrote %d layers of %d MiB into %s\n", options.layers, options.layer_mib,
               dir.c_str());
  return 0;
}

// --- credentials and the registry token ---------------------------------------

// One profile's key from an AWS shared-credentials file (INI).
StatusOr<http::SigV4Credentials> ReadCredentials(const std::string& path,
                                                 const std::string& profile) {
  auto key = ReadCredentialsProfile(path, profile);
  if (!key.ok()) return key.status();
  return http::SigV4Credentials{key->id, key->secret};
}

// The Authorization header for /v2/: ECR's GetAuthorizationToken returns
// base64("AWS:<password>"), which is exactly Basic auth's credential.
StatusOr<std::string> RegistryAuthorization(const Options& options) {
  if (options.no_auth) return std::string();
  if (options.credentials_file.empty()) {
    return InvalidArgument("give --credentials FILE (berth) or --no-auth");
  }
  auto creds = ReadCredentials(options.credentials_file, options.profile);
  if (!creds.ok()) return creds.status();

  auto client =
      awsjson::Client::Create("http://" + http::FormatEndpoint(options.host, options.port),
                              std::move(*creds), options.timeout_seconds);
  if (!client.ok()) return client.status();
  auto reply = (*client)->Call(awsjson::kEcrTargetPrefix, "GetAuthorizationToken", json::object{});
  if (!reply.ok()) return reply.status();
  const json::string* token = nullptr;
  if (reply->is_object()) {
    const json::value* data = reply->as_object().if_contains("authorizationData");
    if (data && data->is_array() && !data->as_array().empty() && data->as_array()[0].is_object()) {
      const json::value* value = data->as_array()[0].as_object().if_contains("authorizationToken");
      if (value) token = value->if_string();
    }
  }
  if (token == nullptr) {
    return Unavailable("GetAuthorizationToken: no authorizationData[0].authorizationToken in " +
                       json::serialize(*reply).substr(0, 300));
  }
  auto decoded = Base64Decode(std::string_view(*token));
  if (!decoded || decoded->rfind("AWS:", 0) != 0) {
    return Unavailable("GetAuthorizationToken: the token is not base64(\"AWS:<password>\")");
  }
  return "Basic " + std::string(std::string_view(*token));
}

// --- measuring ------------------------------------------------------------------

// Counts failures from every thread and prints the first few in full.
class ErrorLog {
 public:
  void Add(const Status& status) {
    if (status.ok()) return;
    int64_t n = count_.fetch_add(1, std::memory_order_relaxed);
    if (n >= kMaxPrintedErrors) return;
    std::lock_guard lock(print_mutex_);
    std::fprintf(stderr, "error: %s\n", status.ToString().c_str());
  }
  int64_t count() const { return count_.load(); }

 private:
  std::atomic<int64_t> count_{0};
  std::mutex print_mutex_;
};

// The value below which fraction p of sorted values lie (nearest rank).
int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

struct LoopResult {
  double seconds = 0;
  std::vector<int64_t> latencies_us;  // sorted
};

using ClientFactory = std::function<std::unique_ptr<RegistryClient>()>;

// A closed loop: threads clients, each taking the next of count operations as
// soon as its previous one is done, so the load adapts to the server and the
// result is "throughput with this many requests in flight". warm(client,
// thread) runs first, untimed (it opens connections); the clock starts when
// every thread is ready.
LoopResult ClosedLoop(int threads, int64_t count, const ClientFactory& make_client,
                      const std::function<void(RegistryClient&, int)>& warm,
                      const std::function<void(RegistryClient&, int64_t)>& op) {
  std::vector<std::vector<int64_t>> latencies(threads);
  std::atomic<int64_t> next{0};
  std::latch ready(threads + 1);
  std::latch start(1);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto client = make_client();
      if (warm) warm(*client, t);
      ready.count_down();
      start.wait();
      for (int64_t i; (i = next.fetch_add(1)) < count;) {
        auto sent = Clock::now();
        op(*client, i);
        latencies[t].push_back(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent).count());
      }
    });
  }
  ready.arrive_and_wait();
  auto begin = Clock::now();
  start.count_down();
  for (auto& worker : workers) worker.join();
  LoopResult result;
  result.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  for (auto& mine : latencies) {
    result.latencies_us.insert(result.latencies_us.end(), mine.begin(), mine.end());
  }
  std::sort(result.latencies_us.begin(), result.latencies_us.end());
  return result;
}

void PrintResult(std::string_view op, int concurrency, const LoopResult& loop, uint64_t bytes,
                 double seconds, int64_t errors) {
  double count = static_cast<double>(loop.latencies_us.size());
  std::printf(
      "op=%.*s concurrency=%d count=%zu bytes=%llu seconds=%.3f per_s=%.1f mib_s=%.1f "
      "p50_us=%lld p99_us=%lld errors=%lld\n",
      static_cast<int>(op.size()), op.data(), concurrency, loop.latencies_us.size(),
      static_cast<unsigned long long>(bytes), seconds, seconds > 0 ? count / seconds : 0,
      seconds > 0 ? static_cast<double>(bytes) / kMiB / seconds : 0,
      static_cast<long long>(Percentile(loop.latencies_us, 0.50)),
      static_cast<long long>(Percentile(loop.latencies_us, 0.99)), static_cast<long long>(errors));
  std::fflush(stdout);
}

double SecondsSince(Clock::time_point begin) {
  return std::chrono::duration<double>(Clock::now() - begin).count();
}

// The blobs a manifest names (config first), as a pulling client reads them.
StatusOr<std::vector<Blob>> ManifestBlobs(std::string_view manifest) {
  boost::system::error_code ec;
  json::value value = json::parse(manifest, ec);
  if (ec || !value.is_object()) return InvalidArgument("manifest is not a JSON object");
  std::vector<Blob> blobs;
  auto add = [&blobs](const json::value& descriptor) {
    const json::object* object = descriptor.if_object();
    if (object == nullptr) return false;
    const json::value* digest = object->if_contains("digest");
    const json::value* size = object->if_contains("size");
    if (!digest || !digest->is_string() || !size || !size->is_int64()) return false;
    blobs.push_back(
        {std::string(digest->as_string()), static_cast<uint64_t>(size->as_int64()), ""});
    return true;
  };
  const json::value* config = value.as_object().if_contains("config");
  const json::value* layers = value.as_object().if_contains("layers");
  if (!config || !add(*config) || !layers || !layers->is_array()) {
    return InvalidArgument("manifest has no config or layers");
  }
  for (const auto& layer : layers->as_array()) {
    if (!add(layer)) return InvalidArgument("manifest has a bad layer descriptor");
  }
  return blobs;
}

// --- scenarios -------------------------------------------------------------------

class FileCloser {
 public:
  ~FileCloser() {
    for (int fd : fds) ::close(fd);
  }
  std::vector<int> fds;
};

int RunImage(const Options& options, const ClientFactory& make_client) {
  auto image = LoadImage(options);
  if (!image.ok()) {
    std::fprintf(stderr, "%s (run --scenario prepare first)\n", image.status().ToString().c_str());
    return 2;
  }
  const std::string repository = options.repository_prefix + "/image";
  const std::string tag = RoundTag("image", options);
  FileCloser files;
  for (const auto& path : image->layer_paths) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      std::fprintf(stderr, "open %s: %s\n", path.c_str(), std::strerror(errno));
      return 1;
    }
    files.fds.push_back(fd);
  }
  // Layers first, largest work first; the config last, as docker does.
  std::vector<std::pair<const Blob*, Body>> pushes;
  for (size_t i = 0; i < image->layers.size(); ++i) {
    Body body;
    body.fd = files.fds[i];
    body.length = image->layers[i].size;
    pushes.emplace_back(&image->layers[i], body);
  }
  Body config_body;
  config_body.memory = image->config;
  pushes.emplace_back(&image->config_blob, config_body);
  uint64_t bytes = image->config.size() + image->manifest.size();
  for (const auto& layer : image->layers) bytes += layer.size;

  // Push.
  ErrorLog errors;
  auto begin = Clock::now();
  LoopResult push = ClosedLoop(options.parallel, static_cast<int64_t>(pushes.size()), make_client,
                               nullptr, [&](RegistryClient& client, int64_t i) {
                                 const auto& [blob, body] = pushes[i];
                                 errors.Add(client.PushBlobStreamed(repository, blob->digest, body)
                                                .WithContext("push " + blob->digest));
                               });
  if (errors.count() == 0) {
    auto client = make_client();
    errors.Add(client->PutManifest(repository, tag, kManifestType, image->manifest)
                   .WithContext("push manifest"));
  }
  PrintResult("image_push", options.parallel, push, bytes, SecondsSince(begin), errors.count());
  if (errors.count() > 0) return 1;

  // Pull: the manifest by tag, then its blobs, as a client that knows nothing
  // about the image would.
  begin = Clock::now();
  std::vector<Blob> blobs;
  {
    auto client = make_client();
    auto manifest = client->GetManifest(repository, tag, image->manifest_digest);
    if (!manifest.ok()) {
      errors.Add(manifest.status().WithContext("pull manifest"));
    } else if (auto listed = ManifestBlobs(*manifest); !listed.ok()) {
      errors.Add(listed.status().WithContext("pull manifest"));
    } else {
      blobs = std::move(*listed);
      // Layers first so the large transfers start at once.
      std::rotate(blobs.begin(), blobs.begin() + 1, blobs.end());
    }
  }
  LoopResult pull = ClosedLoop(
      options.parallel, static_cast<int64_t>(blobs.size()), make_client, nullptr,
      [&](RegistryClient& client, int64_t i) {
        errors.Add(client.PullBlob(repository, blobs[i].digest, blobs[i].size).WithContext("pull"));
      });
  PrintResult("image_pull", options.parallel, pull, bytes, SecondsSince(begin), errors.count());
  return errors.count() == 0 ? 0 : 1;
}

int RunBlobs(const Options& options, const ClientFactory& make_client) {
  const std::string repository = options.repository_prefix + "/blobs";
  const int threads = options.concurrency;
  const size_t blob_bytes = static_cast<size_t>(options.blob_kib) << 10;
  // One warm-up blob per thread after the measured ones.
  const int total = options.blobs + threads;
  std::vector<std::string> data(total);
  std::vector<std::string> digests(total);
  for (int i = 0; i < total; ++i) {
    data[i].resize(blob_bytes);
    Noise noise(RoundSeed(kBlobSeed, options, static_cast<uint64_t>(i)));
    noise.Fill(data[i].data(), blob_bytes);
    digests[i] = Digest(data[i]);
  }
  auto body_of = [&data](int i) {
    Body body;
    body.memory = data[i];
    return body;
  };
  const uint64_t bytes = static_cast<uint64_t>(options.blobs) * blob_bytes;

  ErrorLog errors;
  LoopResult push = ClosedLoop(
      threads, options.blobs, make_client,
      [&](RegistryClient& client, int t) {
        int i = options.blobs + t;
        errors.Add(client.PushBlob(repository, digests[i], body_of(i)).WithContext("warm-up"));
      },
      [&](RegistryClient& client, int64_t i) {
        errors.Add(client.PushBlob(repository, digests[i], body_of(static_cast<int>(i)))
                       .WithContext("push"));
      });
  PrintResult("blob_push", threads, push, bytes, push.seconds, errors.count());
  if (errors.count() > 0) return 1;

  LoopResult pull = ClosedLoop(
      threads, options.blobs, make_client,
      [&](RegistryClient& client, int t) {
        int i = options.blobs + t;
        errors.Add(client.PullBlob(repository, digests[i], blob_bytes).WithContext("warm-up"));
      },
      [&](RegistryClient& client, int64_t i) {
        errors.Add(client.PullBlob(repository, digests[i], blob_bytes).WithContext("pull"));
      });
  PrintResult("blob_pull", threads, pull, bytes, pull.seconds, errors.count());
  return errors.count() == 0 ? 0 : 1;
}

int RunManifests(const Options& options, const ClientFactory& make_client) {
  const std::string repository = options.repository_prefix + "/manifests";
  const std::string tag = RoundTag("small", options);
  // A small but real image: one 64 KiB tar layer.
  std::string layer;
  WriteTarLayer(RoundSeed(kSmallImageSeed, options, 0), "bench/small.bin", 64 << 10,
                [&layer](std::string_view piece) { layer.append(piece); });
  std::vector<Blob> layers{{Digest(layer), layer.size(), std::string(kLayerType)}};
  std::string config = ConfigJson(layers);
  Blob config_blob{Digest(config), config.size(), std::string(kConfigType)};
  std::string manifest = ManifestJson(config_blob, layers);
  {
    auto client = make_client();
    Body layer_body, config_body;
    layer_body.memory = layer;
    config_body.memory = config;
    Status pushed = client->PushBlob(repository, layers[0].digest, layer_body);
    if (pushed.ok()) pushed = client->PushBlob(repository, config_blob.digest, config_body);
    if (pushed.ok()) pushed = client->PutManifest(repository, tag, kManifestType, manifest);
    if (!pushed.ok()) {
      std::fprintf(stderr, "setup: %s\n", pushed.ToString().c_str());
      return 1;
    }
  }

  const int threads = options.concurrency;
  ErrorLog errors;
  auto get = [&](RegistryClient& client) {
    auto got = client.GetManifest(repository, tag);
    if (got.ok() && *got != manifest) {
      got = Unavailable("GET manifest: not the manifest that was pushed");
    }
    errors.Add(got.status());
  };
  LoopResult loop = ClosedLoop(
      threads, options.requests, make_client,
      [&](RegistryClient& client, int t) {
        int64_t mine = options.warmup / threads + (t < options.warmup % threads ? 1 : 0);
        for (int64_t i = 0; i < std::max<int64_t>(mine, 1); ++i) get(client);
      },
      [&](RegistryClient& client, int64_t) { get(client); });
  PrintResult("manifest_get", threads, loop,
              static_cast<uint64_t>(options.requests) * manifest.size(), loop.seconds,
              errors.count());
  return errors.count() == 0 ? 0 : 1;
}

int Run(const Options& options) {
  if (options.scenario == "prepare") return Prepare(options);

  auto authorization = RegistryAuthorization(options);
  if (!authorization.ok()) {
    std::fprintf(stderr, "%s\n", authorization.status().ToString().c_str());
    return 2;
  }
  if (options.scenario == "login") {
    std::printf("op=login auth=%s\n", authorization->empty() ? "none" : "basic");
    return 0;
  }
  ClientFactory make_client = [&] {
    return std::make_unique<RegistryClient>(options.host, options.port, *authorization,
                                            options.timeout_seconds);
  };
  if (options.scenario == "image") return RunImage(options, make_client);
  if (options.scenario == "blobs") return RunBlobs(options, make_client);
  return RunManifests(options, make_client);
}

}  // namespace
}  // namespace berth::bench

int main(int argc, char** argv) {
  berth::bench::Options options;
  CLI::App app{"push and pull load for an OCI distribution registry (berth's or another)"};
  app.add_option("--host", options.host, "registry address")->capture_default_str();
  app.add_option("--port", options.port, "registry port")->capture_default_str();
  app.add_option("--credentials", options.credentials_file,
                 "AWS shared-credentials file for GetAuthorizationToken (berth writes "
                 "DATA/credentials)");
  app.add_option("--profile", options.profile, "profile in --credentials")->capture_default_str();
  app.add_flag("--no-auth", options.no_auth, "send no Authorization (registry without auth)");
  app.add_option("--scenario", options.scenario, "what to do")
      ->check(CLI::IsMember({"login", "prepare", "image", "blobs", "manifests"}))
      ->capture_default_str();
  app.add_option("--data-dir", options.data_dir,
                 "where prepare writes the image and image reads it");
  app.add_option("--repository-prefix", options.repository_prefix,
                 "repositories are PREFIX/image, PREFIX/blobs, PREFIX/manifests")
      ->capture_default_str();
  app.add_option("--layers", options.layers, "image: number of layers")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--layer-mib", options.layer_mib, "image: MiB per layer")
      ->check(CLI::Range(1, 8191))
      ->capture_default_str();
  app.add_option("--parallel", options.parallel, "image: blobs pushed or pulled at a time")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--blobs", options.blobs, "blobs: number of distinct blobs")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--blob-kib", options.blob_kib, "blobs: KiB per blob")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--concurrency", options.concurrency,
                 "blobs, manifests: threads, one connection each")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--requests", options.requests, "manifests: measured GETs, all threads together")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->capture_default_str();
  app.add_option("--warmup", options.warmup, "manifests: unmeasured GETs sent first")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
      ->capture_default_str();
  app.add_option("--round", options.round,
                 "repetition number: changes every byte pushed and the tags (prepare and push "
                 "with the same round)")
      ->check(CLI::Range(0, 4095))
      ->capture_default_str();
  app.add_option("--timeout", options.timeout_seconds,
                 "seconds any one I/O step (connect, one piece sent or read) may take")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return berth::bench::Run(options);
}
