// Test helper: a fake OCI registry on berth::http::Server, with blobs and
// manifests in memory, optional Basic or Bearer auth, blob redirects, https
// (behind http::testing::TlsFront, with its own CA), and a count of every
// request it got.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/base64.h"
#include "common/crypto.h"
#include "http/server.h"
#include "http/test_tls.h"

namespace berth::agent::testing {

struct Layer {
  std::string bytes;
  std::string media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
  int64_t size_delta = 0;  // announced size = real size + delta
};

class FakeRegistry {
 public:
  enum class Auth { kNone, kBasic, kBearer };

  // tls: served over https with a certificate for 127.0.0.1 and localhost,
  // signed by a CA of its own (ca_file()).
  explicit FakeRegistry(Auth auth = Auth::kNone, bool tls = false) : auth_(auth) {
    http::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.threads = 8;
    auto server = http::Server::Start(
        options,
        [this](http::Request&& request, http::Responder respond) { respond(Handle(request)); });
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    if (tls) {
      certs_ = http::testing::TestCertificates::Make();
      ca_file_ = certs_.WriteCaFile();
      front_ = std::make_unique<http::testing::TlsFront>(certs_, server_->port());
    }
  }
  ~FakeRegistry() {
    front_.reset();
    server_->Stop();
  }

  // Where clients reach it (the https front when tls).
  std::string host() const {
    return front_ ? front_->host() : "127.0.0.1:" + std::to_string(server_->port());
  }
  std::string base_url() const { return (front_ ? "https://" : "http://") + host(); }
  // The plain http server behind the https front.
  std::string plain_host() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  const std::string& ca_file() const { return ca_file_->path; }

  std::string AddBlob(const std::string& bytes) {
    std::string digest = "sha256:" + Sha256Hex(bytes);
    std::lock_guard lock(mu_);
    blobs_[digest] = bytes;
    return digest;
  }
  // Serves other bytes under a digest (a corrupted or malicious registry).
  void ReplaceBlob(const std::string& digest, const std::string& bytes) {
    std::lock_guard lock(mu_);
    blobs_[digest] = bytes;
  }

  std::string AddManifest(const std::string& repo, const std::string& tag, const std::string& body,
                          const std::string& media_type) {
    std::string digest = "sha256:" + Sha256Hex(body);
    std::lock_guard lock(mu_);
    manifests_[repo + "@" + digest] = {body, media_type};
    if (!tag.empty()) manifests_[repo + ":" + tag] = {body, media_type};
    return digest;
  }

  static std::string Descriptor(const std::string& media_type, const std::string& digest,
                                int64_t size) {
    boost::json::object d;
    d["mediaType"] = media_type;
    d["digest"] = digest;
    d["size"] = size;
    return boost::json::serialize(d);
  }

  // An OCI image manifest with these layers and config; the manifest digest.
  std::string AddImage(
      const std::string& repo, const std::string& tag, const std::vector<Layer>& layers,
      const std::string& config =
          R"({"architecture":"amd64","os":"linux","config":{"Entrypoint":["/bin/train"],"Cmd":["--epochs","3"],"Env":["PATH=/usr/bin","A=1"],"WorkingDir":"/work","User":"1000:1000"}})") {
    std::string config_digest = AddBlob(config);
    std::string body =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
        Descriptor("application/vnd.oci.image.config.v1+json", config_digest,
                   static_cast<int64_t>(config.size())) +
        R"(,"layers":[)";
    for (size_t i = 0; i < layers.size(); ++i) {
      std::string digest = AddBlob(layers[i].bytes);
      if (i > 0) body += ",";
      body += Descriptor(layers[i].media_type, digest,
                         static_cast<int64_t>(layers[i].bytes.size()) + layers[i].size_delta);
    }
    body += "]}";
    return AddManifest(repo, tag, body, "application/vnd.oci.image.manifest.v1+json");
  }

  int requests() {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& [path, count] : requests_) n += count;
    return n;
  }
  int requests(const std::string& path) {
    std::lock_guard lock(mu_);
    return requests_[path];
  }
  // Requests of one method ("HEAD", "GET") for path.
  int requests(const std::string& method, const std::string& path) {
    std::lock_guard lock(mu_);
    return method_requests_[method + " " + path];
  }
  void ResetCounts() {
    std::lock_guard lock(mu_);
    requests_.clear();
    method_requests_.clear();
  }

