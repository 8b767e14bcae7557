#include "http/client.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_cat.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <type_traits>
#include <utility>

#include "http/ascii.h"
#include "http/client_tls.h"
#include "http/endpoint.h"

namespace berth::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr uint32_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kPieceBytes = 256 * 1024;  // response bodies reach a sink in pieces this large
// Beast reads no more than the read buffer's capacity at a time (at most 64
// KiB): a buffer sized for a small header would make large bodies crawl.
constexpr size_t kReadBufferBytes = 64 * 1024;
// How long a body sent with "Expect: 100-continue" waits for the go-ahead
// before it is sent anyway (as curl does): servers may ignore the header.
constexpr int kContinueWaitMillis = 1000;

std::string ErrnoText() { return std::strerror(errno); }

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// A handshake that failed because the peer does not speak TLS at all: its
// first bytes were not a TLS record (an HTTP reply), or it hung up.
bool NotTls(const beast::error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category()) {
    int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
    return reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
           reason == SSL_R_UNKNOWN_PROTOCOL || reason == SSL_R_RECORD_LENGTH_MISMATCH;
  }
  return ec == asio::ssl::error::stream_truncated || ec == asio::error::eof ||
         ec == asio::error::connection_reset;
}

// Blocking calls are asynchronous operations run to completion on a private
// io_context: that is how beast::tcp_stream's timeouts apply to them (under
// TLS too: the ssl_stream reads and writes through the tcp_stream).
class BeastClient : public Client {
 public:
  BeastClient(std::string host, uint16_t port, int timeout_seconds, TlsOptions tls)
      : host_(std::move(host)),
        port_(port),
        endpoint_(FormatEndpoint(host_, port_)),
        timeout_(std::chrono::seconds(timeout_seconds > 0 ? timeout_seconds : 30)),
        tls_options_(std::move(tls)),
        use_tls_(tls_options_.enabled) {
    buffer_.reserve(kReadBufferBytes);
  }

  bool tls() const override { return use_tls_; }

  StatusOr<Response> Do(const Request& request) override { return Do(request, nullptr); }

  StatusOr<Response> Do(const Request& request, BodySink* response_sink) override {
    bool reused = connected_;
    if (!connected_) BERTH_RETURN_IF_ERROR(Connect());
    bool retry = false;
    auto response = Exchange(request, response_sink, reused, &retry);
    if (retry) {
      // The server closed the kept-alive connection before this request
      // reached it (idle timeout, restart): the request was not processed.
      BERTH_RETURN_IF_ERROR(Connect());
      response = Exchange(request, response_sink, false, &retry);
    }
    return response;
  }

  StatusOr<Response> Do(const Request& head, BodySource& body, uint64_t content_length,
                        BodySink* response_sink) override {
    // The body cannot be sent twice, so a connection the server has already
    // closed is noticed before the request rather than after it.
    if (connected_ && !LooksAlive()) Disconnect();
    bool reused = connected_;
    if (!connected_) BERTH_RETURN_IF_ERROR(Connect());
    bool retry = false;
    auto response = ExchangeStreamed(head, body, content_length, response_sink, reused, &retry);
    if (retry) {
      BERTH_RETURN_IF_ERROR(Connect());
      response = ExchangeStreamed(head, body, content_length, response_sink, false, &retry);
    }
    return response;
  }

 private:
  // Runs initiate(stream, handler) to completion, stream being the TLS or
  // the plain one, whichever this connection uses.
  template <typename Initiate>
  beast::error_code Run(Initiate&& initiate) {
    beast::error_code result;
    io_context_.restart();
    auto handler = [&result](beast::error_code ec, auto&&...) { result = ec; };
    if (tls_stream_) {
      initiate(*tls_stream_, std::move(handler));
    } else {
      initiate(tcp_, std::move(handler));
    }
    io_context_.run();
    return result;
  }

  // The TCP stream under either: timeouts, the socket.
  beast::tcp_stream& Tcp() { return tls_stream_ ? tls_stream_->next_layer() : tcp_; }

