// berth_http_floor: the HTTP floor that berth's API throughput is measured
// against.
//
// A minimal asynchronous Boost.Beast HTTP/1.1 keep-alive server with the same
// number of I/O threads as `berth server` (2) that answers every request with
// 200 and the JSON body "{}". It reads each request in full, as any HTTP
// server must, but looks at nothing in it: no routing, no signature, no JSON.
// What it costs per request is what Beast, the kernel and loopback TCP cost,
// so berth's requests per second divided by this server's, at the same
// concurrency, is the share of the machine that berth's HTTP path leaves to
// the API. It deliberately shares no code with berth's http::Server, so a
// slowdown there shows up as a lower ratio instead of a lower floor.
#include <CLI/CLI.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http/endpoint.h"

namespace berth::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// berth's http::Server default, so both servers get the same CPU share.
constexpr int kIoThreads = 2;

// One keep-alive connection: read a request, write "{}", repeat until the
// client closes. Owned by the shared_ptrs its pending operations hold.
class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : stream_(std::move(socket)) {}

  void Start() { ReadRequest(); }

 private:
  void ReadRequest() {
    request_ = {};
    bhttp::async_read(
        stream_, buffer_, request_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec) return Close();
    response_ = {};
    response_.result(bhttp::status::ok);
    response_.version(request_.version());
    response_.set(bhttp::field::content_type, "application/x-amz-json-1.1");
    response_.keep_alive(request_.keep_alive());
    response_.body() = "{}";
    response_.prepare_payload();
    bhttp::async_write(stream_, response_,
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (ec || !self->response_.keep_alive()) return self->Close();
                         self->ReadRequest();
                       });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::string_body> request_;
  bhttp::response<bhttp::string_body> response_;
};

class Listener {
 public:
  Listener(asio::io_context& io, const tcp::endpoint& endpoint) : io_(io), acceptor_(io) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void Accept() {
    // Each connection gets its own strand: its handlers never run at once,
    // while different connections use both threads.
    acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        s.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session>(std::move(s))->Start();
      }
      Accept();
    });
  }

  void Close() {
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  asio::io_context& io_;
  tcp::acceptor acceptor_;
};

int Run(const std::string& listen) {
  auto host_port = http::SplitHostPort(listen);
  if (!host_port.ok()) {
    std::fprintf(stderr, "--listen %s: %s\n", listen.c_str(), host_port.status().message().c_str());
    return 2;
  }
  auto& [host, port] = *host_port;
  beast::error_code ec;
  auto address = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) {
    std::fprintf(stderr, "--listen %s: %s\n", listen.c_str(), ec.message().c_str());
    return 2;
  }

  asio::io_context io(kIoThreads);
  std::unique_ptr<Listener> listener;
  try {
    listener = std::make_unique<Listener>(io, tcp::endpoint(address, port));
  } catch (const boost::system::system_error& e) {
    std::fprintf(stderr, "listen on %s: %s\n", listen.c_str(), e.what());
    return 1;
  }
  listener->Accept();

  // Stops on SIGINT or SIGTERM so the driver script can end it cleanly.
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) {
    listener->Close();
    io.stop();
  });

  std::printf("berth_http_floor listening on %s\n",
              http::FormatEndpoint(address.to_string(), listener->port()).c_str());
  std::fflush(stdout);

  std::vector<std::thread> threads;
  for (int i = 1; i < kIoThreads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  return 0;
}

}  // namespace
}  // namespace berth::bench

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:8081";
  CLI::App app{"HTTP floor: answers every request with 200 {} and nothing else"};
  app.add_option("--listen", listen, "address to serve on, host:port (port 0: any free one)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return berth::bench::Run(listen);
}
