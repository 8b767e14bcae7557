// A listener's open connections counted against its limits: in all, and
// per client address (one host must not take every connection). The server
// asks at accept; over a limit the connection is answered 503 with the
// reason and closed (server.cc).
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace berth::http {

// Thread-safe.
class ConnectionLimits {
 public:
  enum class Verdict { kAdmitted, kTooManyConnections, kTooManyFromAddress };

  // 0: no limit.
  ConnectionLimits(int max_connections, int max_per_address)
      : max_connections_(max_connections), max_per_address_(max_per_address) {}

  // Counts a connection from address, unless a limit is reached.
  Verdict Admit(const std::string& address);
  // Once for every admitted connection, when it closes.
  void Release(const std::string& address);

  size_t open() const;
  // The one line a refused client reads: "too many connections from
  // 10.0.0.7 (at most 512 per client address); try again later".
  std::string RefusalMessage(Verdict verdict, std::string_view address) const;
  // The metric label of a refusal: "connections" or "connections_per_address".
  static std::string_view LimitLabel(Verdict verdict);

 private:
  const int max_connections_;
  const int max_per_address_;
  mutable std::mutex mu_;
  size_t open_ = 0;                                   // guarded by mu_
  std::unordered_map<std::string, int> per_address_;  // guarded by mu_; no zero entries
};

}  // namespace berth::http
