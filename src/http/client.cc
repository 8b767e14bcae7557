#include "http/client.h"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <utility>

#include "http/ascii.h"
#include "http/endpoint.h"

namespace berth::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr uint32_t kMaxHeaderBytes = 64 * 1024;

// Blocking calls are asynchronous operations run to completion on a private
// io_context: that is how beast::tcp_stream's timeouts apply to them.
class BeastClient : public Client {
 public:
  BeastClient(std::string host, uint16_t port, int timeout_seconds)
      : host_(std::move(host)),
        port_(port),
        endpoint_(FormatEndpoint(host_, port_)),
        timeout_(std::chrono::seconds(timeout_seconds > 0 ? timeout_seconds : 30)) {}

  StatusOr<Response> Do(const Request& request) override {
    bool reused = connected_;
    if (!connected_) BERTH_RETURN_IF_ERROR(Connect());
    bool retry = false;
    auto response = Exchange(request, reused, &retry);
    if (retry) {
      // The server closed the kept-alive connection before this request
      // reached it (idle timeout, restart): the request was not processed.
      BERTH_RETURN_IF_ERROR(Connect());
      response = Exchange(request, false, &retry);
    }
    return response;
  }

 private:
  template <typename Initiate>
  beast::error_code Run(Initiate&& initiate) {
    beast::error_code result;
    io_context_.restart();
    initiate([&result](beast::error_code ec, auto&&...) { result = ec; });
    io_context_.run();
    return result;
  }

  Status Connect() {
    Disconnect();
    beast::error_code ec;
    tcp::resolver resolver(io_context_);
    auto endpoints = resolver.resolve(host_, std::to_string(port_), ec);
    if (ec) return Unavailable("resolve " + host_ + ": " + ec.message());
    stream_.expires_after(timeout_);
    ec = Run([&](auto handler) { stream_.async_connect(endpoints, std::move(handler)); });
    if (ec) {
      Disconnect();
      return Unavailable("connect " + endpoint_ + ": " + ec.message());
    }
    stream_.socket().set_option(tcp::no_delay(true), ec);
    connected_ = true;
    return Status::Ok();
  }

  void Disconnect() {
    stream_.close();
    buffer_.clear();
    connected_ = false;
  }

  // Sends the request and reads its response. On failure closes the
  // connection, and sets *retry when the request may be sent again on a new
  // one: the connection was reused and the server sent nothing back.
  StatusOr<Response> Exchange(const Request& request, bool reused, bool* retry) {
    *retry = false;
    SerializeHead(request);
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(request.body)};
    stream_.expires_after(timeout_);
    beast::error_code ec =
        Run([&](auto handler) { asio::async_write(stream_, buffers, std::move(handler)); });
    if (ec) {
      Disconnect();
      *retry = reused;
      return Unavailable("send request to " + endpoint_ + ": " + ec.message());
    }

    bool head = request.method == "HEAD";
    std::optional<bhttp::response_parser<bhttp::string_body>> parser;
    for (;;) {
      parser.emplace();
      parser->header_limit(kMaxHeaderBytes);
      parser->body_limit(boost::none);  // the caller chose to ask for it
      parser->skip(head);
      ec = Run(
          [&](auto handler) { bhttp::async_read(stream_, buffer_, *parser, std::move(handler)); });
      if (ec) {
        *retry = reused && !parser->got_some() && buffer_.size() == 0 &&
                 (ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
                  ec == asio::error::eof || ec == asio::error::broken_pipe);
        Disconnect();
        return Unavailable("read response from " + endpoint_ + ": " + ec.message());
      }
      // Interim replies (100 Continue) precede the real one.
      int status = parser->get().result_int();
      if (status >= 200 || status == 101) break;
    }

    auto message = parser->release();
    Response response;
    response.status = message.result_int();
    for (const auto& field : message) {
      response.headers.emplace_back(ToLower(std::string_view(field.name_string())),
                                    std::string(field.value()));
    }
    response.body = std::move(message.body());
    if (!message.keep_alive()) Disconnect();
    return response;
  }

  // Writes the request line and headers into head_, filling in Host and
  // setting Content-Length from the body (a stale length would desynchronise
  // the connection, so a caller's own value is replaced).
  void SerializeHead(const Request& request) {
    head_.clear();
    head_ += request.method.empty() ? std::string_view("GET") : std::string_view(request.method);
    head_ += ' ';
    head_ += request.target.empty() ? std::string_view("/") : std::string_view(request.target);
    head_ += " HTTP/1.1\r\n";
    bool has_host = false;
    for (const auto& [name, value] : request.headers) {
      if (EqualsIgnoreCase(name, "content-length") || EqualsIgnoreCase(name, "transfer-encoding")) {
        continue;
      }
      if (EqualsIgnoreCase(name, "host")) has_host = true;
      head_ += name;
      head_ += ": ";
      head_ += value;
      head_ += "\r\n";
    }
    if (!has_host) {
      head_ += "Host: ";
      head_ += endpoint_;
      head_ += "\r\n";
    }
    head_ += "Content-Length: ";
    head_ += std::to_string(request.body.size());
    head_ += "\r\n\r\n";
  }

  const std::string host_;
  const uint16_t port_;
  const std::string endpoint_;  // "host:port", for Host and error messages
  const std::chrono::seconds timeout_;
  asio::io_context io_context_{1};
  beast::tcp_stream stream_{io_context_};
  beast::flat_buffer buffer_;
  std::string head_;
  bool connected_ = false;
};

}  // namespace

std::unique_ptr<Client> Client::Create(std::string host, uint16_t port, int timeout_seconds) {
  return std::make_unique<BeastClient>(std::move(host), port, timeout_seconds);
}

}  // namespace berth::http
