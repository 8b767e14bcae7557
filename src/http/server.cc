#include "http/server.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_cat.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/log.h"
#include "http/ascii.h"
#include "http/connection_limits.h"
#include "http/endpoint.h"
#include "http/listener_metrics.h"
#include "http/request_head.h"
#include "http/server_tls.h"
#include "http/websocket_internal.h"

namespace berth::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

using internal::kMaxHeaderBytes;
// What an idle keep-alive connection reads into: a node agent's request (a
// signed poll or state report) is about 1 KiB, and thousands of agents each
// keep two connections open, so the buffer starts small and grows (Beast
// grows it) only for the requests that need it.
constexpr size_t kIdleBufferBytes = 1024;
// After an error reply to a request whose body was not read, the rest of the
// body is read and dropped for a while before closing: closing with unread
// data makes the kernel send RST, and the client may lose the reply.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerReadBytes = 16 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// Streamed request bodies reach the sink, and file bodies leave the disk, in
// pieces of at most this size, through one buffer per connection that lives
// only while such a request is in progress.
constexpr size_t kPieceBytes = 256 * 1024;
// Socket reads while streaming are this large (Beast reads at most 64 KiB at
// a time, and no more than the read buffer's capacity).
constexpr size_t kStreamReadBytes = 64 * 1024;
// Connections refused over a limit are answered (503, after the TLS
// handshake) by at most this many at a time; past that they are closed at
// once, so a flood of refusals costs little.
constexpr int kMaxRefusing = 64;
// A refusal over a limit is logged at most this often per listener; the
// metric counts every one.
constexpr int64_t kRefusalLogIntervalMillis = 10'000;

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// What ServerCore and a Responder need of a connection, plain or TLS.
class ConnectionBase : public std::enable_shared_from_this<ConnectionBase> {
 public:
  virtual ~ConnectionBase() = default;
  virtual void CloseIfIdle() = 0;                   // on the connection's strand
  virtual void Close() = 0;                         // on the connection's strand
  virtual void PostReply(Response&& response) = 0;  // any thread
  virtual asio::any_io_executor executor() = 0;     // immutable: safe from any thread
};

// State shared by the server and its connections. Connections hold it by
// shared_ptr because a handler may keep a Responder (and so its connection,
// whose socket belongs to io_context) past Stop() and the Server's lifetime.
struct ServerCore : std::enable_shared_from_this<ServerCore> {
  ServerCore(const ServerOptions& opts, Handler h, int threads)
      : io_context(threads),
        options(opts),
        handler(std::move(h)),
        acceptor(asio::make_strand(io_context)),
        accept_retry(acceptor.get_executor()),
        limits(opts.max_connections, opts.max_connections_per_address),
        metrics(opts.name) {}

  asio::io_context io_context;  // first member: destroyed last
  const ServerOptions options;
  const Handler handler;
  tcp::acceptor acceptor;           // used only on its strand
  asio::steady_timer accept_retry;  // backs off after accept errors (EMFILE)
  ConnectionLimits limits;
  ListenerMetrics metrics;
  std::atomic<int> refusing{0};                 // connections being answered 503
  std::atomic<int64_t> last_refusal_log_ms{0};  // steady clock

  // Set once Stop() begins; read on the hot path without the lock.
  std::atomic<bool> stopping{false};

  // Replies pass through a gate: once `closed` is set no new reply is posted,
  // and Stop() waits for `posting` to drain before letting the I/O threads
  // run out of work. A reply posted after that would sit in a stopped
  // io_context forever, keeping its connection and this core alive.
  std::atomic<bool> closed{false};
  std::atomic<int> posting{0};

  std::mutex mu;
  std::condition_variable drained;  // notified when `connections` empties
  std::unordered_map<ConnectionBase*, std::weak_ptr<ConnectionBase>> connections;  // guarded by mu

  std::vector<std::shared_ptr<ConnectionBase>> SnapshotConnections() {
    std::vector<std::shared_ptr<ConnectionBase>> out;
    std::lock_guard lock(mu);
    out.reserve(connections.size());
    for (auto& [ptr, weak] : connections) {
      if (auto c = weak.lock()) out.push_back(std::move(c));
    }
    return out;
  }
};

Response ErrorResponse(int status, std::string_view message) {
  Response r;
  r.status = status;
  r.headers.emplace_back("content-type", "text/plain; charset=utf-8");
  r.body = std::string(message) + "\n";
  return r;
}

// Header text must not carry CR or LF: a handler echoing client input into a
// header would otherwise let the client inject headers or whole responses.
bool SafeHeaderText(std::string_view s) {
  return s.find_first_of("\r\n") == std::string_view::npos;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

void AppendNumber(std::string& out, uint64_t n) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), n);
  out.append(digits, end);
}

