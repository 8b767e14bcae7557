// Internal to berth_http (server.cc, its fuzz targets): a request's head
// (request line and header fields) as the server reads it and as handlers
// see it. Includes Beast; nothing outside src/http may include it.
#pragma once

#include <boost/beast/http/message.hpp>
#include <cstdint>
#include <string_view>

#include "common/status.h"
#include "http/message.h"

namespace berth::http::internal {

// Larger heads are refused (431) before any handler runs.
inline constexpr uint32_t kMaxHeaderBytes = 64 * 1024;

// Method, target and header fields (names lowercased, in order) of a parsed
// head; remote_address and the body are left for the caller.
Request RequestFromHead(const boost::beast::http::request_header<>& head);

// Parses wire, which must hold a whole head (request line, fields and the
// blank line; anything after it is ignored), with the server's parser
// settings. InvalidArgument with Beast's reason for what the server would
// refuse with 400 or 431.
StatusOr<Request> ParseRequestHead(std::string_view wire);

}  // namespace berth::http::internal
