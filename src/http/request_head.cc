#include "http/request_head.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "http/ascii.h"

namespace berth::http::internal {

namespace bhttp = boost::beast::http;

Request RequestFromHead(const bhttp::request_header<>& head) {
  Request request;
  request.method = head.method_string();
  request.target = head.target();
  for (const auto& field : head) {
    request.headers.emplace_back(ToLower(field.name_string()), field.value());
  }
  return request;
}

StatusOr<Request> ParseRequestHead(std::string_view wire) {
  bhttp::request_parser<bhttp::empty_body> parser;
  parser.header_limit(kMaxHeaderBytes);
  parser.eager(false);             // the head only, as the server's first read
  parser.body_limit(boost::none);  // a declared length is the handler's business
  boost::beast::error_code ec;
  size_t used = parser.put(boost::asio::buffer(wire.data(), wire.size()), ec);
  if (ec == bhttp::error::need_more || (!ec && !parser.is_header_done())) {
    return InvalidArgument("incomplete request head (" + std::to_string(used) + " bytes read)");
  }
  if (ec) return InvalidArgument("malformed request head: " + ec.message());
  return RequestFromHead(parser.get().base());
}

}  // namespace berth::http::internal
