// A small blocking client for the OCI distribution API (/v2/), used by
// berth_registry_load to drive berth's registry and the reference registry
// with exactly the same code.
//
// It streams, through berth's http::Client (the client the agent pulls
// with): a request body is sent from memory or from a range of a file read in
// 1 MiB pieces as it goes out, and a blob's response body is handed to a
// callback piece by piece (and hashed) as it arrives, so a layer of any size
// costs the client a few MiB of memory.
//
// Not thread-safe: one RegistryClient (one keep-alive connection) per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "http/message.h"

namespace berth::bench {

// A request body: bytes in memory, or [offset, offset + length) of an open
// file (fd >= 0), read as it is sent. The caller keeps either alive.
struct Body {
  std::string_view memory;
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;

  uint64_t size() const { return fd >= 0 ? length : memory.size(); }
};

struct Reply {
  int status = 0;
  http::Headers headers;  // names lowercased
  std::string body;       // empty when the body went to an on_body callback
  uint64_t body_bytes = 0;

  const std::string* Header(std::string_view lowercase_name) const;
};

// One keep-alive HTTP/1.1 connection (an http::Client), opened on first use
// and reopened when the server closed it. Each I/O step (connect, one piece
// written, one piece read) must finish within the timeout.
class Connection {
 public:
  Connection(std::string host, uint16_t port, int timeout_seconds);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends one request (Host and Content-Length are added) and reads the
  // response. With on_body set, a 2xx response's body goes there piece by
  // piece instead of into Reply::body; other bodies (errors) are collected.
  // A request on a reused connection that the server had closed is sent once
  // more on a new one.
  StatusOr<Reply> Exchange(std::string_view method, std::string_view target,
                           const http::Headers& headers, const Body& body,
                           const std::function<void(std::string_view)>& on_body = nullptr);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The registry calls a pushing and pulling client makes, each checked for the
// status the distribution spec requires; errors say which call failed and
// carry the start of the registry's error body.
class RegistryClient {
 public:
  // authorization: the Authorization header value sent on every request
  // ("Basic ..."), or empty for a registry without authentication.
  RegistryClient(std::string host, uint16_t port, std::string authorization, int timeout_seconds);

  // POST /v2/<repo>/blobs/uploads/, then PUT <location>?digest= with the
  // whole body: the "monolithic" upload, two requests per blob.
  Status PushBlob(std::string_view repository, std::string_view digest, const Body& body);

  // POST, one PATCH that streams the whole body, then PUT ?digest= with no
  // body: how docker and containerd push layers.
  Status PushBlobStreamed(std::string_view repository, std::string_view digest, const Body& body);

  // PUT /v2/<repo>/manifests/<reference>.
  Status PutManifest(std::string_view repository, std::string_view reference,
                     std::string_view media_type, std::string_view manifest);

  // GET /v2/<repo>/manifests/<reference>, accepting OCI and Docker manifests.
  // With expected_digest set, fails unless the body hashes to it.
  StatusOr<std::string> GetManifest(std::string_view repository, std::string_view reference,
                                    std::string_view expected_digest = {});

  // GET /v2/<repo>/blobs/<digest>, hashing the body as it arrives; fails
  // unless it is size bytes long and hashes to digest. Follows a redirect to
  // the same server.
  Status PullBlob(std::string_view repository, std::string_view digest, uint64_t size);

 private:
  http::Headers WithAuth(http::Headers headers) const;
  // Starts an upload; returns the target of its Location.
  StatusOr<std::string> StartUpload(std::string_view repository);

  Connection connection_;
  std::string authorization_;
};

// "sha256:<hex>" as a query value, percent-encoded as Go's url.Values (and so
// docker) sends it: "sha256%3A<hex>".
std::string EncodeDigestQuery(std::string_view digest);

// The path-and-query part of a Location header, which may be an absolute URL
// ("http://host:port/v2/...") or already a path.
std::string LocationTarget(std::string_view location);

}  // namespace berth::bench
