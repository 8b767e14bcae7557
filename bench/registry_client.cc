#include "registry_client.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "common/crypto.h"
#include "http/client.h"

namespace berth::bench {

namespace {

// Request bodies from files are read and sent in pieces this large: the
// per-piece cost vanishes against the bytes, and the client stays far from
// being the bottleneck.
constexpr size_t kPieceBytes = 1 << 20;
// Shown of an error body.
constexpr size_t kErrorBodyShown = 300;

constexpr std::string_view kManifestAccept =
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

Status Unexpected(std::string_view call, const Reply& reply) {
  std::string message(call);
  message += ": HTTP ";
  message += std::to_string(reply.status);
  if (!reply.body.empty()) {
    message += ' ';
    message += reply.body.substr(0, kErrorBodyShown);
  }
  return Unavailable(std::move(message));
}

}  // namespace

const std::string* Reply::Header(std::string_view lowercase_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lowercase_name) return &value;
  }
  return nullptr;
}

namespace {

// A file range read into one reusable buffer as the client sends it.
class FileRangeSource : public http::BodySource {
 public:
  FileRangeSource(const Body& body, std::vector<char>& buffer) : body_(body), buffer_(buffer) {}

  StatusOr<std::string_view> Next() override {
    if (sent_ == body_.length) return std::string_view();
    size_t n = static_cast<size_t>(std::min<uint64_t>(buffer_.size(), body_.length - sent_));
    size_t done = 0;
    while (done < n) {
      ssize_t got = ::pread(body_.fd, buffer_.data() + done, n - done,
                            static_cast<off_t>(body_.offset + sent_ + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return Internal(std::string("read request body: ") + std::strerror(errno));
      if (got == 0) return Internal("read request body: file shorter than the body");
      done += static_cast<size_t>(got);
    }
    sent_ += n;
    return std::string_view(buffer_.data(), n);
  }

 private:
  const Body& body_;
  std::vector<char>& buffer_;
  uint64_t sent_ = 0;
};

// Hands a response body to a callback and counts it.
class CallbackSink : public http::BodySink {
 public:
  explicit CallbackSink(const std::function<void(std::string_view)>& on_body) : on_body_(on_body) {}

  Status Write(std::string_view piece) override {
    bytes_ += piece.size();
    on_body_(piece);
    return Status::Ok();
  }
  uint64_t bytes() const { return bytes_; }

 private:
  const std::function<void(std::string_view)>& on_body_;
  uint64_t bytes_ = 0;
};

}  // namespace

// Over berth's own client (src/http/client.h), so that the benchmark also
// measures the code the agent pulls images with; the bench adds only the
// file ranges and the callback.
class Connection::Impl {
 public:
  Impl(std::string host, uint16_t port, int timeout_seconds)
      : client_(http::Client::Create(std::move(host), port, timeout_seconds)),
        piece_(kPieceBytes) {}

  StatusOr<Reply> Exchange(std::string_view method, std::string_view target,
                           const http::Headers& headers, const Body& body,
                           const std::function<void(std::string_view)>& on_body) {
    http::Request request;
    request.method = std::string(method);
    request.target = std::string(target);
    request.headers = headers;
    request.headers.emplace_back("User-Agent", "berth_registry_load");
    std::optional<CallbackSink> sink;
    if (on_body) sink.emplace(on_body);
    http::BodySink* response_sink = sink ? &*sink : nullptr;

    StatusOr<http::Response> response = Unavailable("not sent");
    if (body.fd >= 0) {
      FileRangeSource source(body, piece_);
      response = client_->Do(request, source, body.length, response_sink);
    } else {
      // Small bodies go in one piece, which the client may send again on a
      // new connection when the kept-alive one turns out closed.
      request.body = std::string(body.memory);
      response = client_->Do(request, response_sink);
    }
    if (!response.ok()) {
      return response.status().WithContext(std::string(method) + " " + std::string(target));
    }
    Reply reply;
    reply.status = response->status;
    reply.headers = std::move(response->headers);
    reply.body_bytes = sink ? sink->bytes() : response->body.size();
    reply.body = std::move(response->body);
    if (sink && reply.body_bytes == 0) reply.body_bytes = reply.body.size();  // an error document
    return reply;
  }