  Status Connect() {
    Disconnect();
    beast::error_code ec;
    tcp::resolver resolver(io_context_);
    auto endpoints = resolver.resolve(host_, std::to_string(port_), ec);
    if (ec) return Unavailable("resolve " + host_ + ": " + ec.message());
    if (use_tls_) {
      if (!tls_context_) {
        auto context = internal::ClientTlsContext(tls_options_);
        if (!context.ok()) return context.status().WithContext("tls to " + endpoint_);
        tls_context_ = std::move(*context);
      }
      tls_stream_.emplace(io_context_, *tls_context_);
    }
    Tcp().expires_after(timeout_);
    ec = Run([&](auto&, auto handler) { Tcp().async_connect(endpoints, std::move(handler)); });
    if (ec) {
      Disconnect();
      return Unavailable("connect " + endpoint_ + ": " + ec.message());
    }
    Tcp().socket().set_option(tcp::no_delay(true), ec);
    if (use_tls_) {
      Status handshake = Handshake();
      if (!handshake.ok()) return handshake;
    }
    connected_ = true;
    return Status::Ok();
  }

  // The TLS handshake on a fresh connection, verifying the certificate
  // against the name (SNI) or IP address; with fall_back_to_plain, a server
  // that does not speak TLS gets plain HTTP on a new connection.
  Status Handshake() {
    SSL* ssl = tls_stream_->native_handle();
    const std::string& name = tls_options_.server_name.empty() ? host_ : tls_options_.server_name;
    if (Status expected = internal::ExpectPeerName(ssl, name, endpoint_); !expected.ok()) {
      Disconnect();
      return expected;
    }
    Tcp().expires_after(timeout_);
    beast::error_code ec = Run([&](auto& stream, auto handler) {
      if constexpr (std::is_same_v<std::decay_t<decltype(stream)>, TlsStream>) {
        stream.async_handshake(asio::ssl::stream_base::client, std::move(handler));
      }
    });
    if (!ec) return Status::Ok();
    std::string message = internal::HandshakeError(ssl, ec, name, endpoint_);
    bool refused = internal::CertificateRefused(ssl);
    Disconnect();
    if (!refused && tls_options_.fall_back_to_plain && NotTls(ec)) {
      use_tls_ = false;
      return Connect();
    }
    return Unavailable(message);
  }

  void Disconnect() {
    // No TLS close_notify: the connection is dropped either way, and a
    // server that does not answer one would only make this wait.
    Tcp().close();
    tls_stream_.reset();
    buffer_.clear();
    connected_ = false;
  }

  // Waits up to `millis` for the server to send something (or close). Under
  // TLS "something" may also be a record that carries no data (TLS 1.3
  // session tickets), so there it is only a hint (see its callers).
  bool WaitReadable(int millis) {
    if (buffer_.size() > 0) return true;
    if (tls_stream_ && SSL_pending(tls_stream_->native_handle()) > 0) return true;
    pollfd p{Tcp().socket().native_handle(), POLLIN, 0};
    int n;
    do {
      n = ::poll(&p, 1, millis);
    } while (n < 0 && errno == EINTR);
    return n != 0;
  }

  // A kept-alive connection is usable if the server has sent nothing since
  // the last reply: anything readable is its close (or garbage).
  bool LooksAlive() { return !WaitReadable(0); }

  static bool ClosedBeforeReply(const beast::error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
           ec == asio::error::eof || ec == asio::error::broken_pipe ||
           ec == asio::ssl::error::stream_truncated;
  }