// Owned by every copy of one request's Responder. If all copies are dropped
// unanswered (a handler bug) the client gets a 500 instead of a hang.
class ReplyState {
 public:
  explicit ReplyState(std::shared_ptr<ConnectionBase> c) : connection_(std::move(c)) {}
  ReplyState(const ReplyState&) = delete;
  ReplyState& operator=(const ReplyState&) = delete;
  ~ReplyState() {
    if (!answered_.exchange(true)) {
      connection_->PostReply(ErrorResponse(500, "handler dropped the request"));
    }
  }

  void Answer(Response&& response) {
    if (answered_.exchange(true)) {
      LogWarn("http responder called more than once; reply ignored");
      return;
    }
    connection_->PostReply(std::move(response));
  }

 private:
  std::shared_ptr<ConnectionBase> connection_;
  std::atomic<bool> answered_{false};
};

// One accepted TCP connection, plain (kTls false) or TLS. Every member is
// used only on the connection's strand (the executor of stream_), except
// where a comment says otherwise.
template <bool kTls>
class Connection final : public ConnectionBase {
 public:
  using Stream = std::conditional_t<kTls, TlsStream, beast::tcp_stream>;

  // Admitted under the listener's limits (released at close), or refused:
  // `refusal` is the one line the 503 carries.
  Connection(std::shared_ptr<ServerCore> core, tcp::socket socket,
             std::shared_ptr<asio::ssl::context> tls, std::string address, std::string refusal)
      : core_(std::move(core)),
        tls_context_(std::move(tls)),
        stream_(MakeStream(std::move(socket), tls_context_.get())),
        head_timer_(stream_.get_executor()),
        address_(std::move(address)),
        refusal_(std::move(refusal)) {}

  ~Connection() override {
    CloseFile();
    Unregister();
  }

  // Called on the acceptor's strand right after accept.
  void Start() {
    {
      std::lock_guard lock(core_->mu);
      if (core_->stopping.load()) {
        // Dropping the last reference closes the socket.
        if (refusal_.empty()) core_->limits.Release(address_);
        return;
      }
      core_->connections.emplace(this, weak_from_this());
      registered_ = true;
    }
    if (refusal_.empty()) {
      core_->metrics.open.Add(1);
    } else {
      core_->refusing.fetch_add(1);
    }
    asio::dispatch(stream_.get_executor(), [self = Self()] { self->Begin(); });
  }

  // Posted by Stop(): a connection between requests is closed now, and so
  // is a WebSocket; one with a request in progress finishes it and closes
  // after the reply.
  void CloseIfIdle() override {
    if (phase_ == Phase::kHandshake || phase_ == Phase::kReadingHeader ||
        phase_ == Phase::kLingering || phase_ == Phase::kUpgraded) {
      Close();
    }
  }

  void Close() override {
    if (phase_ == Phase::kClosed) return;
    if (phase_ == Phase::kUpgraded) {
      if (auto socket = websocket_.lock()) internal::ShutdownWebSocket(*socket);
    }
    phase_ = Phase::kClosed;
    // A body cut off mid-way never reaches the handler; its sink goes now,
    // before the peer can see the close. The parsers and scratch_ stay: a
    // completion already queued may still touch them, and it sees kClosed.
    sink_.reset();
    StopHeadDeadline();
    Tcp().close();
    CloseFile();
    Unregister();
  }

  // Any thread. Sends `response` for the request being handled, on the strand.
  void PostReply(Response&& response) override {
    core_->posting.fetch_add(1);
    if (!core_->closed.load()) {
      asio::dispatch(stream_.get_executor(), [self = Self(), r = std::move(response)]() mutable {
        self->WriteResponse(std::move(r));
      });
    }
    core_->posting.fetch_sub(1);
  }

  asio::any_io_executor executor() override { return stream_.get_executor(); }

 private:
  // kHandshake: TLS only, before anything else. kUpgraded: the connection
  // is a WebSocket now (websocket_), until Close.
  enum class Phase {
    kHandshake,
    kReadingHeader,
    kReadingBody,
    kHandling,
    kWriting,
    kLingering,
    kUpgraded,
    kClosed
  };

