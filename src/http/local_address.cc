#include "http/local_address.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>

namespace berth::http {

namespace asio = boost::asio;

bool IsIpAddress(std::string_view text) {
  boost::system::error_code ec;
  asio::ip::make_address(std::string(text), ec);
  return !ec;
}

StatusOr<std::string> LocalAddressToward(const std::string& host, uint16_t port) {
  asio::io_context io;
  asio::ip::udp::resolver resolver(io);
  boost::system::error_code ec;
  auto found = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return Unavailable("resolve " + host + ": " + ec.message());
  std::string last_error = "no address";
  for (const auto& entry : found) {
    asio::ip::udp::socket socket(io);
    // Connecting a UDP socket only fixes its peer: the kernel picks the
    // route and the source address, and nothing goes on the wire.
    socket.open(entry.endpoint().protocol(), ec);
    if (!ec) socket.connect(entry.endpoint(), ec);
    if (!ec) {
      asio::ip::udp::endpoint local = socket.local_endpoint(ec);
      if (!ec) return local.address().to_string();
    }
    last_error = ec.message();
  }
  return Unavailable("no route to " + host + ": " + last_error);
}

}  // namespace berth::http