  // Sends the request and reads its response. On failure closes the
  // connection, and sets *retry when the request may be sent again on a new
  // one: the connection was reused and the server sent nothing back.
  StatusOr<Response> Exchange(const Request& request, BodySink* sink, bool reused, bool* retry) {
    *retry = false;
    SerializeHead(request, request.body.size());
    // buffers_cat, not a std::array of two: for that type asio::async_write
    // hands the next write an empty first buffer once the first is sent,
    // and over TLS Beast's flat_stream then writes nothing, which ends the
    // write early whenever the second buffer is larger than a TLS record.
    auto buffers = beast::buffers_cat(asio::buffer(head_), asio::buffer(request.body));
    Tcp().expires_after(timeout_);
    beast::error_code ec = Run([&](auto& stream, auto handler) {
      asio::async_write(stream, buffers, std::move(handler));
    });
    if (ec) {
      Disconnect();
      *retry = reused;
      return Unavailable("send request to " + endpoint_ + ": " + ec.message());
    }
    bool head = request.method == "HEAD";
    if (sink) return ReadStreamedResponse(head, sink, reused, retry);

    std::optional<bhttp::response_parser<bhttp::string_body>> parser;
    for (;;) {
      parser.emplace();
      parser->header_limit(kMaxHeaderBytes);
      parser->body_limit(boost::none);  // the caller chose to ask for it
      parser->skip(head);
      ec = Run([&](auto& stream, auto handler) {
        bhttp::async_read(stream, buffer_, *parser, std::move(handler));
      });
      if (ec) {
        *retry = reused && !parser->got_some() && buffer_.size() == 0 && ClosedBeforeReply(ec);
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

  // Sends head_ (already serialised) and then the body from `source`.
  StatusOr<Response> ExchangeStreamed(const Request& request, BodySource& source,
                                      uint64_t content_length, BodySink* sink, bool reused,
                                      bool* retry) {
    *retry = false;
    bool chunked = content_length == kChunked;
    bool head = request.method == "HEAD";
    SerializeHead(request, content_length);
    Tcp().expires_after(timeout_);
    beast::error_code ec = Run([&](auto& stream, auto handler) {
      asio::async_write(stream, asio::buffer(head_), std::move(handler));
    });
    if (ec) {
      Disconnect();
      *retry = reused;
      return Unavailable("send request to " + endpoint_ + ": " + ec.message());
    }

    // A final reply that arrives before the whole body was sent ends the
    // exchange: the server will not read the rest. Under TLS a readable
    // socket may hold no reply (a session ticket), and reading a reply that
    // does not come would block: there the body is sent without waiting, and
    // an early reply is noticed only once a write fails.
    bool early_reply = false;
    bool plain = !tls_stream_;
    const std::string* expect = request.Header("expect");
    if (plain && expect && EqualsIgnoreCase(*expect, "100-continue") &&
        WaitReadable(kContinueWaitMillis)) {
      ec = ReadResponseHeader(head);
      if (ec) {
        *retry = reused && !parser_->got_some() && ClosedBeforeReply(ec);
        Disconnect();
        return Unavailable("read response from " + endpoint_ + ": " + ec.message());
      }
      early_reply = parser_->get().result_int() >= 200;
    }

    uint64_t sent = 0;
    beast::error_code write_ec;
    while (!early_reply) {
      auto piece = source.Next();
      if (!piece.ok()) {
        Disconnect();
        return piece.status().WithContext("read request body");
      }
      if (piece->empty()) break;
      if (!chunked && piece->size() > content_length - sent) {
        Disconnect();
        return InvalidArgument("request body longer than its content length " +
                               std::to_string(content_length));
      }
      // Only while part of the body is still to be sent is a reply early.
      if (plain && sent > 0 && WaitReadable(0)) {
        ec = ReadResponseHeader(head);
        if (ec) {
          Disconnect();
          return Unavailable("read response from " + endpoint_ + ": " + ec.message());
        }
        early_reply = parser_->get().result_int() >= 200;
        if (early_reply) break;  // else an interim reply: keep sending
      }
      Tcp().expires_after(timeout_);
      if (chunked) {
        char line[24];
        auto [end, unused] = std::to_chars(line, line + 16, piece->size(), 16);
        *end++ = '\r';
        *end++ = '\n';
        std::array<asio::const_buffer, 3> buffers{asio::buffer(line, end - line),
                                                  asio::buffer(piece->data(), piece->size()),
                                                  asio::buffer("\r\n", 2)};
        write_ec = Run([&](auto& stream, auto handler) {
          asio::async_write(stream, buffers, std::move(handler));
        });
      } else {
        write_ec = Run([&](auto& stream, auto handler) {
          asio::async_write(stream, asio::buffer(piece->data(), piece->size()), std::move(handler));
        });
      }
      if (write_ec) break;  // the server may have replied before it closed: look below
      sent += piece->size();
    }

    bool complete = !early_reply && !write_ec;
    if (complete) {
      if (chunked) {
        Tcp().expires_after(timeout_);
        write_ec = Run([&](auto& stream, auto handler) {
          asio::async_write(stream, asio::buffer("0\r\n\r\n", 5), std::move(handler));
        });
        complete = !write_ec;
      } else if (sent != content_length) {
        Disconnect();
        return InvalidArgument("request body ended after " + std::to_string(sent) + " of " +
                               std::to_string(content_length) + " bytes");
      }
    }

    if (!early_reply) {
      // Skip interim replies; after a failed write, only a reply the server
      // sent before closing can still be read.
      do {
        ec = ReadResponseHeader(head);
      } while (!ec && parser_->get().result_int() < 200 && parser_->get().result_int() != 101);
      if (ec) {
        Disconnect();
        if (write_ec) {
          return Unavailable("send request body to " + endpoint_ + ": " + write_ec.message());
        }
        return Unavailable("read response from " + endpoint_ + ": " + ec.message());
      }
    }
    auto response = ReadResponseBody(sink);
    // The server did not read the whole body: the connection cannot carry
    // another request.
    if (!complete) Disconnect();
    return response;
  }

  // Reads a response header (a final or an interim one) into parser_.
  beast::error_code ReadResponseHeader(bool head) {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(boost::none);
    parser_->skip(head);
    Tcp().expires_after(timeout_);
    return Run([&](auto& stream, auto handler) {
      bhttp::async_read_header(stream, buffer_, *parser_, std::move(handler));
    });
  }

  StatusOr<Response> ReadStreamedResponse(bool head, BodySink* sink, bool reused, bool* retry) {
    beast::error_code ec;
    do {
      ec = ReadResponseHeader(head);
      if (ec) {
        *retry = reused && !parser_->got_some() && buffer_.size() == 0 && ClosedBeforeReply(ec);
        Disconnect();
        return Unavailable("read response from " + endpoint_ + ": " + ec.message());
      }
    } while (parser_->get().result_int() < 200 && parser_->get().result_int() != 101);
    return ReadResponseBody(sink);
  }

  // Reads the body of the response whose header parser_ holds: into the sink
  // for a 2xx response, else into Response::body.
  StatusOr<Response> ReadResponseBody(BodySink* sink) {
    const auto& message = parser_->get();
    Response response;
    response.status = message.result_int();
    for (const auto& field : message) {
      response.headers.emplace_back(ToLower(std::string_view(field.name_string())),
                                    std::string(field.value()));
    }
    bool to_sink = sink && response.status >= 200 && response.status < 300;
    if (!parser_->is_done() && !scratch_) {
      scratch_ = std::make_unique_for_overwrite<char[]>(kPieceBytes);
    }
    while (!parser_->is_done()) {
      auto& body = parser_->get().body();
      body.data = scratch_.get();
      body.size = kPieceBytes;
      Tcp().expires_after(timeout_);
      beast::error_code ec = Run([&](auto& stream, auto handler) {
        bhttp::async_read(stream, buffer_, *parser_, std::move(handler));
      });
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) {
        Disconnect();
        return Unavailable("read response body from " + endpoint_ + ": " + ec.message());
      }
      std::string_view piece(scratch_.get(), kPieceBytes - parser_->get().body().size);
      if (to_sink) {
        if (piece.empty()) continue;
        Status written = sink->Write(piece);
        if (!written.ok()) {
          Disconnect();
          return written.WithContext("response body from " + endpoint_);
        }
      } else {
        response.body.append(piece);
      }
    }
    if (!parser_->get().keep_alive()) Disconnect();
    return response;
  }

  // Writes the request line and headers into head_, filling in Host and
  // framing the body as body_length bytes (or chunked): a caller's own
  // Content-Length could be stale and desynchronise the connection.
  void SerializeHead(const Request& request, uint64_t body_length) {
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
    if (body_length == kChunked) {
      head_ += "Transfer-Encoding: chunked\r\n\r\n";
    } else {
      head_ += "Content-Length: ";
      head_ += std::to_string(body_length);
      head_ += "\r\n\r\n";
    }
  }

  const std::string host_;
  const uint16_t port_;
  const std::string endpoint_;  // "host:port", for Host and error messages
  const std::chrono::seconds timeout_;
  const TlsOptions tls_options_;
  bool use_tls_;  // false from the start, or after fall_back_to_plain
  asio::io_context io_context_{1};
  beast::tcp_stream tcp_{io_context_};  // plain connections
  std::shared_ptr<asio::ssl::context> tls_context_;
  std::optional<TlsStream> tls_stream_;  // TLS connections (over their own tcp_stream)
  beast::flat_buffer buffer_;
  std::string head_;
  bool connected_ = false;
  // For responses read in pieces.
  std::optional<bhttp::response_parser<bhttp::buffer_body>> parser_;
  std::unique_ptr<char[]> scratch_;
};

}  // namespace

std::unique_ptr<Client> Client::Create(std::string host, uint16_t port, int timeout_seconds) {
  return std::make_unique<BeastClient>(std::move(host), port, timeout_seconds, TlsOptions{});
}

std::unique_ptr<Client> Client::Create(std::string host, uint16_t port, int timeout_seconds,
                                       TlsOptions tls) {
  return std::make_unique<BeastClient>(std::move(host), port, timeout_seconds, std::move(tls));
}

StatusOr<std::unique_ptr<FileBodySource>> FileBodySource::Open(const std::string& path,
                                                               uint64_t offset,
                                                               std::optional<uint64_t> length) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("open " + path + ": " + ErrnoText());
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status error = Internal("stat " + path + ": " + ErrnoText());
    ::close(fd);
    return error;
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset > size || (length && *length > size - offset)) {
    ::close(fd);
    return InvalidArgument("range beyond the end of " + path + " (" + std::to_string(size) +
                           " bytes)");
  }
  return std::unique_ptr<FileBodySource>(
      new FileBodySource(fd, path, offset, length ? *length : size - offset));
}

