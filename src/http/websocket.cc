#include "http/websocket.h"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "common/log.h"
#include "http/ascii.h"
#include "http/endpoint.h"
#include "http/websocket_internal.h"

namespace berth::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kMaxMessageBytes = 1 << 20;
constexpr auto kHandshakeTimeout = std::chrono::seconds(30);
// A ping goes out after half of this without traffic; no answer by the end
// of it closes the connection.
constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr auto kCloseWait = std::chrono::seconds(2);

// One blocking call waiting for its completion on the socket's strand.
struct PendingOp {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  beast::error_code ec;
  beast::flat_buffer buffer;  // Read's message
  std::string out;            // Write's message

  void Finish(beast::error_code e) {  // the first call counts
    std::lock_guard lock(mu);
    if (done) return;
    ec = e;
    done = true;
    cv.notify_all();
  }
};

std::string Why(const beast::error_code& ec) {
  if (ec == websocket::error::closed) return "websocket closed";
  return "websocket: " + ec.message();
}

}  // namespace

namespace internal {

// The socket and its state, shared by the handle given out and every
// operation in flight. ws_ is used only on its strand.
class WebSocketCore : public std::enable_shared_from_this<WebSocketCore> {
 public:
  // Server side: over an accepted connection's stream, which owner keeps.
  WebSocketCore(std::shared_ptr<void> owner, beast::tcp_stream& stream)
      : owner_(std::move(owner)), ws_(stream) {}
  // Client side: over a stream of its own.
  explicit WebSocketCore(const asio::any_io_executor& executor)
      : own_stream_(std::in_place, executor), ws_(*own_stream_) {}

  websocket::stream<beast::tcp_stream&>& ws() { return ws_; }
  beast::tcp_stream& tcp() { return beast::get_lowest_layer(ws_); }

  void Configure() {
    tcp().expires_never();  // the websocket keeps its own timeouts
    websocket::stream_base::timeout timeout;
    timeout.handshake_timeout = kHandshakeTimeout;
    timeout.idle_timeout = kIdleTimeout;
    timeout.keep_alive_pings = true;
    ws_.set_option(timeout);
    ws_.read_message_max(kMaxMessageBytes);
    ws_.binary(true);
  }

  StatusOr<std::string> Read() {
    std::lock_guard one(read_mu_);
    auto op = std::make_shared<PendingOp>();
    beast::error_code ec = Run(op, [self = shared_from_this(), op] {
      self->ws_.async_read(op->buffer, [self, op](beast::error_code ec, size_t) {
        if (ec) self->finished_.store(true);
        op->Finish(ec);
      });
    });
    if (ec) return Aborted(Why(ec));
    return beast::buffers_to_string(op->buffer.data());  // complete: nothing writes it now
  }

  Status Write(std::string_view message) {
    std::lock_guard one(write_mu_);
    auto op = std::make_shared<PendingOp>();
    op->out.assign(message);
    beast::error_code ec = Run(op, [self = shared_from_this(), op] {
      self->ws_.async_write(asio::buffer(op->out),
                            [op](beast::error_code ec, size_t) { op->Finish(ec); });
    });
    if (ec) return Aborted(Why(ec));
    return Status::Ok();
  }

  void Close() {
    if (close_started_.exchange(true)) return;
    asio::dispatch(ws_.get_executor(), [self = shared_from_this()] {
      if (self->dead_.load() || !self->ws_.is_open()) {
        self->finished_.store(true);
        return;
      }
      self->ws_.async_close(websocket::close_code::normal,
                            [self](beast::error_code) { self->finished_.store(true); });
    });
  }

  // Strand only.
  void Shutdown() {
    MarkDead();
    finished_.store(true);
    beast::error_code ignored;
    tcp().socket().close(ignored);
  }

  // Any thread: blocked and later calls fail at once, whether or not their
  // completions ever run (the I/O loop may have stopped).
  void MarkDead() {
    std::lock_guard lock(pending_mu_);
    dead_.store(true);
    for (PendingOp* op : pending_) op->Finish(asio::error::operation_aborted);
  }
  bool finished() const { return finished_.load(); }

 private:
  // Starts op's work on the strand and waits for it (or for the socket to
  // be shut, whose completion may never run once the I/O loop has stopped).
  // Returns how it ended.
  template <class Start>
  beast::error_code Run(const std::shared_ptr<PendingOp>& op, Start start) {
    {
      std::lock_guard lock(pending_mu_);
      if (dead_.load()) return asio::error::operation_aborted;
      pending_.insert(op.get());
    }
    asio::dispatch(ws_.get_executor(), [self = shared_from_this(), op, start = std::move(start)] {
      if (self->dead_.load()) return op->Finish(asio::error::operation_aborted);
      start();
    });
    beast::error_code ec;
    {
      std::unique_lock lock(op->mu);
      op->cv.wait(lock, [&] { return op->done; });
      ec = op->ec;
    }
    std::lock_guard lock(pending_mu_);
    pending_.erase(op.get());
    return ec;
  }

  std::shared_ptr<void> owner_;
  std::optional<beast::tcp_stream> own_stream_;
  websocket::stream<beast::tcp_stream&> ws_;
  std::mutex read_mu_;   // one Read at a time
  std::mutex write_mu_;  // one Write at a time
  std::atomic<bool> close_started_{false};
  std::mutex pending_mu_;
  std::set<PendingOp*> pending_;       // the blocked calls; guarded by pending_mu_
  std::atomic<bool> dead_{false};      // set under pending_mu_
  std::atomic<bool> finished_{false};  // closed or failed: nothing more to wait for
};

void ShutdownWebSocket(WebSocketCore& core) { core.Shutdown(); }

}  // namespace internal

