// The client side of the OCI distribution protocol for one repository:
// manifests and blobs over https (or plain http where configured), with
// Basic or Bearer token auth and blob redirects. Errors say what the
// registry said ("HTTP 404 MANIFEST_UNKNOWN: manifest unknown").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "agent/image/image_store.h"
#include "agent/image/registry_memory.h"
#include "common/status.h"
#include "http/client.h"
#include "http/message.h"

namespace berth::agent {

// How a connection is spoken.
enum class Transport {
  kHttp,   // plain http
  kHttps,  // TLS, the certificate verified (system trust store + ca_file)
  // TLS, or plain http when the server turns out not to speak TLS (loopback
  // registries, as Docker treats them); never after a certificate error.
  kHttpsOrHttp,
};

// The connections one thread uses, one keep-alive http::Client per host and
// transport (the registry, its token server, whatever its blob redirects
// point at). Not thread-safe: each thread that calls RegistryClient keeps
// its own.
class RegistryConnections {
 public:
  // ca_file: extra CA certificates trusted for https (PEM); may be empty.
  explicit RegistryConnections(int timeout_seconds, std::string ca_file = "")
      : timeout_seconds_(timeout_seconds), ca_file_(std::move(ca_file)) {}
  http::Client& For(Transport transport, const std::string& host, uint16_t port);
  // After a kHttpsOrHttp connection showed which one the server speaks:
  // keeps it under that transport.
  void Settle(const std::string& host, uint16_t port, Transport settled);

 private:
  using Key = std::tuple<Transport, std::string, uint16_t>;
  int timeout_seconds_;
  std::string ca_file_;
  std::map<Key, std::unique_ptr<http::Client>> clients_;
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
  // transport: how the registry is spoken to. A token realm or a redirect
  // may go to https anywhere, but to plain http only from a registry spoken
  // to over plain http: a pull never downgrades. memory (may be null; not
  // owned, outlives the client): what earlier pulls learned about the
  // registry, used from the first request on and updated with what this
  // client learns (registry_memory.h).
  RegistryClient(ImageReference reference, CredentialsLookup credentials, Transport transport,
                 RegistryMemory* memory = nullptr);

  struct ManifestReply {
    std::string body;
    std::string content_type;
    std::string digest_header;  // Docker-Content-Digest, when sent
  };
  // GET /v2/<repo>/manifests/<tag or digest>.
  StatusOr<ManifestReply> GetManifest(RegistryConnections& connections,
                                      std::string_view tag_or_digest);

  // What a tag names now: HEAD /v2/<repo>/manifests/<tag>, its
  // Docker-Content-Digest (the index's digest for a multi-platform image).
  // A registry that sends no digest on HEAD is asked with a GET, whose body
  // is hashed.
  StatusOr<std::string> ResolveTag(RegistryConnections& connections, std::string_view tag);

  // GET /v2/<repo>/blobs/<digest>, its body streamed into sink (a sink error
  // stops the download and is returned).
  Status GetBlob(RegistryConnections& connections, std::string_view digest, http::BodySink* sink);

  // A small blob (an image config) into a string, refused above max_bytes.
  StatusOr<std::string> GetSmallBlob(RegistryConnections& connections, std::string_view digest,
                                     size_t max_bytes);

 private:
  // GET (or HEAD) target on the registry, answering auth challenges and
  // following redirects; a 2xx body goes to sink when given.
  StatusOr<http::Response> Get(RegistryConnections& connections, std::string target,
                               std::string_view accept, http::BodySink* sink,
                               std::string_view method = "GET");
  // Answers a 401: picks credentials for the challenge and stores the
  // Authorization header value to send from now on.
  Status Authenticate(RegistryConnections& connections, const std::string& challenge,
                      const std::string& sent_authorization);
  std::optional<RegistryCredentials> Credentials();
  // Called with mu_ held, before the first request: the Authorization an
  // earlier pull found to work for this registry, repository and
  // credentials, if any.
  void RecallAuthorization();
  // After a 401 to `sent`: true when that was the remembered authorization,
  // which is then forgotten (here and in the memory), so the challenge is
  // answered afresh.
  bool ForgetRememberedAuthorization(const std::string& sent);
  // The registry's transport: kHttpsOrHttp until the first reply settles it.
  Transport RegistryTransport();
  // After a request failed: true when the transport came from the memory,
  // which then forgets it; the registry is kHttpsOrHttp again (probed).
  bool ForgetRememberedTransport();
  // Whether a URL with this scheme may be used: https always, http only
  // when the registry is spoken to over http.
  Status AllowScheme(const std::string& scheme, const std::string& what);

  const ImageReference reference_;
  const CredentialsLookup credentials_lookup_;
  std::string host_;
  uint16_t port_ = 0;
  Status endpoint_status_;

  RegistryMemory* const memory_;

  std::mutex mu_;
  Transport transport_;  // guarded by mu_ (settled once when kHttpsOrHttp)
  // transport_ was settled by the memory rather than by a reply (guarded by mu_).
  bool transport_remembered_ = false;
  bool authorization_recalled_ = false;   // RecallAuthorization ran
  std::string remembered_authorization_;  // what it recalled; empty: nothing
  std::string authorization_;             // "Basic ..." or "Bearer ..."; empty: anonymous
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
