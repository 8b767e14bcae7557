// Internal to berth_http (server.cc and websocket.cc): how the server hands
// an upgraded connection, plain or TLS, to a WebSocket. Includes Beast;
// nothing outside src/http may include it.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>

#include "http/websocket.h"

namespace berth::http::internal {

class WebSocketCore;

// Completes the server side of the handshake for request over stream, then
// calls on_open with the socket (on the stream's strand). stream must live
// as long as owner, which the socket keeps alive. Call on the stream's
// strand. The result lets the server shut the socket at Stop().
std::shared_ptr<WebSocketCore> AcceptWebSocket(
    boost::beast::tcp_stream& stream,
    boost::beast::http::request<boost::beast::http::string_body>&& request,
    std::shared_ptr<void> owner, WebSocketHandler on_open);
std::shared_ptr<WebSocketCore> AcceptWebSocket(
    boost::beast::ssl_stream<boost::beast::tcp_stream>& stream,
    boost::beast::http::request<boost::beast::http::string_body>&& request,
    std::shared_ptr<void> owner, WebSocketHandler on_open);

// On the stream's strand: closes the connection at once; blocked and later
// calls on the socket fail with kAborted.
void ShutdownWebSocket(WebSocketCore& core);

}  // namespace berth::http::internal