FileBodySource::FileBodySource(int fd, std::string path, uint64_t offset, uint64_t length)
    : fd_(fd),
      path_(std::move(path)),
      offset_(offset),
      length_(length),
      left_(length),
      buffer_(std::make_unique_for_overwrite<char[]>(kPieceBytes)) {}

FileBodySource::~FileBodySource() { ::close(fd_); }

StatusOr<std::string_view> FileBodySource::Next() {
  size_t want = static_cast<size_t>(std::min<uint64_t>(left_, kPieceBytes));
  size_t got = 0;
  while (got < want) {
    ssize_t n = ::pread(fd_, buffer_.get() + got, want - got, static_cast<off_t>(offset_ + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Internal("read " + path_ + ": " + ErrnoText());
    if (n == 0) return Internal("read " + path_ + ": file shrank while being sent");
    got += static_cast<size_t>(n);
  }
  offset_ += got;
  left_ -= got;
  return std::string_view(buffer_.get(), got);
}

StatusOr<std::unique_ptr<FileBodySink>> FileBodySink::Create(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Unavailable("create " + path + ": " + ErrnoText());
  return std::unique_ptr<FileBodySink>(new FileBodySink(fd, path));
}

FileBodySink::~FileBodySink() { ::close(fd_); }

Status FileBodySink::Write(std::string_view piece) {
  while (!piece.empty()) {
    ssize_t n = ::write(fd_, piece.data(), piece.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Unavailable("write " + path_ + ": " + ErrnoText());
    piece.remove_prefix(static_cast<size_t>(n));
    written_ += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

}  // namespace berth::http
