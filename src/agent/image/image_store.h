// Images on this node: pulled from an OCI-distribution registry (berth's own
// or any other), verified, unpacked once per layer into a content-addressed
// cache, and assembled into a container's root file system with overlay.
//
// Layout under the store's root:
//   layers/sha256/<hex>/        one unpacked layer (overlay whiteouts), made
//                               in a temporary folder and renamed when whole
//   images/sha256/<hex>.json    a pulled image: manifest digest, config, layers
//   refs/<escaped reference>    reference -> manifest digest (the cache of tags)
//   tmp/                        downloads and unpacks in progress
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/image/image_config.h"
#include "common/env.h"
#include "common/status.h"

namespace berth::agent {

// "host[:port]/repo/name[:tag|@sha256:...]" as ECS's `image` field names it.
// A name without a registry host (no '.' or ':' in the first part, not
// "localhost") is refused: berth has no default registry.
struct ImageReference {
  std::string registry;    // host[:port]
  std::string repository;  // repo/name
  std::string tag;         // "latest" when neither tag nor digest is given
  std::string digest;      // "sha256:..." when given (the tag is then ignored for the pull)

  static StatusOr<ImageReference> Parse(std::string_view image);
  std::string ToString() const;
};

// Credentials for one registry: sent as Basic auth, or exchanged for a
// Bearer token when the registry's WWW-Authenticate asks for one.
struct RegistryCredentials {
  std::string username;
  std::string password;
};
// registry host[:port] -> credentials, or nullopt for anonymous access.
using CredentialsLookup =
    std::function<std::optional<RegistryCredentials>(std::string_view registry)>;

struct PulledImage {
  std::string reference;        // as asked
  std::string manifest_digest;  // the linux/amd64 image manifest's digest
  // What the reference named at the registry: the tag's digest (an index's
  // for a multi-platform image, as ECR's DescribeImages shows it), or the
  // digest asked for. ECS's imageDigest.
  std::string repo_digest;
  std::string config_digest;  // the image id (Docker's ImageID)
  ImageConfig config;
  std::vector<std::string> layer_dirs;  // unpacked layers, lowest (base) first
};

struct LayerProgress {
  std::string digest;
  uint64_t bytes_total = 0;
  uint64_t bytes_done = 0;
  bool done = false;  // verified and unpacked (or found in the cache)
};
struct PullProgress {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  int layers_done = 0;
  int layers_total = 0;
  std::vector<LayerProgress> layers;  // in manifest order (base first)
};
// Called as bytes arrive (about every MiB) and at the end of each layer, from
// the pull's threads but never two at a time; layers found in the cache count
// as done. A caller that joins a pull already in progress gets no calls.
using ProgressCallback = std::function<void(const PullProgress&)>;

// When a tag is asked of the registry again, as the ECS agent's
// ECS_IMAGE_PULL_BEHAVIOR says (an image named by digest never changes, so
// once cached it is never asked for again).
enum class PullBehavior {
  // At every pull the registry is asked what the tag names now (a manifest
  // HEAD); a changed tag is pulled (only the layers not cached yet), an
  // unchanged one comes from the cache. When the registry cannot be asked
  // or the pull fails, a cached image of the tag is used.
  kDefault,
  // As kDefault, but a registry that cannot be asked fails the pull.
  kAlways,
  // A tag pulled before comes from the cache without asking the registry.
  kOnce,
  // As kOnce (berth's agent removes no cached image, so the two differ
  // only in name: ECS's prefer-cached also keeps its automated image
  // clean-up away from the image).
  kPreferCached,
};
// "default", "always", "once", "prefer-cached".
StatusOr<PullBehavior> ParsePullBehavior(std::string_view text);
std::string_view PullBehaviorName(PullBehavior behavior);

// Thread-safe. Pulls of the same image at the same time share one download.
class ImageStore {
 public:
  struct Options {
    std::string root;         // created if absent
    int parallel_layers = 4;  // layer downloads at once per pull
    // Registries spoken to over plain http; every other one over https,
    // its certificate verified against the system's trust store
    // (/etc/ssl/certs) and ca_file. Loopback addresses (127.0.0.0/8,
    // localhost, [::1]) not listed here get https, or plain http when they
    // do not speak TLS (as Docker does); never after a certificate error.
    std::vector<std::string> plain_http_registries;
    // Extra CA certificates (PEM) trusted for https registries, their token
    // servers and blob redirects; empty: the system's trust store only.
    std::string ca_file;
    int timeout_seconds = 60;
    // syncfs() before an unpacked layer is renamed into place, so that a
    // power loss never leaves a layer that looks whole but lost its files.
    bool sync_layers = true;
    // With sync_layers: while a layer unpacks, a syncfs is started in the
    // background after each this many bytes of files (0: none), so that
    // the disk writes them while the rest unpacks instead of all at the end.
    uint64_t writeback_every_bytes = 64 << 20;
    PullBehavior pull_behavior = PullBehavior::kDefault;
    Env* env = Env::Default();  // not owned; the store's writes go through it
  };
  static StatusOr<std::unique_ptr<ImageStore>> Open(Options options);
  virtual ~ImageStore() = default;

  // The image, from the cache when its reference was pulled before and the
  // pull behaviour says it is still current (see PullBehavior), else
  // pulled: tag -> manifest (an index resolves to linux/amd64), config,
  // layers not cached yet fetched in parallel and verified against digest
  // and size while they stream (gzip, zstd or plain tar), unpacked.
  // Errors say which image and layer: "pull 127.0.0.1:8080/train:1: layer
  // sha256:ab..: digest mismatch".
  virtual StatusOr<PulledImage> Pull(const std::string& image, const CredentialsLookup& credentials,
                                     const ProgressCallback& progress) = 0;
};

// Mounts an overlay of layer_dirs (lowest first) with a writable upper
// folder at target, through env. upper and work are created when missing
// and must be on the same file system.
Status MountRootfs(Env& env, const std::vector<std::string>& layer_dirs, const std::string& upper,
                   const std::string& work, const std::string& target);
// Unmounts target (lazily when busy); not mounted is not an error.
Status UnmountRootfs(Env& env, const std::string& target);

}  // namespace berth::agent
