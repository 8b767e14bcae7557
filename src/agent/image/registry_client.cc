#include "agent/image/registry_client.h"

#include <arpa/inet.h>

#include <boost/json.hpp>
#include <cctype>
#include <vector>

#include "agent/image/image_manifest.h"
#include "common/base64.h"
#include "common/crypto.h"
#include "common/log.h"
#include "http/ascii.h"
#include "http/endpoint.h"
#include "http/query_string.h"

namespace berth::agent {
namespace json = boost::json;
namespace {

constexpr size_t kMaxManifestBytes = 4 << 20;  // the OCI spec's recommended limit
constexpr size_t kMaxTokenBytes = 1 << 20;
constexpr int kMaxRedirects = 5;
// A token's lifetime when its server does not say (Docker's token spec).
constexpr int64_t kDefaultTokenSeconds = 60;

// "Bearer realm="x",service="y",scope="a,b"" -> scheme and parameters.
struct Challenge {
  std::string scheme;  // lowercase
  std::map<std::string, std::string> params;
};
Challenge ParseChallenge(std::string_view header) {
  Challenge c;
  size_t i = 0;
  while (i < header.size() && header[i] == ' ') ++i;
  size_t start = i;
  while (i < header.size() && header[i] != ' ') ++i;
  c.scheme = http::ToLower(header.substr(start, i - start));
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ',')) ++i;
    size_t eq = header.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key = http::ToLower(header.substr(i, eq - i));
    i = eq + 1;
    std::string value;
    if (i < header.size() && header[i] == '"') {
      for (++i; i < header.size() && header[i] != '"'; ++i) {
        if (header[i] == '\\' && i + 1 < header.size()) ++i;
        value += header[i];
      }
      ++i;  // closing quote
    } else {
      size_t end = header.find(',', i);
      if (end == std::string_view::npos) end = header.size();
      value = std::string(header.substr(i, end - i));
      i = end;
    }
    c.params[key] = value;
  }
  return c;
}

// "HTTP 404 MANIFEST_UNKNOWN: manifest unknown" from an OCI error document.
std::string DescribeError(const http::Response& r) {
  std::string out = "HTTP " + std::to_string(r.status);
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    if (const json::value* errors = v.as_object().if_contains("errors");
        errors && errors->is_array() && !errors->as_array().empty() &&
        errors->as_array()[0].is_object()) {
      const json::object& e = errors->as_array()[0].as_object();
      if (const json::value* code = e.if_contains("code"); code && code->is_string()) {
        out += " " + std::string(code->as_string());
      }
      if (const json::value* msg = e.if_contains("message"); msg && msg->is_string()) {
        out += ": " + std::string(msg->as_string());
      }
      return out;
    }
  }
  if (!r.body.empty() && r.body.size() < 200) out += ": " + r.body;
  return out;
}

Status ErrorFor(const http::Response& r, const std::string& what) {
  std::string message = what + ": " + DescribeError(r);
  switch (r.status) {
    case 401:
      return {StatusCode::kUnauthenticated, message};
    case 403:
      return {StatusCode::kPermissionDenied, message};
    case 404:
      return NotFound(message);
    default:
      return Unavailable(message);
  }
}

}  // namespace

http::Client& RegistryConnections::For(Transport transport, const std::string& host,
                                       uint16_t port) {
  auto& client = clients_[{transport, host, port}];
  if (!client) {
    http::TlsOptions tls;
    tls.enabled = transport != Transport::kHttp;
    tls.fall_back_to_plain = transport == Transport::kHttpsOrHttp;
    tls.ca_file = ca_file_;
    client = http::Client::Create(host, port, timeout_seconds_, std::move(tls));
  }
  return *client;
}

void RegistryConnections::Settle(const std::string& host, uint16_t port, Transport settled) {
  auto it = clients_.find({Transport::kHttpsOrHttp, host, port});
  if (it == clients_.end()) return;
  auto& target = clients_[{settled, host, port}];
  if (!target) target = std::move(it->second);
  clients_.erase(it);
}

