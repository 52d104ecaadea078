// weft/handler.hpp — the events a server delivers (evio's event set, with
// framing done by on_data's return value).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <system_error>

#include "weft/bytes.hpp"

namespace weft {

class Conn;
class Datagram;
class Server;

/// What should happen after an event.
enum class Action {
  none,      ///< carry on
  close,     ///< close this connection (after flushing its output)
  shutdown,  ///< stop the whole server gracefully
};

/// on_tick's answer: when to tick again, and what to do now.
struct Tick {
  std::chrono::milliseconds next{0};  ///< <= 0: no more ticks
  Action action = Action::none;
};

/// Implement the events you need. One handler serves every connection of a
/// server (per-connection state goes in Conn::set_context); all calls for a
/// connection come from its loop's thread, calls for different connections
/// may come from different loops at once. Callbacks must not block and must
/// not throw: an exception that escapes a callback ends the process.
class Handler {
 public:
  virtual ~Handler() = default;

  /// Every listener is bound (Server::addresses() has the real ports). Runs
  /// once, on loop 0, before any connection is accepted.
  virtual void on_ready(Server& server) { (void)server; }

  /// A connection was accepted.
  virtual Action on_open(Conn& c) {
    (void)c;
    return Action::none;
  }

  /// Input arrived. `in` holds everything not consumed so far followed by
  /// the new bytes. Return how many bytes were used (whole messages); the
  /// rest is kept and offered again with the next bytes. Empty `in` after
  /// Conn::wake(). To close, call c.close(); to stop, c.server().stop().
  virtual std::size_t on_data(Conn& c, Bytes in) = 0;

  /// Queued output was fully written (fires only after output had to queue).
  virtual void on_drained(Conn& c) { (void)c; }

  /// The connection is closing. `why` is empty for an orderly close (ours
  /// or the peer's), else the system error or a weft::errc.
  virtual void on_close(Conn& c, std::error_code why) {
    (void)c;
    (void)why;
  }

  /// An outbound connection (Server::dial) failed before on_open: refused,
  /// timed out, or its TLS handshake failed (e.g. the certificate did not
  /// verify). `context` is DialOptions::context. By default it is logged.
  virtual void on_dial_error(Server& server, const std::string& target, void* context,
                             std::error_code why);

  /// A datagram arrived on a udp:// listener.
  virtual void on_datagram(Datagram& d) { (void)d; }

  /// Periodic tick on loop 0: first right after on_ready, then after each
  /// returned delay.
  virtual Tick on_tick(Server& server) {
    (void)server;
    return {};
  }

  /// The server is about to stop (graceful stop begins), on loop 0.
  virtual void on_shutdown(Server& server) { (void)server; }

  /// A graceful stop reached this open connection (on its loop, after
  /// on_shutdown). The default closes it once its output is flushed.
  /// Override to say goodbye in the protocol first (a WebSocket close 1001,
  /// a smux FIN), then close; whatever is still open after stopTimeout is
  /// aborted with errc::server_stopping.
  virtual void on_stop(Conn& c);
};

}  // namespace weft