  static Stream MakeStream(tcp::socket socket, asio::ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  std::shared_ptr<Connection> Self() {
    return std::static_pointer_cast<Connection>(this->shared_from_this());
  }

  // The TCP stream under either: timeouts, the socket.
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  void Unregister() {
    if (!registered_.exchange(false)) return;
    if (refusal_.empty()) {
      core_->limits.Release(address_);
      core_->metrics.open.Add(-1);
    } else {
      core_->refusing.fetch_sub(1);
    }
    std::lock_guard lock(core_->mu);
    core_->connections.erase(this);
    if (core_->connections.empty()) core_->drained.notify_all();
  }

  void Begin() {
    beast::error_code ec;
    Tcp().socket().set_option(tcp::no_delay(true), ec);
    auto peer = Tcp().socket().remote_endpoint(ec);
    if (!ec) remote_address_ = FormatEndpoint(peer.address().to_string(), peer.port());
    // From the accept, the TLS handshake and the first request's head share
    // one deadline.
    StartHeadDeadline();
    if constexpr (kTls) {
      phase_ = Phase::kHandshake;
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = Self()](beast::error_code ec) { self->OnHandshake(ec); });
    } else {
      AfterHandshake();
    }
  }

  void OnHandshake(beast::error_code ec) {
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      // A client on an old protocol version or one that does not trust the
      // certificate ends here; it sees the TLS alert, the server a count.
      core_->metrics.tls_handshake_failures.Inc();
      LogDebug(
          "http tls handshake failed",
          {{"listener", core_->options.name}, {"peer", remote_address_}, {"error", ec.message()}});
      return Close();
    }
    AfterHandshake();
  }

  void AfterHandshake() {
    if (!refusal_.empty()) {
      StopHeadDeadline();
      Response refused = ErrorResponse(503, refusal_);
      refused.SetHeader("retry-after", "1");
      return WriteError(std::move(refused));
    }
    ReadRequest(/*deadline_running=*/true);
  }

  // The head deadline (header_timeout_seconds): a timer of the
  // connection's own rather than the stream's expiry, which would close
  // the socket and leave no way to answer 408.
  void StartHeadDeadline() {
    head_timed_out_ = false;
    uint64_t generation = ++head_generation_;
    if (core_->options.header_timeout_seconds <= 0) return;
    head_timer_.expires_after(std::chrono::seconds(core_->options.header_timeout_seconds));
    head_timer_.async_wait([self = Self(), generation](beast::error_code ec) {
      if (ec || generation != self->head_generation_) return;
      self->OnHeadDeadline();
    });
  }

  void StopHeadDeadline() {
    ++head_generation_;  // a wait already completed but not yet run is ignored
    head_timer_.cancel();
  }

  void OnHeadDeadline() {
    if (phase_ == Phase::kHandshake) {
      core_->metrics.header_timeouts.Inc();
      return Close();
    }
    if (phase_ != Phase::kReadingHeader) return;
    // The read in progress fails with operation_aborted; OnReadError
    // answers 408.
    head_timed_out_ = true;
    beast::error_code ignored;
    Tcp().socket().cancel(ignored);
  }

  // Resets the per-request state for the next request on this connection.
  void PrepareForRequest() {
    phase_ = Phase::kReadingHeader;
    // Reading a large body grows the buffer; an idle connection (agents keep
    // thousands open) should not keep that memory.
    if (buffer_.size() == 0 && buffer_.capacity() > kIdleBufferBytes) buffer_.shrink_to_fit();
    stream_parser_.reset();
    scratch_.reset();
    scratch_size_ = 0;
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    // With stream_body the limit waits until the callback has declined the
    // body: Beast would otherwise refuse a large Content-Length in the header.
    if (core_->options.stream_body) {
      parser_->body_limit(boost::none);
    } else {
      parser_->body_limit(core_->options.max_body_bytes);
    }
  }

  // The next request on a kept-alive connection.
  void ReadHeader() { ReadRequest(/*deadline_running=*/false); }

  // Before its first byte a request may keep the connection idle for
  // idle_timeout_seconds; its head then has header_timeout_seconds from that
  // byte, or for a connection's first request from the accept (the
  // deadline already running).
  void ReadRequest(bool deadline_running) {
    if (core_->stopping.load()) {
      Close();
      return;
    }
    PrepareForRequest();
    if (buffer_.size() > 0) {  // pipelined: the next request is already here
      if (!deadline_running) StartHeadDeadline();
      return ReadHead();
    }
    Tcp().expires_after(std::chrono::seconds(core_->options.idle_timeout_seconds));
    stream_.async_read_some(buffer_.prepare(kIdleBufferBytes),
                            [self = Self(), deadline_running](beast::error_code ec, size_t n) {
                              if (self->phase_ == Phase::kClosed) return;
                              self->buffer_.commit(n);
                              // Bytes that came as the deadline passed are too late.
                              if (ec || self->head_timed_out_) return self->OnReadError(ec);
                              if (!deadline_running) self->StartHeadDeadline();
                              self->ReadHead();
                            });
  }

  // Reads only the header first so that a declared body over the limit is
  // refused before a byte of it is read.
  void ReadHead() {
    if (core_->options.header_timeout_seconds > 0) {
      Tcp().expires_never();  // the head deadline's timer applies
    } else {
      Tcp().expires_after(std::chrono::seconds(core_->options.idle_timeout_seconds));
    }
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = Self()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (phase_ == Phase::kClosed) return;
    StopHeadDeadline();
    if (ec) return OnReadError(ec);
    head_timed_out_ = false;  // the head came whole as the deadline passed: it counts
    const auto& req = parser_->get();
    bool expect_continue =
        req.version() >= 11 && EqualsIgnoreCase(req[bhttp::field::expect], "100-continue");

    if (core_->options.stream_body) {
      stream_head_ = HeadOf(req);
      std::shared_ptr<BodySink> sink;
      try {
        sink = core_->options.stream_body(stream_head_);
      } catch (const std::exception& e) {
        LogError("http stream_body threw", {{"error", e.what()}});
        return WriteError(ErrorResponse(500, "internal error"));
      } catch (...) {
        LogError("http stream_body threw", {{"error", "unknown exception"}});
        return WriteError(ErrorResponse(500, "internal error"));
      }
      if (sink) return StartStreaming(std::move(sink), expect_continue);
      stream_head_ = Request();
      parser_->body_limit(core_->options.max_body_bytes);  // applies to chunked bodies
    }

    // Beast already fails the header read with body_limit when Content-Length
    // is too large; this check keeps the rule visible and independent of that.
    auto length = parser_->content_length();
    if (length && *length > core_->options.max_body_bytes) return RefuseTooLarge();
    if (parser_->is_done()) return OnRequest();

    phase_ = Phase::kReadingBody;
    if (expect_continue) return SendContinueThen(&Connection::ReadBody);
    ReadBody();
  }

  // The client waits for "100 Continue" before sending the body (curl, some
  // SDKs, docker and skopeo at times).
  void SendContinueThen(void (Connection::*next)()) {
    Tcp().expires_after(std::chrono::seconds(core_->options.idle_timeout_seconds));
    asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = Self(), next](beast::error_code ec, size_t) {
                        if (self->phase_ == Phase::kClosed) return;
                        if (ec) return self->Close();
                        ((*self).*next)();
                      });
  }

  void ReadBody() {
    Tcp().expires_after(std::chrono::seconds(core_->options.idle_timeout_seconds));
    bhttp::async_read(stream_, buffer_, *parser_, [self = Self()](beast::error_code ec, size_t) {
      if (ec) return self->OnReadError(ec);
      self->OnRequest();
    });
  }

  // The request line and header fields, as the handler sees them.
  Request HeadOf(const bhttp::request_header<>& message) {
    Request request = internal::RequestFromHead(message);
    request.remote_address = remote_address_;
    return request;
  }

  // Streams the body of the request whose header parser_ holds into `sink`.
  void StartStreaming(std::shared_ptr<BodySink> sink, bool expect_continue) {
    sink_ = std::move(sink);
    body_bytes_ = 0;
    const auto& req = parser_->get();
    head_request_ = req.method() == bhttp::verb::head;
    close_after_reply_ = !req.keep_alive();
    keep_alive_header_ = req.version() < 11 && req.keep_alive();
    linger_ = false;
    if (parser_->is_done()) return FinishStream(Status::Ok());  // no body at all

    phase_ = Phase::kReadingBody;
    // Only the header has been parsed, so the parser can change its body
    // type: buffer_body hands over the body in pieces, into scratch_.
    stream_parser_.emplace(std::move(*parser_));
    stream_parser_->body_limit(boost::none);  // the sink sets its own limits
    stream_parser_->eager(true);              // parse all that each read brings
    EnsureScratch(kPieceBytes);
    piece_filled_ = 0;
    if (buffer_.capacity() < kStreamReadBytes) buffer_.reserve(kStreamReadBytes);
    if (expect_continue) return SendContinueThen(&Connection::ReadStreamPiece);
    ReadStreamPiece();
  }

  // Each socket read gets a fresh deadline, so a long upload lives as long
  // as bytes keep coming. Reads fill scratch_; the sink gets it when full
  // (or at the end of the body): fewer, larger writes for it.
  void ReadStreamPiece() {
    auto& body = stream_parser_->get().body();
    body.data = scratch_.get() + piece_filled_;
    body.size = kPieceBytes - piece_filled_;
    body.more = true;
    Tcp().expires_after(std::chrono::seconds(core_->options.idle_timeout_seconds));
    bhttp::async_read_some(
        stream_, buffer_, *stream_parser_,
        [self = Self()](beast::error_code ec, size_t) { self->OnStreamRead(ec); });
  }

  void OnStreamRead(beast::error_code ec) {
    if (phase_ == Phase::kClosed) return;
    if (ec == bhttp::error::need_buffer) ec = {};  // scratch_ is full
    if (ec) {
      // The body was cut off or garbled: the handler never sees the request.
      sink_.reset();
      return OnReadError(ec);
    }
    piece_filled_ = kPieceBytes - stream_parser_->get().body().size;
    bool done = stream_parser_->is_done();
    if (piece_filled_ == kPieceBytes || (done && piece_filled_ > 0)) {
      Status written;
      try {
        written = sink_->Write(std::string_view(scratch_.get(), piece_filled_));
      } catch (const std::exception& e) {
        written = Internal(std::string("body sink threw: ") + e.what());
      } catch (...) {
        written = Internal("body sink threw");
      }
      if (!written.ok()) {
        // The rest of the body stays unread: reply, then drain and close.
        close_after_reply_ = true;
        linger_ = true;
        return FinishStream(std::move(written));
      }
      body_bytes_ += piece_filled_;
      piece_filled_ = 0;
    }
    if (done) return FinishStream(Status::Ok());
    ReadStreamPiece();
  }

  void FinishStream(Status status) {
    phase_ = Phase::kHandling;
    Request request = std::move(stream_head_);
    stream_head_ = Request();
    request.body_sink = std::move(sink_);
    request.body_bytes = body_bytes_;
    request.body_status = std::move(status);
    CallHandler(std::move(request));
  }

  void OnReadError(beast::error_code ec) {
    if (head_timed_out_) {
      head_timed_out_ = false;
      core_->metrics.header_timeouts.Inc();
      // A connection that sent nothing of a request is closed silently, as
      // an idle one is; one that sent part of a head learns why.
      if (buffer_.size() == 0) return Close();
      LogDebug("http request head timed out",
               {{"listener", core_->options.name}, {"peer", remote_address_}});
      return WriteError(ErrorResponse(
          408, "request head not received within " +
                   std::to_string(core_->options.header_timeout_seconds) + " s; closing"));
    }
    if (ec == bhttp::error::body_limit) return RefuseTooLarge();
    if (ec == bhttp::error::header_limit) {
      return WriteError(ErrorResponse(431, "request header fields too large"));
    }
    // Clean closes, truncated messages, timeouts and socket errors end the
    // connection silently: nobody is left to read a reply.
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
        ec.category() != bhttp::make_error_code(bhttp::error::bad_method).category()) {
      return Close();
    }
    WriteError(ErrorResponse(400, "malformed request: " + ec.message()));
  }

  void RefuseTooLarge() {
    WriteError(ErrorResponse(413, "request body larger than " +
                                      std::to_string(core_->options.max_body_bytes) + " bytes"));
  }

  // Replies to a request the server refused itself and closes: its body, if
  // any, was not read, so the stream cannot carry another request.
  void WriteError(Response&& response) {
    phase_ = Phase::kHandling;
    head_request_ = false;
    close_after_reply_ = true;
    linger_ = true;
    WriteResponse(std::move(response));
  }

  void OnRequest() {
    auto message = parser_->release();
    phase_ = Phase::kHandling;
    head_request_ = message.method() == bhttp::verb::head;
    close_after_reply_ = !message.keep_alive();
    keep_alive_header_ = message.version() < 11 && message.keep_alive();
    linger_ = false;

    upgrade_request_.reset();
    if (boost::beast::websocket::is_upgrade(message)) upgrade_request_.emplace(message.base());
    Request request = HeadOf(message);
    request.body = std::move(message.body());
    // Nothing of a next request has come: no buffer while the handler runs
    // (a held long poll may take minutes), the next read starts a new one.
    if (buffer_.size() == 0) buffer_.shrink_to_fit();
    parser_.reset();
    CallHandler(std::move(request));
  }

  void CallHandler(Request&& request) {
    // The handler may take as long as it needs (a durable write); the write
    // of its reply gets a fresh timeout.
    Tcp().expires_never();
    Responder responder = [state = std::make_shared<ReplyState>(this->shared_from_this())](
                              Response response) { state->Answer(std::move(response)); };
    try {
      core_->handler(std::move(request), std::move(responder));
    } catch (const std::exception& e) {
      // The Responder was destroyed while unwinding, which replied 500.
      LogError("http handler threw", {{"error", e.what()}});
    } catch (...) {
      LogError("http handler threw", {{"error", "unknown exception"}});
    }
  }

  void WriteResponse(Response&& response) {
    // A force-closed connection (Stop's grace period ran out) drops late replies.
    if (phase_ != Phase::kHandling) return;
    if (response.on_websocket) {
      // Stop() may already have closed the open sockets: no new one now.
      if (upgrade_request_ && !core_->stopping.load()) {
        return Upgrade(std::move(response.on_websocket));
      }
      response = upgrade_request_ ? ErrorResponse(503, "server stopping")
                                  : ErrorResponse(400, "this endpoint needs a WebSocket upgrade");
      close_after_reply_ = true;
    }
    phase_ = Phase::kWriting;
    bool close = close_after_reply_ || core_->stopping.load();
    bool from_file = !response.body_file.empty();
    uint64_t length = from_file ? response.file_length : response.body.size();
    bool send_body = SerializeHead(response, length, &close);
    Tcp().expires_after(std::chrono::seconds(core_->options.idle_timeout_seconds));
    if (from_file && send_body) return StartFileBody(response, close);

    if (!from_file) body_ = std::move(response.body);
    // buffers_cat, not a std::array of two: for that type asio::async_write
    // hands the next write an empty first buffer once the first is sent,
    // and over TLS Beast's flat_stream then writes nothing, which ends the
    // write early whenever the second buffer is larger than a TLS record.
    auto buffers = beast::buffers_cat(
        asio::buffer(head_), send_body && !from_file ? asio::buffer(body_) : asio::const_buffer());
    asio::async_write(stream_, buffers, [self = Self(), close](beast::error_code ec, size_t) {
      self->OnWritten(ec, close);
    });
  }

  // The handler accepted the upgrade: the WebSocket takes the stream over
  // and keeps this connection (which owns it) alive while it is open.
  void Upgrade(WebSocketHandler on_open) {
    phase_ = Phase::kUpgraded;
    websocket_ = internal::AcceptWebSocket(stream_, std::move(*upgrade_request_),
                                           this->shared_from_this(), std::move(on_open));
    upgrade_request_.reset();
  }

  // Writes the status line and headers into head_ (its capacity is reused
  // across requests), announcing a body of body_length bytes. Returns whether
  // the body is to be sent; sets *close if the handler asked to close the
  // connection.
  bool SerializeHead(const Response& response, uint64_t body_length, bool* close) {
    int status = response.status;
    if (status < 100 || status > 999) status = 500;
    // 1xx and 204 carry neither body nor Content-Length; 304 and replies to
    // HEAD describe a body they do not carry.
    bool bodiless = status < 200 || status == 204;
    bool send_body = !bodiless && status != 304 && !head_request_;
    const std::string* declared_length = nullptr;

    head_.clear();
    head_ += "HTTP/1.1 ";
    AppendNumber(head_, status);
    head_ += ' ';
    std::string_view reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
    head_ += reason == "<unknown-status>" ? std::string_view("Unknown") : reason;
    head_ += "\r\n";
    for (const auto& [name, value] : response.headers) {
      if (EqualsIgnoreCase(name, "content-length")) {
        declared_length = &value;
        continue;
      }
      if (EqualsIgnoreCase(name, "connection")) {
        if (EqualsIgnoreCase(value, "close")) *close = true;
        continue;
      }
      // The server frames the body itself; a handler's framing would contradict it.
      if (EqualsIgnoreCase(name, "transfer-encoding")) continue;
      if (name.empty() || !SafeHeaderText(name) || !SafeHeaderText(value)) continue;
      head_ += name;
      head_ += ": ";
      head_ += value;
      head_ += "\r\n";
    }
    if (!bodiless) {
      // For HEAD and 304 the handler may state the length of the body it
      // did not produce; otherwise the length is always the body's own.
      if (!send_body && declared_length && AllDigits(*declared_length)) {
        head_ += "Content-Length: ";
        head_ += *declared_length;
        head_ += "\r\n";
      } else if (send_body || status != 304) {
        head_ += "Content-Length: ";
        AppendNumber(head_, body_length);
        head_ += "\r\n";
      }
    }
    if (*close) {
      head_ += "Connection: close\r\n";
    } else if (keep_alive_header_) {
      head_ += "Connection: keep-alive\r\n";  // HTTP/1.0 clients need it said
    }
    head_ += "\r\n";
    return send_body;
  }

  // Sends head_ and then the file's bytes [file_offset, file_offset +
  // file_length), piece by piece through scratch_. Content-Length is already
  // promised, so a file that cannot be read ends the connection.
  void StartFileBody(const Response& response, bool close) {
    uint64_t offset = response.file_offset;
    uint64_t length = response.file_length;
    constexpr uint64_t kMaxOffset = std::numeric_limits<off_t>::max();
    if (offset > kMaxOffset || length > kMaxOffset - offset) {
      LogWarn("http response file range out of bounds", {{"file", response.body_file}});
      return Close();
    }
    file_fd_ = ::open(response.body_file.c_str(), O_RDONLY | O_CLOEXEC);
    if (file_fd_ < 0) {
      LogWarn("http response file cannot be opened",
              {{"file", response.body_file}, {"error", std::strerror(errno)}});
      return Close();
    }
    file_path_ = response.body_file;
    file_offset_ = offset;
    file_left_ = length;
    if (length > 0) {
      ::posix_fadvise(file_fd_, static_cast<off_t>(offset), static_cast<off_t>(length),
                      POSIX_FADV_SEQUENTIAL);
      EnsureScratch(std::min<uint64_t>(length, kPieceBytes));
    }
    SendFilePiece(close, /*with_head=*/true);
  }

  void SendFilePiece(bool close, bool with_head) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(file_left_, scratch_size_));
    size_t got = 0;
    while (got < want) {
      ssize_t n = ::pread(file_fd_, scratch_.get() + got, want - got,
                          static_cast<off_t>(file_offset_ + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        LogWarn("http response file cannot be read",
                {{"file", file_path_},
                 {"error", n == 0 ? std::string("file shorter than the promised range")
                                  : std::string(std::strerror(errno))}});
        return Close();
      }
      got += static_cast<size_t>(n);
    }
    file_offset_ += want;
    file_left_ -= want;
    auto buffers = beast::buffers_cat(with_head ? asio::buffer(head_) : asio::const_buffer(),
                                      asio::const_buffer(scratch_.get(), want));  // see above
    Tcp().expires_after(std::chrono::seconds(core_->options.idle_timeout_seconds));
    asio::async_write(stream_, buffers, [self = Self(), close](beast::error_code ec, size_t) {
      if (self->phase_ == Phase::kClosed) return;
      if (ec || self->file_left_ == 0) {
        self->CloseFile();
        return self->OnWritten(ec, close);
      }
      self->SendFilePiece(close, /*with_head=*/false);
    });
  }

  void CloseFile() {
    if (file_fd_ >= 0) ::close(file_fd_);
    file_fd_ = -1;
  }

  // One allocation per request that streams, none per piece.
  void EnsureScratch(size_t size) {
    if (scratch_size_ >= size) return;
    scratch_ = std::make_unique_for_overwrite<char[]>(size);
    scratch_size_ = size;
  }

  void OnWritten(beast::error_code ec, bool close) {
    body_.clear();
    if (phase_ == Phase::kClosed) return;
    if (ec) return Close();
    if (!close) return ReadHeader();
    if (linger_) return Linger();
    beast::error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
    Close();
  }

  void Linger() {
    phase_ = Phase::kLingering;
    beast::error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
    buffer_.clear();
    Tcp().expires_after(kLingerTime);  // one deadline for the whole drain
    DrainSome();
  }

  void DrainSome() {
    stream_.async_read_some(buffer_.prepare(kLingerReadBytes),
                            [self = Self()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->DrainSome();
                            });
  }

  std::shared_ptr<ServerCore> core_;
  // Declared before stream_, which uses it: the certificate this
  // connection was accepted with, kept even if the server reloads another.
  std::shared_ptr<asio::ssl::context> tls_context_;
  Stream stream_;
  asio::steady_timer head_timer_;  // the head deadline (StartHeadDeadline)
  uint64_t head_generation_ = 0;   // which deadline a timer completion belongs to
  bool head_timed_out_ = false;    // the read in progress was cancelled by the deadline
  const std::string address_;      // the client's IP address: the per-address limit's key
  const std::string refusal_;      // non-empty: refused over a limit, answered 503
  beast::flat_buffer buffer_;      // kept across requests: it may hold the next pipelined one
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string head_;
  std::string body_;
  std::string remote_address_;
  Phase phase_ = Phase::kReadingHeader;
  bool head_request_ = false;
  bool close_after_reply_ = false;
  bool keep_alive_header_ = false;
  bool linger_ = false;
  std::atomic<bool> registered_{false};  // also read by the destructor, on any thread

  // The head of a request that asked for a WebSocket, and the socket once
  // the handler accepted (UpgradeToWebSocket).
  std::optional<bhttp::request<bhttp::string_body>> upgrade_request_;
  std::weak_ptr<internal::WebSocketCore> websocket_;

  // A request whose body streams into a sink: its head, parser and sink.
  Request stream_head_;
  std::optional<bhttp::request_parser<bhttp::buffer_body>> stream_parser_;
  std::shared_ptr<BodySink> sink_;
  uint64_t body_bytes_ = 0;  // taken by the sink
  size_t piece_filled_ = 0;  // bytes in scratch_ not yet given to the sink

  // A reply whose body comes from a file.
  int file_fd_ = -1;
  std::string file_path_;  // for log messages
  uint64_t file_offset_ = 0;
  uint64_t file_left_ = 0;

  // Piece buffer for streamed bodies in either direction.
  std::unique_ptr<char[]> scratch_;
  size_t scratch_size_ = 0;
};

