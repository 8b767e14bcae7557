// The client side of the OCI distribution protocol for one repository:
// manifests and blobs over plain HTTP, with Basic or Bearer token auth and
// blob redirects. Errors say what the registry said ("HTTP 404
// MANIFEST_UNKNOWN: manifest unknown").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "agent/image/image_store.h"
#include "common/status.h"
#include "http/client.h"
#include "http/message.h"

namespace berth::agent {

// The connections one thread uses, one keep-alive http::Client per host
// (the registry, and whatever its blob redirects point at). Not thread-safe:
// each thread that calls RegistryClient keeps its own.
class RegistryConnections {
 public:
  explicit RegistryConnections(int timeout_seconds) : timeout_seconds_(timeout_seconds) {}
  http::Client& For(const std::string& host, uint16_t port);

 private:
  int timeout_seconds_;
  std::map<std::pair<std::string, uint16_t>, std::unique_ptr<http::Client>> clients_;
};

// A URL split into what http::Client needs.
struct HttpUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets
  uint16_t port = 0;
  std::string target;  // path and query, at least "/"
};
StatusOr<HttpUrl> ParseHttpUrl(std::string_view url);

// Whether "host[:port]" is a loopback address (spoken to over plain http).
bool IsLoopbackRegistry(std::string_view registry);

// Thread-safe: the auth token is shared, the connections are per thread.
class RegistryClient {
 public:
  // plain_http false: the registry wants TLS, which this client does not
  // speak yet; every call then fails saying so.
  RegistryClient(ImageReference reference, CredentialsLookup credentials, bool plain_http);

  struct ManifestReply {
    std::string body;
    std::string content_type;
    std::string digest_header;  // Docker-Content-Digest, when sent
  };
  // GET /v2/<repo>/manifests/<tag or digest>.
  StatusOr<ManifestReply> GetManifest(RegistryConnections& connections,
                                      std::string_view tag_or_digest);

  // GET /v2/<repo>/blobs/<digest>, its body streamed into sink (a sink error
  // stops the download and is returned).
  Status GetBlob(RegistryConnections& connections, std::string_view digest, http::BodySink* sink);

  // A small blob (an image config) into a string, refused above max_bytes.
  StatusOr<std::string> GetSmallBlob(RegistryConnections& connections, std::string_view digest,
                                     size_t max_bytes);

 private:
  // GET target on the registry, answering auth challenges and following
  // redirects; a 2xx body goes to sink when given.
  StatusOr<http::Response> Get(RegistryConnections& connections, std::string target,
                               std::string_view accept, http::BodySink* sink);
  // Answers a 401: picks credentials for the challenge and stores the
  // Authorization header value to send from now on.
  Status Authenticate(RegistryConnections& connections, const std::string& challenge,
                      const std::string& sent_authorization);
  std::optional<RegistryCredentials> Credentials();

  const ImageReference reference_;
  const CredentialsLookup credentials_lookup_;
  const bool plain_http_;
  std::string host_;
  uint16_t port_ = 0;
  Status endpoint_status_;

  std::mutex mu_;
  std::string authorization_;  // "Basic ..." or "Bearer ..."; empty: anonymous
  bool credentials_looked_up_ = false;
  std::optional<RegistryCredentials> credentials_;
};

// A sink that keeps the body in memory, refusing more than max_bytes.
class StringSink : public http::BodySink {
 public:
  explicit StringSink(size_t max_bytes) : max_bytes_(max_bytes) {}
  Status Write(std::string_view piece) override {
    if (body.size() + piece.size() > max_bytes_) {
      return InvalidArgument("larger than " + std::to_string(max_bytes_) + " bytes");
    }
    body.append(piece);
    return Status::Ok();
  }
  std::string body;

 private:
  size_t max_bytes_;
};

}  // namespace berth::agent
