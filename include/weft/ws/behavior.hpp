// weft/ws/behavior.hpp — what a WebSocket route does: its limits, its
// permessage-deflate settings and its callbacks.
//
//   app.ws("/chat", {.on_message = [](weft::ws::WebSocket& ws, std::string_view m,
//                                      weft::ws::Opcode op) { ws.send(m, op); }});
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/ws/websocket.hpp"

namespace weft::http {
class Request;
}

namespace weft::ws {

/// permessage-deflate (RFC 7692).
struct DeflateOptions {
  bool enabled = true;
  /// Ask for fresh compression contexts per message. server_* is ours to
  /// decide; client_* is asked of the client (it may offer it itself).
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  /// LZ77 window sizes (9..15 for ours; 8..15 for the client's, used when it offers).
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;
  int level = 6;      ///< zlib compression level 1..9
  int mem_level = 8;  ///< zlib memLevel 1..9 (memory of a compressor)
  /// Messages shorter than this go out uncompressed.
  std::size_t threshold = 64;
  /// Bytes all connections' own (context-takeover) zlib contexts may hold,
  /// process-wide. Past it new connections are asked for
  /// client_no_context_takeover and messages go out uncompressed.
  /// No-context-takeover connections share one context per thread.
  std::size_t memory_limit = 256u << 20;
};

struct Options {
  /// Largest message (after decompression); larger: close 1009.
  std::size_t max_message = 16u << 20;
  /// Outgoing messages longer than this go out as several frames (0: one frame).
  std::size_t fragment_size = 0;
  /// A ping after each interval without input; a peer still silent one
  /// interval later is dropped. 0 turns keepalive off.
  int ping_interval_ms = 30000;
  /// After we send a close frame, how long the peer has to answer.
  int close_timeout_ms = 5000;
  DeflateOptions deflate;
};

/// The handshake as on_upgrade sees it: the HTTP request (path, query,
/// headers), the subprotocols offered, and the decisions to take.
class UpgradeRequest {
 public:
  explicit UpgradeRequest(const http::Request& req) : req_(&req) {}
  const http::Request& request() const noexcept { return *req_; }
  std::string_view path() const noexcept;
  std::string_view query() const noexcept;
  std::string_view header(std::string_view name) const noexcept;
  std::string_view origin() const noexcept { return header("Origin"); }
  /// Sec-WebSocket-Protocol, in the client's order.
  const std::vector<std::string_view>& protocols() const noexcept { return protocols_; }

  /// Agrees on one of protocols(); false (and nothing chosen) for any other name.
  bool select_protocol(std::string_view name);
  /// Refuses the upgrade with this HTTP status (e.g. 401, 403) and body.
  void reject(int status, std::string_view body = {});
  /// The pointer WebSocket::user_data() starts with.
  void set_user_data(void* p) noexcept { user_ = p; }

  std::string_view selected_protocol() const noexcept { return selected_; }
  int rejected_status() const noexcept { return reject_status_; }
  std::string_view rejected_body() const noexcept { return reject_body_; }
  void* user_data() const noexcept { return user_; }

 private:
  friend class detail::Endpoint;
  const http::Request* req_;
  std::vector<std::string_view> protocols_;
  std::string_view selected_;
  int reject_status_ = 0;
  std::string reject_body_;
  void* user_ = nullptr;
};

struct Behavior {
  Options options;
  /// Origin check: false answers 403. Unset: every origin is accepted.
  std::function<bool(std::string_view origin)> check_origin;
  /// A valid handshake, before the 101: choose a subprotocol, reject, set user data.
  std::function<void(UpgradeRequest&)> on_upgrade;
  std::function<void(WebSocket&)> on_open;
  /// A whole message (reassembled, decompressed, UTF-8 checked for text).
  std::function<void(WebSocket&, std::string_view data, Opcode op)> on_message;
  /// A ping arrived (weft has already answered it with a pong).
  std::function<void(WebSocket&, std::string_view payload)> on_ping;
  std::function<void(WebSocket&, std::string_view payload)> on_pong;
  /// Everything buffered was written (after send() returned backpressure).
  std::function<void(WebSocket&)> on_drain;
  /// Once per connection: the peer's close code and reason, 1005 for a close
  /// frame without a code, 1006 when the connection ended without one, or
  /// the code weft closed with after a protocol error.
  std::function<void(WebSocket&, std::uint16_t code, std::string_view reason)> on_close;
};

/// Bytes held by context-takeover zlib contexts, process-wide (what
/// DeflateOptions::memory_limit bounds).
std::size_t deflate_memory() noexcept;

}  // namespace weft::ws