int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Counts a refusal; logs one now and then (a flood must not flood the log).
void CountRefusal(ServerCore* core, ConnectionLimits::Verdict verdict, const std::string& address,
                  const std::string& message) {
  (verdict == ConnectionLimits::Verdict::kTooManyConnections ? core->metrics.refused_connections
                                                             : core->metrics.refused_per_address)
      .Inc();
  int64_t now = SteadyMillis();
  int64_t last = core->last_refusal_log_ms.load();
  if (now - last < kRefusalLogIntervalMillis ||
      !core->last_refusal_log_ms.compare_exchange_strong(last, now)) {
    return;
  }
  LogWarn("http connection refused over a limit",
          {{"listener", core->options.name},
           {"limit", std::string(ConnectionLimits::LimitLabel(verdict))},
           {"peer", address},
           {"reason", message}});
}

// On the acceptor's strand: a new connection, admitted under the limits or
// refused with a 503.
void Admit(ServerCore* core, tcp::socket socket) {
  beast::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  std::string address = peer.address().to_string();
  std::string refusal;
  auto verdict = core->limits.Admit(address);
  if (verdict != ConnectionLimits::Verdict::kAdmitted) {
    refusal = core->limits.RefusalMessage(verdict, address);
    CountRefusal(core, verdict, address, refusal);
    if (core->refusing.load() >= kMaxRefusing) return;  // closed without a word
  }
  if (core->options.tls) {
    std::make_shared<Connection<true>>(core->shared_from_this(), std::move(socket),
                                       core->options.tls->Current(), std::move(address),
                                       std::move(refusal))
        ->Start();
  } else {
    std::make_shared<Connection<false>>(core->shared_from_this(), std::move(socket), nullptr,
                                        std::move(address), std::move(refusal))
        ->Start();
  }
}

