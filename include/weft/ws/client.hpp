// weft/ws/client.hpp — WebSocket client: ws:// and wss:// URLs dialed from
// a server's loops (Server::dial), then the same WebSocket and Behavior as
// on the server side (outgoing frames masked, incoming ones unmasked).
//
//   weft::ws::ClientOptions opts;
//   opts.on_error = [](std::error_code, std::string_view why) { ... };
//   weft::ws::connect(server, "ws://127.0.0.1:8080/chat", opts,
//                     {.on_open = [](weft::ws::WebSocket& ws) { ws.send_text("hi"); }});
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "weft/ws/behavior.hpp"

namespace weft {
class Server;
class TlsClient;
}  // namespace weft

namespace weft::ws {

struct ClientOptions {
  /// Sec-WebSocket-Protocol to offer, in preference order (none: no header).
  std::vector<std::string> protocols;
  /// Origin header (none when empty).
  std::string origin;
  /// Extra request headers (name, value).
  std::vector<std::pair<std::string, std::string>> headers;
  /// For wss://: the client TLS context (null: system trust store).
  std::shared_ptr<TlsClient> tls;
  /// SNI and verified name for wss:// (default: the URL's host).
  std::string server_name;
  /// Limit for the TCP connect, for the TLS handshake, and for the
  /// WebSocket handshake, each.
  std::chrono::milliseconds timeout{10000};
  /// The loop to run on; -1 = round robin.
  int loop = -1;
  /// The connection or the handshake failed before on_open (refused,
  /// timed out, certificate not verified, not a 101, wrong
  /// Sec-WebSocket-Accept, ...). Called on a loop thread, at most once.
  std::function<void(std::error_code, std::string_view why)> on_error;
};

/// Dials `url` (ws://host[:port][/path][?query] or wss://...; a host name
/// is resolved off the loops, as for Server::dial) from one of `server`'s loops and runs the client
/// handshake. On success `behavior` drives the connection like a server-side one (on_open,
/// on_message, ..., on_close). With behavior.options.deflate enabled, permessage-deflate is
/// offered: server_no_context_takeover and server_max_window_bits (< 15) are asked of the server,
/// the client_* settings limit our own compressor, and the server may limit it further. Errors
/// here: a URL that is not ws:// or wss:// (errc::invalid_argument), or the dial could not be
/// queued. Any thread, once the server is started.
std::error_code connect(Server& server, std::string_view url, ClientOptions options,
                        Behavior behavior);

/// The subprotocol the server chose for a client connection (empty if none
/// or for a server-side connection).
std::string_view client_protocol(const WebSocket& ws) noexcept;

}  // namespace weft::ws