namespace {
const char* SchemeOf(Transport transport) {
  return transport == Transport::kHttp ? "http://" : "https://";
}
}  // namespace

StatusOr<HttpUrl> ParseHttpUrl(std::string_view url) {
  HttpUrl out;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return InvalidArgument("not an absolute URL");
  out.scheme = http::ToLower(url.substr(0, scheme_end));
  if (out.scheme != "http" && out.scheme != "https") {
    return InvalidArgument("unsupported URL scheme \"" + out.scheme + "\"");
  }
  std::string_view rest = url.substr(scheme_end + 3);
  size_t path = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path);
  out.target = path == std::string_view::npos ? "/" : std::string(rest.substr(path));
  if (out.target.front() == '?') out.target = "/" + out.target;
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);  // userinfo is never used
  }
  bool has_port = !authority.empty() && authority.back() != ']' &&
                  authority.find(':', authority.rfind(']') == std::string_view::npos
                                          ? 0
                                          : authority.rfind(']')) != std::string_view::npos;
  if (has_port) {
    auto split = http::SplitHostPort(authority);
    if (!split.ok()) return split.status();
    out.host = split->first;
    out.port = split->second;
  } else {
    out.host = std::string(authority);
    if (out.host.size() >= 2 && out.host.front() == '[') {
      out.host = out.host.substr(1, out.host.size() - 2);
    }
    out.port = out.scheme == "https" ? 443 : 80;
  }
  if (out.host.empty()) return InvalidArgument("URL has no host");
  return out;
}