// Runs on the acceptor's strand. A raw pointer is enough: the server holds the
// core until its I/O threads have ended, and with them every accept.
void Accept(ServerCore* core) {
  core->acceptor.async_accept(asio::make_strand(core->io_context),
                              [core](beast::error_code ec, tcp::socket socket) {
                                if (core->stopping.load() || ec == asio::error::operation_aborted)
                                  return;
                                if (ec) {
                                  // Usually out of file descriptors: retrying at once would spin.
                                  LogWarn("http accept failed", {{"error", ec.message()}});
                                  core->accept_retry.expires_after(std::chrono::milliseconds(50));
                                  core->accept_retry.async_wait([core](beast::error_code wait_ec) {
                                    if (!wait_ec && !core->stopping.load()) Accept(core);
                                  });
                                  return;
                                }
                                Admit(core, std::move(socket));
                                Accept(core);
                              });
}

class BeastServer : public Server {
 public:
  BeastServer(std::shared_ptr<ServerCore> core, uint16_t port)
      : core_(std::move(core)), port_(port), work_(core_->io_context.get_executor()) {}

  ~BeastServer() override { Stop(); }

  void Run(int threads) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([core = core_] {
        for (;;) {
          try {
            core->io_context.run();
            return;
          } catch (const std::exception& e) {
            LogError("http I/O thread caught exception", {{"error", e.what()}});
          }
        }
      });
    }
  }

  uint16_t port() const override { return port_; }

  void Stop() override {
    std::lock_guard stop_lock(stop_mu_);  // a second caller returns once the first is done
    if (stopped_) return;
    stopped_ = true;

    {
      std::lock_guard lock(core_->mu);
      core_->stopping.store(true);
    }
    asio::post(core_->acceptor.get_executor(), [core = core_] {
      beast::error_code ignored;
      core->acceptor.close(ignored);
      core->accept_retry.cancel();
    });
    for (auto& c : core_->SnapshotConnections()) {
      asio::post(c->executor(), [c] { c->CloseIfIdle(); });
    }

    {
      std::unique_lock lock(core_->mu);
      core_->drained.wait_for(lock, std::chrono::seconds(core_->options.stop_grace_seconds),
                              [&] { return core_->connections.empty(); });
    }

    core_->closed.store(true);
    while (core_->posting.load() != 0) std::this_thread::yield();
    auto stuck = core_->SnapshotConnections();
    if (!stuck.empty()) {
      LogWarn("http stop: closing requests still in flight",
              {{"count", std::to_string(stuck.size())}});
    }
    for (auto& c : stuck) asio::post(c->executor(), [c] { c->Close(); });
    stuck.clear();

    // With every socket closed and the work guard gone, run() returns once
    // the last completion handler has run.
    work_.reset();
    for (auto& t : threads_) {
      if (t.get_id() == std::this_thread::get_id()) {
        t.detach();  // Stop() from a handler: cannot join itself
      } else {
        t.join();
      }
    }
    threads_.clear();
  }

 private:
  std::shared_ptr<ServerCore> core_;
  const uint16_t port_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  std::mutex stop_mu_;
  bool stopped_ = false;  // guarded by stop_mu_
};