 private:
  std::unique_ptr<http::Client> client_;
  std::vector<char> piece_;
};

Connection::Connection(std::string host, uint16_t port, int timeout_seconds)
    : impl_(std::make_unique<Impl>(std::move(host), port, timeout_seconds)) {}

Connection::~Connection() = default;

StatusOr<Reply> Connection::Exchange(std::string_view method, std::string_view target,
                                     const http::Headers& headers, const Body& body,
                                     const std::function<void(std::string_view)>& on_body) {
  return impl_->Exchange(method, target, headers, body, on_body);
}

std::string EncodeDigestQuery(std::string_view digest) {
  std::string out;
  for (char c : digest) {
    if (c == ':') {
      out += "%3A";
    } else {
      out += c;
    }
  }
  return out;
}

std::string LocationTarget(std::string_view location) {
  size_t scheme = location.find("://");
  if (scheme == std::string_view::npos) return std::string(location);
  size_t path = location.find('/', scheme + 3);
  if (path == std::string_view::npos) return "/";
  return std::string(location.substr(path));
}

RegistryClient::RegistryClient(std::string host, uint16_t port, std::string authorization,
                               int timeout_seconds)
    : connection_(std::move(host), port, timeout_seconds),
      authorization_(std::move(authorization)) {}

http::Headers RegistryClient::WithAuth(http::Headers headers) const {
  if (!authorization_.empty()) headers.emplace_back("Authorization", authorization_);
  return headers;
}

StatusOr<std::string> RegistryClient::StartUpload(std::string_view repository) {
  std::string target = "/v2/" + std::string(repository) + "/blobs/uploads/";
  auto reply = connection_.Exchange("POST", target, WithAuth({}), Body{});
  if (!reply.ok()) return reply.status();
  if (reply->status != 202) return Unexpected("POST " + target, *reply);
  const std::string* location = reply->Header("location");
  if (location == nullptr || location->empty()) {
    return Unavailable("POST " + target + ": 202 without Location");
  }
  return LocationTarget(*location);
}

namespace {

std::string WithDigest(std::string target, std::string_view digest) {
  target += target.find('?') == std::string::npos ? '?' : '&';
  target += "digest=";
  target += EncodeDigestQuery(digest);
  return target;
}

}  // namespace

Status RegistryClient::PushBlob(std::string_view repository, std::string_view digest,
                                const Body& body) {
  auto upload = StartUpload(repository);
  if (!upload.ok()) return upload.status();
  std::string target = WithDigest(std::move(*upload), digest);
  auto reply = connection_.Exchange("PUT", target,
                                    WithAuth({{"Content-Type", "application/octet-stream"}}), body);
  if (!reply.ok()) return reply.status();
  if (reply->status != 201) return Unexpected("PUT blob " + std::string(digest), *reply);
  return Status::Ok();
}

Status RegistryClient::PushBlobStreamed(std::string_view repository, std::string_view digest,
                                        const Body& body) {
  auto upload = StartUpload(repository);
  if (!upload.ok()) return upload.status();
  auto patched = connection_.Exchange(
      "PATCH", *upload, WithAuth({{"Content-Type", "application/octet-stream"}}), body);
  if (!patched.ok()) return patched.status();
  if (patched->status != 202) return Unexpected("PATCH blob " + std::string(digest), *patched);
  // The upload's URL may change with every step (the reference registry
  // puts its state in it).
  std::string next = *upload;
  if (const std::string* location = patched->Header("location"); location && !location->empty()) {
    next = LocationTarget(*location);
  }
  auto reply =
      connection_.Exchange("PUT", WithDigest(std::move(next), digest), WithAuth({}), Body{});
  if (!reply.ok()) return reply.status();
  if (reply->status != 201) return Unexpected("PUT blob " + std::string(digest), *reply);
  return Status::Ok();
}

Status RegistryClient::PutManifest(std::string_view repository, std::string_view reference,
                                   std::string_view media_type, std::string_view manifest) {
  std::string target = "/v2/" + std::string(repository) + "/manifests/" + std::string(reference);
  Body body;
  body.memory = manifest;
  auto reply = connection_.Exchange("PUT", target,
                                    WithAuth({{"Content-Type", std::string(media_type)}}), body);
  if (!reply.ok()) return reply.status();
  if (reply->status != 201) return Unexpected("PUT " + target, *reply);
  return Status::Ok();
}

StatusOr<std::string> RegistryClient::GetManifest(std::string_view repository,
                                                  std::string_view reference,
                                                  std::string_view expected_digest) {
  std::string target = "/v2/" + std::string(repository) + "/manifests/" + std::string(reference);
  auto reply = connection_.Exchange("GET", target,
                                    WithAuth({{"Accept", std::string(kManifestAccept)}}), Body{});
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) return Unexpected("GET " + target, *reply);
  if (!expected_digest.empty() && "sha256:" + Sha256Hex(reply->body) != expected_digest) {
    return Unavailable("GET " + target + ": manifest does not hash to " +
                       std::string(expected_digest));
  }
  return std::move(reply->body);
}

Status RegistryClient::PullBlob(std::string_view repository, std::string_view digest,
                                uint64_t size) {
  std::string target = "/v2/" + std::string(repository) + "/blobs/" + std::string(digest);
  for (int redirects = 0;; ++redirects) {
    Sha256Hasher hasher;
    auto reply = connection_.Exchange("GET", target, WithAuth({}), Body{},
                                      [&hasher](std::string_view piece) { hasher.Update(piece); });
    if (!reply.ok()) return reply.status();
    if (IsRedirect(reply->status) && redirects < 3) {
      const std::string* location = reply->Header("location");
      if (location == nullptr) return Unexpected("GET blob " + std::string(digest), *reply);
      target = LocationTarget(*location);
      continue;
    }
    if (reply->status != 200) return Unexpected("GET blob " + std::string(digest), *reply);
    if (reply->body_bytes != size) {
      return Unavailable("GET blob " + std::string(digest) + ": " +
                         std::to_string(reply->body_bytes) + " bytes, want " +
                         std::to_string(size));
    }
    if ("sha256:" + hasher.FinishHex() != digest) {
      return Unavailable("GET blob " + std::string(digest) + ": content does not hash to it");
    }
    return Status::Ok();
  }
}

}  // namespace berth::bench
