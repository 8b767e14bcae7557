// Tests only: a plain blocking socket to a local server, for what Client
// will not send (bad requests, bodies never written, pipelined requests,
// heads sent a byte at a time).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace berth::http::testing {

class RawConnection {
 public:
  // Connects to 127.0.0.1:port; reads give up after receive_timeout_seconds.
  explicit RawConnection(uint16_t port, int receive_timeout_seconds = 5) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{receive_timeout_seconds, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawConnection() { Close(); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  void ShutdownWrite() { shutdown(fd_, SHUT_WR); }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(n);
    }
    return true;
  }

  // Reads until the peer closes (or the receive timeout).
  std::string ReadAll() {
    std::string out;
    char buf[16384];
    for (;;) {
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return out;
      out.append(buf, n);
    }
  }

  // Reads until `out` contains `needle` (or the peer closes).
  std::string ReadUntil(std::string_view needle, std::string out = {}) {
    char buf[4096];
    while (out.find(needle) == std::string::npos) {
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.append(buf, n);
    }
    return out;
  }

  // True if the peer closed the connection within the receive timeout.
  bool PeerClosed() {
    char c;
    return recv(fd_, &c, 1, 0) == 0;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

}  // namespace berth::http::testing