bool IsLoopbackRegistry(std::string_view registry) {
  std::string host(registry);
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string::npos) {
    host = host.substr(0, colon);
  }
  if (http::ToLower(host) == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

RegistryClient::RegistryClient(ImageReference reference, CredentialsLookup credentials,
                               Transport transport, RegistryMemory* memory)
    : reference_(std::move(reference)),
      credentials_lookup_(std::move(credentials)),
      memory_(memory),
      transport_(transport) {
  auto url = ParseHttpUrl(SchemeOf(transport_) + reference_.registry);
  if (!url.ok()) {
    endpoint_status_ = url.status().WithContext("registry " + reference_.registry);
  } else {
    host_ = url->host;
    port_ = url->port;
  }
  // A loopback registry found speaking TLS (or not) before is not probed again.
  if (transport_ == Transport::kHttpsOrHttp && memory_ != nullptr) {
    if (std::optional<bool> tls = memory_->SpeaksTls(reference_.registry)) {
      transport_ = *tls ? Transport::kHttps : Transport::kHttp;
      transport_remembered_ = true;
    }
  }
}

Transport RegistryClient::RegistryTransport() {
  std::lock_guard lock(mu_);
  return transport_;
}

bool RegistryClient::ForgetRememberedTransport() {
  std::lock_guard lock(mu_);
  if (!transport_remembered_) return false;
  transport_remembered_ = false;
  transport_ = Transport::kHttpsOrHttp;
  memory_->ForgetTransport(reference_.registry);
  return true;
}

Status RegistryClient::AllowScheme(const std::string& scheme, const std::string& what) {
  if (scheme == "https") return Status::Ok();
  Transport transport = RegistryTransport();
  if (transport == Transport::kHttp) return Status::Ok();
  return FailedPrecondition(what + " is plain http, and registry " + reference_.registry +
                            " is spoken to over https: refusing to downgrade");
}

std::optional<RegistryCredentials> RegistryClient::Credentials() {
  // Called with mu_ held. Looked up once per pull, and only when the
  // registry asks: an anonymous pull never calls out for credentials.
  if (!credentials_looked_up_) {
    credentials_looked_up_ = true;
    if (credentials_lookup_) credentials_ = credentials_lookup_(reference_.registry);
  }
  return credentials_;
}

void RegistryClient::RecallAuthorization() {
  if (authorization_recalled_) return;
  authorization_recalled_ = true;
  if (memory_ == nullptr || !authorization_.empty()) return;
  // Credentials are looked up only for a registry that asked for them before.
  switch (memory_->AuthScheme(reference_.registry)) {
    case RegistryMemory::Scheme::kUnknown:
      return;
    case RegistryMemory::Scheme::kBasic:
      if (auto credentials = Credentials()) {
        authorization_ =
            "Basic " + Base64Encode(credentials->username + ":" + credentials->password);
      }
      break;
    case RegistryMemory::Scheme::kBearer:
      if (auto token = memory_->Token(reference_.registry, reference_.repository,
                                      RegistryMemory::CredentialsKey(Credentials()))) {
        authorization_ = std::move(*token);
      }
      break;
  }
  remembered_authorization_ = authorization_;
}

bool RegistryClient::ForgetRememberedAuthorization(const std::string& sent) {
  std::lock_guard lock(mu_);
  if (sent.empty() || sent != remembered_authorization_) return false;
  remembered_authorization_.clear();
  if (authorization_ == sent) authorization_.clear();
  memory_->ForgetAuth(reference_.registry);
  return true;
}

Status RegistryClient::Authenticate(RegistryConnections& connections, const std::string& header,
                                    const std::string& sent_authorization) {
  std::lock_guard lock(mu_);
  // Another thread answered the same challenge meanwhile: use its answer.
  if (authorization_ != sent_authorization) return Status::Ok();
  Challenge challenge = ParseChallenge(header);
  auto credentials = Credentials();
  if (challenge.scheme == "basic") {
    if (!credentials) {
      return Status(StatusCode::kUnauthenticated,
                    "registry " + reference_.registry +
                        " asks for credentials (Basic auth) and none are configured for it");
    }
    if (!sent_authorization.empty()) {
      return Status(StatusCode::kUnauthenticated, "registry " + reference_.registry +
                                                      " refused the credentials of user \"" +
                                                      credentials->username + "\"");
    }
    authorization_ = "Basic " + Base64Encode(credentials->username + ":" + credentials->password);
    if (memory_ != nullptr) memory_->RememberBasic(reference_.registry);
    return Status::Ok();
  }
  if (challenge.scheme != "bearer") {
    return Status(StatusCode::kUnauthenticated, "registry " + reference_.registry +
                                                    " asks for unsupported authentication \"" +
                                                    header + "\"");
  }
  // A Bearer challenge after a token was sent means it expired: get a fresh one.
  std::string realm = challenge.params["realm"];
  if (realm.empty()) {
    return Status(StatusCode::kUnauthenticated,
                  "registry " + reference_.registry + " asks for a Bearer token without a realm");
  }
  auto url = ParseHttpUrl(realm);
  if (!url.ok()) return url.status().WithContext("token realm " + realm);
  // Called with mu_ held: the registry's transport is settled by now (a
  // reply came back), so it is read directly.
  if (url->scheme != "https" && transport_ != Transport::kHttp) {
    return FailedPrecondition("token realm " + realm + " is plain http, and registry " +
                              reference_.registry +
                              " is spoken to over https: refusing to send credentials over http");
  }
  Transport token_transport = url->scheme == "https" ? Transport::kHttps : Transport::kHttp;
  std::string scope = challenge.params.count("scope")
                          ? challenge.params["scope"]
                          : "repository:" + reference_.repository + ":pull";
  std::string query;
  if (challenge.params.count("service"))
    query += "service=" + http::EncodeQueryValue(challenge.params["service"]);
  query += (query.empty() ? "" : "&") + ("scope=" + http::EncodeQueryValue(scope));
  url->target += (url->target.find('?') == std::string::npos ? "?" : "&") + query;

  http::Request request;
  request.method = "GET";
  request.target = url->target;
  request.headers.emplace_back("User-Agent", "berth-agent");
  if (credentials) {
    request.headers.emplace_back(
        "Authorization",
        "Basic " + Base64Encode(credentials->username + ":" + credentials->password));
  }
  StringSink sink(kMaxTokenBytes);
  auto reply = connections.For(token_transport, url->host, url->port).Do(request, &sink);
  if (!reply.ok()) return reply.status().WithContext("get token from " + realm);
  if (reply->status / 100 != 2) {
    Status error = ErrorFor(*reply, "get token from " + realm);
    if (reply->status == 401 || reply->status == 403) {
      return Status(
          StatusCode::kUnauthenticated,
          error.message() +
              (credentials ? " (credentials of user \"" + credentials->username + "\" refused)"
                           : " (no credentials configured for " + reference_.registry + ")"));
    }
    return error;
  }
  json::error_code ec;
  json::value v = json::parse(sink.body, ec);
  std::string token;
  int64_t expires_in = kDefaultTokenSeconds;
  if (!ec && v.is_object()) {
    for (const char* key : {"token", "access_token"}) {
      if (const json::value* t = v.as_object().if_contains(key); t && t->is_string()) {
        token = std::string(t->as_string());
        if (!token.empty()) break;
      }
    }
    if (const json::value* e = v.as_object().if_contains("expires_in"); e && e->is_int64()) {
      expires_in = e->as_int64();
    }
  }
  if (token.empty()) {
    return Unavailable("token server " + realm + " answered without a token");
  }
  authorization_ = "Bearer " + token;
  if (memory_ != nullptr) {
    memory_->RememberToken(reference_.registry, reference_.repository,
                           RegistryMemory::CredentialsKey(credentials), token, expires_in);
  }
  return Status::Ok();
}

StatusOr<http::Response> RegistryClient::Get(RegistryConnections& connections, std::string target,
                                             std::string_view accept, http::BodySink* sink,
                                             std::string_view method) {
  BERTH_RETURN_IF_ERROR(endpoint_status_);
  std::string host = host_;
  uint16_t port = port_;
  Transport transport = RegistryTransport();
  bool on_registry = true;  // credentials go to the registry only, never to a redirect target
  bool answered_challenge = false;
  for (int hop = 0; hop <= kMaxRedirects;) {
    http::Request request;
    request.method = std::string(method);
    request.target = target;
    request.headers.emplace_back("User-Agent", "berth-agent");
    if (!accept.empty()) request.headers.emplace_back("Accept", std::string(accept));
    std::string authorization;
    if (on_registry) {
      std::lock_guard lock(mu_);
      RecallAuthorization();
      authorization = authorization_;
    }
    if (!authorization.empty()) request.headers.emplace_back("Authorization", authorization);

    std::string where =
        std::string(method) + " " + SchemeOf(transport) + http::FormatEndpoint(host, port) + target;
    http::Client& client = connections.For(transport, host, port);
    auto reply = client.Do(request, sink);
    if (!reply.ok()) {
      // A remembered transport that fails is probed again: here when the
      // request wrote nothing anywhere yet (no body sink), else next pull.
      if (on_registry && ForgetRememberedTransport() && sink == nullptr) {
        transport = Transport::kHttpsOrHttp;
        continue;
      }
      return reply.status().WithContext(where);
    }
    if (transport == Transport::kHttpsOrHttp) {
      // The first reply shows whether this (loopback) registry speaks TLS.
      transport = client.tls() ? Transport::kHttps : Transport::kHttp;
      connections.Settle(host, port, transport);
      if (memory_ != nullptr) memory_->RememberSpeaksTls(reference_.registry, client.tls());
      std::lock_guard lock(mu_);
      transport_ = transport;
    }
    if (reply->status == 401 && on_registry && ForgetRememberedAuthorization(authorization)) {
      // What worked for an earlier pull does not now (an expired or revoked
      // token, changed credentials): answer the challenge as if nothing had
      // been sent.
      authorization.clear();
    }
    if (reply->status == 401 && on_registry && !answered_challenge) {
      const std::string* challenge = reply->Header("www-authenticate");
      if (!challenge) return ErrorFor(*reply, where);
      BERTH_RETURN_IF_ERROR(Authenticate(connections, *challenge, authorization));
      answered_challenge = true;
      continue;
    }
    if (reply->status == 401 && on_registry) {
      return Status(
          StatusCode::kUnauthenticated,
          "registry " + reference_.registry + " refused the credentials: " + DescribeError(*reply));
    }
    bool redirect = reply->status == 301 || reply->status == 302 || reply->status == 303 ||
                    reply->status == 307 || reply->status == 308;
    if (!redirect) return reply;
    const std::string* location = reply->Header("location");
    if (!location || location->empty()) {
      return Unavailable(where + ": redirect without a Location");
    }
    if (location->front() == '/') {
      target = *location;
    } else {
      auto url = ParseHttpUrl(*location);
      if (!url.ok()) return url.status().WithContext(where + ": redirect to " + *location);
      BERTH_RETURN_IF_ERROR(AllowScheme(url->scheme, where + ": redirect to " + *location));
      Transport next = url->scheme == "https" ? Transport::kHttps : Transport::kHttp;
      on_registry = url->host == host_ && url->port == port_ && next == RegistryTransport();
      transport = next;
      host = url->host;
      port = url->port;
      target = url->target;
    }
    ++hop;
  }
  return Unavailable("GET " + target + ": more than " + std::to_string(kMaxRedirects) +
                     " redirects");
}

StatusOr<RegistryClient::ManifestReply> RegistryClient::GetManifest(
    RegistryConnections& connections, std::string_view reference) {
  std::string what = "manifest " + std::string(reference);
  StringSink sink(kMaxManifestBytes);
  auto reply =
      Get(connections, "/v2/" + reference_.repository + "/manifests/" + std::string(reference),
          kManifestAccept, &sink);
  if (!reply.ok()) return reply.status().WithContext(what);
  if (reply->status / 100 != 2) return ErrorFor(*reply, what);
  ManifestReply out;
  out.body = std::move(sink.body);
  if (const std::string* type = reply->Header("content-type")) out.content_type = *type;
  if (const std::string* digest = reply->Header("docker-content-digest"))
    out.digest_header = *digest;
  return out;
}

StatusOr<std::string> RegistryClient::ResolveTag(RegistryConnections& connections,
                                                 std::string_view tag) {
  std::string what = "manifest " + std::string(tag);
  auto reply = Get(connections, "/v2/" + reference_.repository + "/manifests/" + std::string(tag),
                   kManifestAccept, nullptr, "HEAD");
  if (!reply.ok()) return reply.status().WithContext(what);
  if (reply->status / 100 != 2) return ErrorFor(*reply, what);
  if (const std::string* digest = reply->Header("docker-content-digest");
      digest && IsSha256Digest(*digest)) {
    return *digest;
  }
  auto whole = GetManifest(connections, tag);
  if (!whole.ok()) return whole.status();
  return "sha256:" + Sha256Hex(whole->body);
}

Status RegistryClient::GetBlob(RegistryConnections& connections, std::string_view digest,
                               http::BodySink* sink) {
  auto reply =
      Get(connections, "/v2/" + reference_.repository + "/blobs/" + std::string(digest), "", sink);
  if (!reply.ok()) return reply.status();
  if (reply->status / 100 != 2) return ErrorFor(*reply, "GET blob");
  return Status::Ok();
}

StatusOr<std::string> RegistryClient::GetSmallBlob(RegistryConnections& connections,
                                                   std::string_view digest, size_t max_bytes) {
  StringSink sink(max_bytes);
  BERTH_RETURN_IF_ERROR(GetBlob(connections, digest, &sink));
  return std::move(sink.body);
}

}  // namespace berth::agent
