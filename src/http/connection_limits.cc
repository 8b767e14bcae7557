#include "http/connection_limits.h"

namespace berth::http {

ConnectionLimits::Verdict ConnectionLimits::Admit(const std::string& address) {
  std::lock_guard lock(mu_);
  if (max_connections_ > 0 && open_ >= static_cast<size_t>(max_connections_)) {
    return Verdict::kTooManyConnections;
  }
  int& from_address = per_address_[address];
  if (max_per_address_ > 0 && from_address >= max_per_address_) {
    return Verdict::kTooManyFromAddress;  // from_address > 0: no empty entry is left
  }
  ++from_address;
  ++open_;
  return Verdict::kAdmitted;
}

void ConnectionLimits::Release(const std::string& address) {
  std::lock_guard lock(mu_);
  auto it = per_address_.find(address);
  if (it == per_address_.end()) return;
  if (--it->second <= 0) per_address_.erase(it);
  if (open_ > 0) --open_;
}

size_t ConnectionLimits::open() const {
  std::lock_guard lock(mu_);
  return open_;
}

std::string ConnectionLimits::RefusalMessage(Verdict verdict, std::string_view address) const {
  if (verdict == Verdict::kTooManyConnections) {
    return "too many connections to this server (at most " + std::to_string(max_connections_) +
           "); try again later";
  }
  return "too many connections from " + std::string(address) + " (at most " +
         std::to_string(max_per_address_) + " per client address); try again later";
}

std::string_view ConnectionLimits::LimitLabel(Verdict verdict) {
  return verdict == Verdict::kTooManyConnections ? "connections" : "connections_per_address";
}

}  // namespace berth::http
