#include "http/websocket.h"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <type_traits>
#include <utility>

#include "common/log.h"
#include "http/ascii.h"
#include "http/client_tls.h"
#include "http/endpoint.h"
#include "http/websocket_internal.h"

namespace berth::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

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
// operation in flight: the blocking calls and their bookkeeping, whatever
// the stream under the WebSocket (WebSocketOn: plain or TLS). The socket is
// used only on its strand.
class WebSocketCore : public std::enable_shared_from_this<WebSocketCore> {
 public:
  virtual ~WebSocketCore() = default;

  StatusOr<std::string> Read() {
    std::lock_guard one(read_mu_);
    auto op = std::make_shared<PendingOp>();
    beast::error_code ec = Run(op, [self = shared_from_this(), op] { self->StartRead(op); });
    if (ec) return Aborted(Why(ec));
    return beast::buffers_to_string(op->buffer.data());  // complete: nothing writes it now
  }

  Status Write(std::string_view message) {
    std::lock_guard one(write_mu_);
    auto op = std::make_shared<PendingOp>();
    op->out.assign(message);
    beast::error_code ec = Run(op, [self = shared_from_this(), op] { self->StartWrite(op); });
    if (ec) return Aborted(Why(ec));
    return Status::Ok();
  }

  void Close() {
    if (close_started_.exchange(true)) return;
    asio::dispatch(executor(), [self = shared_from_this()] {
      if (self->dead_.load() || !self->IsOpen()) {
        self->finished_.store(true);
        return;
      }
      self->StartClose();
    });
  }

  // Strand only.
  void Shutdown() {
    MarkDead();
    finished_.store(true);
    CloseSocket();
  }

  // Any thread: blocked and later calls fail at once, whether or not their
  // completions ever run (the I/O loop may have stopped).
  void MarkDead() {
    std::lock_guard lock(pending_mu_);
    dead_.store(true);
    for (PendingOp* op : pending_) op->Finish(asio::error::operation_aborted);
  }
  bool finished() const { return finished_.load(); }

 protected:
  // On the strand: the operations on the stream. A failed read marks the
  // socket finished; the close handshake marks it finished when done.
  virtual asio::any_io_executor executor() = 0;
  virtual void StartRead(std::shared_ptr<PendingOp> op) = 0;
  virtual void StartWrite(std::shared_ptr<PendingOp> op) = 0;
  virtual void StartClose() = 0;
  virtual bool IsOpen() = 0;
  virtual void CloseSocket() = 0;