// Serves core's bound and listening acceptor.
StatusOr<std::unique_ptr<Server>> Run(const std::shared_ptr<ServerCore>& core, int threads) {
  beast::error_code ec;
  uint16_t bound_port = core->acceptor.local_endpoint(ec).port();
  if (ec) return Unavailable("listen " + core->options.listen + ": " + ec.message());
  auto server = std::make_unique<BeastServer>(core, bound_port);
  asio::post(core->acceptor.get_executor(), [raw = core.get()] { Accept(raw); });
  server->Run(threads);
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace

StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options, Handler handler) {
  auto fail = [&](std::string_view why) {
    return Unavailable("listen " + options.listen + ": " + std::string(why));
  };
  if (!handler) return InvalidArgument("http server needs a handler");
  int threads = std::max(1, options.threads);
  if (options.listen_fd >= 0) {
    auto core = std::make_shared<ServerCore>(options, std::move(handler), threads);
    beast::error_code ec;
    core->acceptor.assign(tcp::v4(), options.listen_fd, ec);
    if (ec) {
      ::close(options.listen_fd);
      return fail(ec.message());
    }
    return Run(core, threads);
  }
  auto hostport = SplitHostPort(options.listen);
  if (!hostport.ok()) return hostport.status().WithContext("listen " + options.listen);
  auto core = std::make_shared<ServerCore>(options, std::move(handler), threads);

  beast::error_code ec;
  tcp::endpoint endpoint;
  const auto& [host, port] = *hostport;
  if (host.empty()) {
    endpoint = tcp::endpoint(tcp::v4(), port);
  } else {
    auto address = asio::ip::make_address(host, ec);
    if (ec) {
      tcp::resolver resolver(core->io_context);
      auto results = resolver.resolve(host, std::to_string(port), ec);
      if (ec) return fail(ec.message());
      if (results.empty()) return fail("no address");
      endpoint = results.begin()->endpoint();
    } else {
      endpoint = tcp::endpoint(address, port);
    }
  }

  auto& acceptor = core->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ec.message());
  return Run(core, threads);
}

}  // namespace berth::http