  bool redirect_blobs = false;
  std::string redirect_base;  // where blob redirects point; empty: base_url()
  std::string realm_base;     // the Bearer realm's scheme and host; empty: base_url()
  int blob_delay_ms = 0;
  std::string username = "trainer";
  std::string password = "s3cret";
  std::string token = "tok-123";  // the Bearer token handed out, and the only one taken

 private:
  static http::Response Error(int status, const std::string& code, const std::string& message) {
    http::Response r;
    r.status = status;
    r.SetHeader("Content-Type", "application/json");
    r.body = R"({"errors":[{"code":")" + code + R"(","message":")" + message + R"("}]})";
    return r;
  }

  http::Response Handle(const http::Request& request) {
    std::string path(request.Path());
    {
      std::lock_guard lock(mu_);
      requests_[path]++;
      method_requests_[request.method + " " + path]++;
    }
    const std::string* authorization = request.Header("authorization");
    std::string basic = "Basic " + Base64Encode(username + ":" + password);
    if (path == "/token") {
      if (!authorization || *authorization != basic) return Error(401, "DENIED", "bad credentials");
      http::Response r;
      r.body = R"({"access_token":")" + token + R"(","expires_in":300})";
      return r;
    }
    if (path.rfind("/redirected/", 0) == 0) return Blob(path.substr(12));
    if (auth_ != Auth::kNone) {
      std::string want = auth_ == Auth::kBasic ? basic : "Bearer " + token;
      if (!authorization || *authorization != want) {
        http::Response r = Error(401, "UNAUTHORIZED", "authentication required");
        r.SetHeader("WWW-Authenticate",
                    auth_ == Auth::kBasic
                        ? std::string(R"(Basic realm="fake")")
                        : R"(Bearer realm=")" + (realm_base.empty() ? base_url() : realm_base) +
                              R"(/token",service="fake",scope="repository:train:pull")");
        return r;
      }
    }
    // /v2/<repo>/manifests/<ref> and /v2/<repo>/blobs/<digest>
    if (path.rfind("/v2/", 0) != 0) return Error(404, "NOT_FOUND", "no such path");
    size_t m = path.rfind("/manifests/");
    if (m != std::string::npos) {
      std::string repo = path.substr(4, m - 4);
      std::string ref = path.substr(m + 11);
      std::lock_guard lock(mu_);
      auto it = manifests_.find(repo + (ref.rfind("sha256:", 0) == 0 ? "@" : ":") + ref);
      if (it == manifests_.end()) return Error(404, "MANIFEST_UNKNOWN", "manifest unknown");
      http::Response r;
      r.SetHeader("Content-Type", it->second.second);
      r.SetHeader("Docker-Content-Digest", "sha256:" + Sha256Hex(it->second.first));
      r.body = it->second.first;
      return r;
    }
    size_t b = path.rfind("/blobs/");
    if (b == std::string::npos) return Error(404, "NOT_FOUND", "no such path");
    std::string digest = path.substr(b + 7);
    if (redirect_blobs) {
      http::Response r;
      r.status = 307;
      r.SetHeader("Location",
                  (redirect_base.empty() ? base_url() : redirect_base) + "/redirected/" + digest);
      return r;
    }
    return Blob(digest);
  }

  http::Response Blob(const std::string& digest) {
    if (blob_delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(blob_delay_ms));
    std::lock_guard lock(mu_);
    auto it = blobs_.find(digest);
    if (it == blobs_.end()) return Error(404, "BLOB_UNKNOWN", "blob unknown");
    http::Response r;
    r.SetHeader("Content-Type", "application/octet-stream");
    r.body = it->second;
    return r;
  }

  Auth auth_;
  std::unique_ptr<http::Server> server_;
  http::testing::TestCertificates certs_;
  std::unique_ptr<http::testing::TestCertificates::CaFile> ca_file_;
  std::unique_ptr<http::testing::TlsFront> front_;
  std::mutex mu_;
  std::map<std::string, std::string> blobs_;
  std::map<std::string, std::pair<std::string, std::string>> manifests_;
  std::map<std::string, int> requests_;
  std::map<std::string, int> method_requests_;
};

}  // namespace berth::agent::testing
