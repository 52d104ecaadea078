// weft/ws/websocket.hpp — one WebSocket connection (RFC 6455) as a handler
// sees it: send messages, ping, close, watch back-pressure.
//
// Every member is for the connection's loop thread (inside the Behavior's
// callbacks); from another thread post to handle() and look the socket up
// again with WebSocket::from(conn). The object is valid until on_close returns.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

#include "weft/bytes.hpp"
#include "weft/handle.hpp"

namespace weft {
class Conn;
}

namespace weft::ws {

/// Frame opcodes (RFC 6455 §5.2). Messages are text or binary.
enum class Opcode : std::uint8_t {
  continuation = 0,
  text = 1,
  binary = 2,
  close = 8,
  ping = 9,
  pong = 10,
};

/// Close codes (RFC 6455 §7.4.1) weft sends or reports.
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t no_status = 1005;  ///< reported: the close frame had no code
inline constexpr std::uint16_t abnormal = 1006;   ///< reported: no close frame at all
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t message_too_big = 1009;
inline constexpr std::uint16_t internal_error = 1011;
}  // namespace close_code

/// Whether `code` may appear in a close frame on the wire (1000-1003,
/// 1007-1014, 3000-4999).
bool valid_close_code(std::uint16_t code) noexcept;

/// What became of a send.
enum class SendStatus : std::uint8_t {
  sent,          ///< handed to the kernel (or gathered for this callback's write)
  backpressure,  ///< accepted, but output is queued: wait for on_drain
  dropped,       ///< not sent: the socket is closing, or a fragmented send is open
};

namespace detail {
class Endpoint;
struct Deflate;
class TopicTable;
class Broadcast;
}  // namespace detail

class WebSocket {
 public:
  WebSocket(const WebSocket&) = delete;
  WebSocket& operator=(const WebSocket&) = delete;

  /// Sends one message. permessage-deflate compresses it when negotiated,
  /// `compress` allows it and it is at least the configured threshold.
  SendStatus send(Bytes data, Opcode op = Opcode::binary, bool compress = true);
  SendStatus send_text(Bytes data) { return send(data, Opcode::text); }
  SendStatus send_binary(Bytes data) { return send(data, Opcode::binary); }
  /// Streams one large message as fragments: the first call names text or
  /// binary, later calls continue it, `last` ends it. Fragments go out
  /// uncompressed; control frames may interleave, other messages may not.
  SendStatus send_fragment(Bytes data, Opcode op, bool last);
  /// Control frames: at most 125 bytes of payload (longer is dropped).
  SendStatus ping(Bytes payload = {});
  SendStatus pong(Bytes payload = {});

  /// Starts the closing handshake: sends a close frame (code, reason up to
  /// 123 bytes) and closes once the peer answers, or after close_timeout_ms.
  /// Invalid codes are sent as 1000.
  void close(std::uint16_t code = close_code::normal, std::string_view reason = {});
  /// Drops the connection without a closing handshake (on_close sees 1006).
  void terminate() noexcept;
  /// Whether a close frame was sent or received (sends are dropped now).
  bool closing() const noexcept;

  /// Topics (publish/subscribe; weft/ws/topics.hpp publishes from any
  /// thread). A socket leaves every topic when it closes.
  /// Joins `topic`; false when already subscribed or closing.
  bool subscribe(std::string_view topic);
  /// Leaves `topic`; false when not subscribed.
  bool unsubscribe(std::string_view topic);
  bool subscribed(std::string_view topic) const;
  /// Sends one message to every subscriber of `topic` on every loop of the
  /// server except this socket: at once on this loop, through one posted
  /// task per other loop. `compress` as for send(). A subscriber whose
  /// queued output is over cliSbufLimit misses it (policy pause) or has
  /// already been closed (policy close). Errors: another loop's queue is
  /// full or stopped (those subscribers miss the message); an `op` other
  /// than text or binary (std::errc::invalid_argument, nothing sent).
  std::error_code publish(std::string_view topic, Bytes data, Opcode op = Opcode::binary,
                          bool compress = true);

  /// Bytes accepted by send() that the kernel has not taken yet. When this
  /// passes the server's cliSbufLimit the core's policy applies (pause
  /// reading or close); on_drain fires once it is all written.
  std::size_t buffered_amount() const noexcept;
  /// permessage-deflate was negotiated for this connection.
  bool compression() const noexcept { return deflate_ != nullptr; }

  void* user_data() const noexcept { return user_; }
  void set_user_data(void* p) noexcept { user_ = p; }
  /// The connection underneath (addresses, TLS details). Its context and
  /// handler belong to the WebSocket layer: do not change them.
  Conn& conn() const noexcept { return *conn_; }
  /// For other threads: post([](Conn& c) { WebSocket::from(c)->send(...); }).
  ConnHandle handle() const noexcept;

  /// The WebSocket on `c` (on its loop thread), or nullptr when `c` does not
  /// speak WebSocket (yet).
  static WebSocket* from(Conn& c) noexcept;

 protected:
  WebSocket(Conn& c, detail::Endpoint& ep) noexcept : conn_(&c), endpoint_(&ep) {}
  ~WebSocket();
  friend class detail::TopicTable;
  friend class detail::Broadcast;

  // Frame writing shared by server and client sessions.
  SendStatus write_frame(Opcode op, Bytes payload, bool fin, bool rsv1);
  SendStatus write_message(Opcode op, Bytes payload, bool rsv1);
  SendStatus status_after_write() const noexcept;
  void send_close_frame(std::uint16_t code, std::string_view reason);

  enum Flag : std::uint16_t {
    kCloseSent = 1,         // our close frame is out
    kCloseReceived = 2,     // the peer's close frame arrived
    kReported = 4,          // on_close was called
    kFragmenting = 8,       // send_fragment() started a message
    kClient = 16,           // client role: outgoing frames are masked
    kSeenInput = 32,        // input since the last keepalive sweep
    kPingOutstanding = 64,  // a keepalive ping waits for any input
    kBatching = 128,        // in on_message with more input in this read: gather writes
  };

  Conn* conn_;
  detail::Endpoint* endpoint_;
  void* user_ = nullptr;
  detail::Deflate* deflate_ = nullptr;  // null unless permessage-deflate was agreed
  std::uint16_t flags_ = 0;
  std::uint16_t close_code_ = close_code::abnormal;  // what on_close reports
  std::uint32_t topics_ = 0;       // first of this socket's topic memberships (TopicTable), 0: none
  const char* close_reason_ = "";  // a fixed text for local closes
};

}  // namespace weft::ws