namespace {

using internal::WebSocketCore;

// What DialWebSocket gives out: the I/O thread that serves the socket.
struct ClientLoop {
  asio::io_context io_context{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
};

class WebSocketHandle : public WebSocket {
 public:
  WebSocketHandle(std::shared_ptr<WebSocketCore> core, std::unique_ptr<ClientLoop> loop = nullptr)
      : loop_(std::move(loop)), core_(std::move(core)) {}

  ~WebSocketHandle() override {
    core_->Close();
    if (!loop_) return;  // the server's I/O threads finish the close
    auto deadline = std::chrono::steady_clock::now() + kCloseWait;
    while (!core_->finished() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    core_->MarkDead();
    loop_->work.reset();
    loop_->io_context.stop();
    if (loop_->thread.joinable()) loop_->thread.join();
    core_.reset();  // what still holds it goes with the io_context
  }

  StatusOr<std::string> Read() override { return core_->Read(); }
  Status Write(std::string_view message) override { return core_->Write(message); }
  void Close() override { core_->Close(); }

 private:
  std::unique_ptr<ClientLoop> loop_;  // declared first: outlives the socket
  std::shared_ptr<WebSocketCore> core_;
};

bool HeaderHasToken(const std::string* value, std::string_view token) {
  if (value == nullptr) return false;
  std::string_view rest = *value;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (EqualsIgnoreCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

namespace internal {

std::shared_ptr<WebSocketCore> AcceptWebSocket(beast::tcp_stream& stream,
                                               bhttp::request<bhttp::string_body>&& request,
                                               std::shared_ptr<void> owner,
                                               WebSocketHandler on_open) {
  auto core = std::make_shared<WebSocketCore>(std::move(owner), stream);
  core->Configure();
  auto held = std::make_shared<bhttp::request<bhttp::string_body>>(std::move(request));
  core->ws().async_accept(*held,
                          [core, held, on_open = std::move(on_open)](beast::error_code ec) mutable {
                            if (ec) {
                              LogWarn("websocket handshake failed", {{"error", ec.message()}});
                              core->Shutdown();
                              return;
                            }
                            on_open(std::make_unique<WebSocketHandle>(core));
                          });
  return core;
}

}  // namespace internal

Response UpgradeToWebSocket(WebSocketHandler on_open) {
  Response r;
  r.status = 101;
  r.on_websocket = std::move(on_open);
  return r;
}

bool IsWebSocketUpgrade(const Request& request) {
  return request.method == "GET" && HeaderHasToken(request.Header("connection"), "upgrade") &&
         HeaderHasToken(request.Header("upgrade"), "websocket");
}

StatusOr<std::unique_ptr<WebSocket>> DialWebSocket(const std::string& host, uint16_t port,
                                                   const Request& request, int timeout_seconds,
                                                   Response* refusal) {
  const std::string where = "websocket " + FormatEndpoint(host, port) + request.target;
  if (request.method != "GET") return InvalidArgument(where + ": the method must be GET");
  auto loop = std::make_unique<ClientLoop>();
  auto core = std::make_shared<WebSocketCore>(asio::make_strand(loop->io_context));
  core->Configure();
  const std::string* host_header = request.Header("host");
  std::string host_value = host_header ? *host_header : FormatEndpoint(host, port);
  Headers extra;
  for (const auto& [name, value] : request.headers) {
    if (!EqualsIgnoreCase(name, "host")) extra.emplace_back(name, value);
  }
  core->ws().set_option(websocket::stream_base::decorator([extra](websocket::request_type& req) {
    for (const auto& [name, value] : extra) req.set(name, value);
  }));

  // The handshake runs on this thread's io_context.run(); the I/O thread
  // starts only once the socket is open.
  beast::error_code result;
  bool done = false;
  std::string step = "connect";
  websocket::response_type response;
  auto finish = [&](beast::error_code ec) {
    result = ec;
    done = true;
    loop->io_context.stop();  // the socket's timers stay behind, for the I/O thread
  };
  tcp::resolver resolver(loop->io_context);
  resolver.async_resolve(
      host, std::to_string(port), [&](beast::error_code ec, tcp::resolver::results_type endpoints) {
        if (ec) return finish(ec);
        core->tcp().expires_after(std::chrono::seconds(timeout_seconds));
        core->tcp().async_connect(endpoints, [&](beast::error_code ec, const tcp::endpoint&) {
          if (ec) return finish(ec);
          core->tcp().expires_never();
          step = "handshake";
          core->ws().async_handshake(response, host_value, request.target, finish);
        });
      });
  loop->io_context.run_for(std::chrono::seconds(timeout_seconds) + kHandshakeTimeout);
  if (!done) return Unavailable(where + ": " + step + " timed out");
  if (result == websocket::error::upgrade_declined) {
    if (refusal != nullptr) {
      refusal->status = static_cast<int>(response.result_int());
      refusal->headers.clear();
      for (const auto& field : response) {
        refusal->headers.emplace_back(ToLower(field.name_string()), std::string(field.value()));
      }
      refusal->body = response.body();
    }
    return FailedPrecondition(where + ": server answered " + std::to_string(response.result_int()) +
                              " instead of 101");
  }
  if (result) return Unavailable(where + ": " + step + ": " + result.message());

  loop->io_context.restart();
  loop->work.emplace(loop->io_context.get_executor());
  loop->thread = std::thread([loop = loop.get()] { loop->io_context.run(); });
  return std::unique_ptr<WebSocket>(std::make_unique<WebSocketHandle>(core, std::move(loop)));
}

}  // namespace berth::http
