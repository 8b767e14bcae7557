// A blocking HTTP/1.1 client over one keep-alive connection (plain or TLS),
// for the command line, tests, load tools and image pulls. Not thread-safe:
// use one Client per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "http/message.h"
#include "http/tls_options.h"

namespace berth::http {

// Produces a request body piece by piece (a file, a generator), so that a
// large body is never built as one string.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // The next piece of the body, valid until the next call. An empty piece
  // ends the body; an error aborts the request.
  virtual StatusOr<std::string_view> Next() = 0;
};

class Client {
 public:
  // Passed as content_length for a body of unknown length: it is sent with
  // Transfer-Encoding: chunked.
  static constexpr uint64_t kChunked = UINT64_MAX;

  // host is a name or address, connected lazily on the first request.
  static std::unique_ptr<Client> Create(std::string host, uint16_t port, int timeout_seconds = 30);
  // With tls.enabled, over TLS 1.2 or later. Certificate and handshake
  // errors name the endpoint: "tls handshake with 127.0.0.1:5443:
  // certificate verify failed: self-signed certificate in certificate chain".
  static std::unique_ptr<Client> Create(std::string host, uint16_t port, int timeout_seconds,
                                        TlsOptions tls);
  virtual ~Client() = default;

  // Whether requests go over TLS (false for plain clients, and after a
  // fall_back_to_plain happened).
  virtual bool tls() const = 0;

  // Sends request (Host and Content-Length are filled in when absent) and
  // reads the whole response. Reconnects once if a kept-alive connection was
  // closed by the server.
  virtual StatusOr<Response> Do(const Request& request) = 0;

  // As above, but the body of a 2xx response is written to response_sink
  // (when not null) piece by piece instead of into Response::body. Other
  // responses (error documents) are read into Response::body as usual. A
  // sink error ends the connection and is returned.
  virtual StatusOr<Response> Do(const Request& request, BodySink* response_sink) = 0;

  // Sends head (its body is ignored) with a body read from `body`, which must
  // produce exactly content_length bytes (or any number with kChunked), and
  // reads the response as the overload above does. The body is sent while
  // watching for an early reply: a server that answers before reading it all
  // (an upload refused mid-way) gets its reply returned, and the connection
  // is closed. With "Expect: 100-continue" in head the body waits up to one
  // second for the server's go-ahead. Not retried once the body has started.
  virtual StatusOr<Response> Do(const Request& head, BodySource& body, uint64_t content_length,
                                BodySink* response_sink) = 0;
};

// Bytes [offset, offset + length) of a file, read in pieces of 256 KiB.
class FileBodySource : public BodySource {
 public:
  // Without length, the rest of the file from offset.
  static StatusOr<std::unique_ptr<FileBodySource>> Open(const std::string& path,
                                                        uint64_t offset = 0,
                                                        std::optional<uint64_t> length = {});
  ~FileBodySource() override;
  FileBodySource(const FileBodySource&) = delete;
  FileBodySource& operator=(const FileBodySource&) = delete;

  uint64_t length() const { return length_; }  // for Client::Do's content_length
  StatusOr<std::string_view> Next() override;

 private:
  FileBodySource(int fd, std::string path, uint64_t offset, uint64_t length);

  int fd_;
  std::string path_;
  uint64_t offset_;
  uint64_t length_;
  uint64_t left_;
  std::unique_ptr<char[]> buffer_;
};

// Writes a body into a file, created or truncated.
class FileBodySink : public BodySink {
 public:
  static StatusOr<std::unique_ptr<FileBodySink>> Create(const std::string& path);
  ~FileBodySink() override;
  FileBodySink(const FileBodySink&) = delete;
  FileBodySink& operator=(const FileBodySink&) = delete;

  Status Write(std::string_view piece) override;
  uint64_t bytes_written() const { return written_; }

 private:
  FileBodySink(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  int fd_;
  std::string path_;
  uint64_t written_ = 0;
};

}  // namespace berth::http
