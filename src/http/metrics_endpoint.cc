#include "http/metrics_endpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/crypto.h"
#include "http/endpoint.h"

namespace berth::http {

namespace {

bool IsLoopback(std::string_view host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

Response Text(int status, std::string body) {
  Response response;
  response.status = status;
  response.SetHeader("content-type", "text/plain; charset=utf-8");
  response.body = std::move(body);
  return response;
}

}  // namespace

StatusOr<std::string> EnsureMetricsToken(const std::string& path) {
  std::ifstream in(path);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    std::string token = text.str();
    while (!token.empty() && (token.back() == '\n' || token.back() == ' ')) token.pop_back();
    if (token.empty()) return InvalidArgument("metrics token file " + path + " is empty");
    return token;
  }
  std::string token = HexEncode(RandomBytes(32));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return EnsureMetricsToken(path);  // another process made it
    return Internal("create metrics token file " + path + ": " + std::strerror(errno));
  }
  std::string line = token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Internal("write metrics token file " + path + ": " + std::strerror(errno));
  return token;
}

StatusOr<std::optional<std::string>> SeparateMetricsAddress(const std::string& metrics_listen,
                                                            const std::string& api_listen) {
  if (metrics_listen.empty() || metrics_listen == api_listen) return std::optional<std::string>();
  auto hp = SplitHostPort(metrics_listen);
  if (!hp.ok()) {
    return InvalidArgument("--metrics-listen " + metrics_listen + ": " + hp.status().message());
  }
  if (!IsLoopback(hp->first)) {
    return InvalidArgument("--metrics-listen " + metrics_listen +
                           ": a separate metrics address must be a loopback address "
                           "(127.0.0.1, [::1]), since it needs no token; leave it out to serve "
                           "/metrics on the API address with the bearer token");
  }
  return std::optional<std::string>(metrics_listen);
}

bool MetricsEndpoint::Accepts(const Request& request) {
  return request.method == "GET" && request.Path() == "/metrics";
}

void MetricsEndpoint::Handle(Request&& request, Responder respond) {
  if (token_) {
    const std::string* header = request.Header("authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (header == nullptr || !header->starts_with(kBearer)) {
      Response refused =
          Text(401,
               "berth /metrics needs \"Authorization: Bearer <token>\"; the token is in the "
               "file metrics-token in the data directory of this berth server or agent\n");
      refused.SetHeader("www-authenticate", "Bearer realm=\"berth metrics\"");
      return respond(std::move(refused));
    }
    if (!ConstantTimeEquals(std::string_view(*header).substr(kBearer.size()), *token_)) {
      Response refused =
          Text(401,
               "berth /metrics: the bearer token is not the one in the data directory's "
               "metrics-token file\n");
      refused.SetHeader("www-authenticate",
                        "Bearer realm=\"berth metrics\", error=\"invalid_token\"");
      return respond(std::move(refused));
    }
  }
  Response response = Text(200, registry_.Expose());
  response.SetHeader("content-type", std::string(metrics::kContentType));
  respond(std::move(response));
}

}  // namespace berth::http