  std::atomic<bool> finished_{false};  // closed or failed: nothing more to wait for

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
    asio::dispatch(executor(), [self = shared_from_this(), op, start = std::move(start)] {
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

  std::mutex read_mu_;   // one Read at a time
  std::mutex write_mu_;  // one Write at a time
  std::atomic<bool> close_started_{false};
  std::mutex pending_mu_;
  std::set<PendingOp*> pending_;   // the blocked calls; guarded by pending_mu_
  std::atomic<bool> dead_{false};  // set under pending_mu_
};

// A WebSocket over NextLayer: beast::tcp_stream, or TlsStream over one.
template <class NextLayer>
class WebSocketOn final : public WebSocketCore {
 public:
  // Server side: over an accepted connection's stream, which owner keeps.
  WebSocketOn(std::shared_ptr<void> owner, NextLayer& stream)
      : owner_(std::move(owner)), ws_(stream) {}
  // Client side: over a stream of its own, made of args; keep holds what
  // the stream needs (its TLS context).
  template <class... Args>
  explicit WebSocketOn(std::shared_ptr<void> keep, std::in_place_t, Args&&... args)
      : owner_(std::move(keep)),
        own_stream_(std::in_place, std::forward<Args>(args)...),
        ws_(*own_stream_) {}

  websocket::stream<NextLayer&>& ws() { return ws_; }
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

 protected:
  asio::any_io_executor executor() override { return ws_.get_executor(); }

  void StartRead(std::shared_ptr<PendingOp> op) override {
    ws_.async_read(op->buffer, [this, self = shared_from_this(), op](beast::error_code ec, size_t) {
      if (ec) finished_.store(true);
      op->Finish(ec);
    });
  }

  void StartWrite(std::shared_ptr<PendingOp> op) override {
    ws_.async_write(asio::buffer(op->out), [op](beast::error_code ec, size_t) { op->Finish(ec); });
  }

  void StartClose() override {
    ws_.async_close(
        websocket::close_code::normal,
        [this, self = shared_from_this()](beast::error_code) { finished_.store(true); });
  }

  bool IsOpen() override { return ws_.is_open(); }

  void CloseSocket() override {
    beast::error_code ignored;
    tcp().socket().close(ignored);
  }

 private:
  std::shared_ptr<void> owner_;  // declared first: outlives the streams
  std::optional<NextLayer> own_stream_;
  websocket::stream<NextLayer&> ws_;
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

namespace {

template <class NextLayer>
std::shared_ptr<WebSocketCore> AcceptOver(NextLayer& stream,
                                          bhttp::request<bhttp::string_body>&& request,
                                          std::shared_ptr<void> owner, WebSocketHandler on_open) {
  auto core = std::make_shared<WebSocketOn<NextLayer>>(std::move(owner), stream);
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

}  // namespace

std::shared_ptr<WebSocketCore> AcceptWebSocket(beast::tcp_stream& stream,
                                               bhttp::request<bhttp::string_body>&& request,
                                               std::shared_ptr<void> owner,
                                               WebSocketHandler on_open) {
  return AcceptOver(stream, std::move(request), std::move(owner), std::move(on_open));
}

std::shared_ptr<WebSocketCore> AcceptWebSocket(TlsStream& stream,
                                               bhttp::request<bhttp::string_body>&& request,
                                               std::shared_ptr<void> owner,
                                               WebSocketHandler on_open) {
  return AcceptOver(stream, std::move(request), std::move(owner), std::move(on_open));
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

namespace {

// Connects core's stream to host:port (with TLS first when NextLayer is
// TlsStream) and sends the upgrade request; then hands the socket to an I/O
// thread of its own (loop, moved into the WebSocket). On failure the caller
// keeps both: it must release core before loop, whose io_context the
// stream's Beast service lives in.
template <class NextLayer>
StatusOr<std::unique_ptr<WebSocket>> DialOver(
    const std::shared_ptr<internal::WebSocketOn<NextLayer>>& core,
    std::unique_ptr<ClientLoop>& loop, const std::string& host, uint16_t port,
    const Request& request, int timeout_seconds, Response* refusal, const std::string& tls_name) {
  const std::string endpoint = FormatEndpoint(host, port);
  const std::string where = "websocket " + endpoint + request.target;
  core->Configure();
  const std::string* host_header = request.Header("host");
  std::string host_value = host_header ? *host_header : endpoint;
  Headers extra;
  for (const auto& [name, value] : request.headers) {
    if (!EqualsIgnoreCase(name, "host")) extra.emplace_back(name, value);
  }
  core->ws().set_option(websocket::stream_base::decorator([extra](websocket::request_type& req) {
    for (const auto& [name, value] : extra) req.set(name, value);
  }));
  if constexpr (std::is_same_v<NextLayer, TlsStream>) {
    BERTH_RETURN_IF_ERROR(
        internal::ExpectPeerName(core->ws().next_layer().native_handle(), tls_name, endpoint));
  }

  // The handshakes run on this thread's io_context.run(); the I/O thread
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
  auto upgrade = [&] {
    step = "handshake";
    core->ws().async_handshake(response, host_value, request.target, finish);
  };
  tcp::resolver resolver(loop->io_context);
  resolver.async_resolve(
      host, std::to_string(port), [&](beast::error_code ec, tcp::resolver::results_type endpoints) {
        if (ec) return finish(ec);
        core->tcp().expires_after(std::chrono::seconds(timeout_seconds));
        core->tcp().async_connect(endpoints, [&](beast::error_code ec, const tcp::endpoint&) {
          if (ec) return finish(ec);
          if constexpr (std::is_same_v<NextLayer, TlsStream>) {
            step = "tls";
            core->ws().next_layer().async_handshake(asio::ssl::stream_base::client,
                                                    [&](beast::error_code ec) {
                                                      if (ec) return finish(ec);
                                                      core->tcp().expires_never();
                                                      upgrade();
                                                    });
          } else {
            core->tcp().expires_never();
            upgrade();
          }
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
  if (result) {
    if constexpr (std::is_same_v<NextLayer, TlsStream>) {
      if (step == "tls") {
        return Unavailable(internal::HandshakeError(core->ws().next_layer().native_handle(), result,
                                                    tls_name, endpoint));
      }
    }
    return Unavailable(where + ": " + step + ": " + result.message());
  }

  loop->io_context.restart();
  loop->work.emplace(loop->io_context.get_executor());
  loop->thread = std::thread([loop = loop.get()] { loop->io_context.run(); });
  return std::unique_ptr<WebSocket>(std::make_unique<WebSocketHandle>(core, std::move(loop)));
}

}  // namespace

StatusOr<std::unique_ptr<WebSocket>> DialWebSocket(const std::string& host, uint16_t port,
                                                   const Request& request, int timeout_seconds,
                                                   Response* refusal, const TlsOptions& tls) {
  if (request.method != "GET") {
    return InvalidArgument("websocket " + FormatEndpoint(host, port) + request.target +
                           ": the method must be GET");
  }
  // Declared before the socket (core), so it is destroyed after it.
  auto loop = std::make_unique<ClientLoop>();
  if (!tls.enabled) {
    auto core = std::make_shared<internal::WebSocketOn<beast::tcp_stream>>(
        nullptr, std::in_place, asio::make_strand(loop->io_context));
    return DialOver(core, loop, host, port, request, timeout_seconds, refusal, "");
  }
  auto context = internal::ClientTlsContext(tls);
  if (!context.ok()) return context.status().WithContext("tls to " + FormatEndpoint(host, port));
  std::shared_ptr<asio::ssl::context> held = *context;
  auto core = std::make_shared<internal::WebSocketOn<TlsStream>>(
      held, std::in_place, asio::make_strand(loop->io_context), *held);
  return DialOver(core, loop, host, port, request, timeout_seconds, refusal,
                  tls.server_name.empty() ? host : tls.server_name);
}

}  // namespace berth::http
