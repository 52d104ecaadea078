// weft/server.hpp — N loops serving a set of listen addresses with one handler.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "weft/config.hpp"
#include "weft/dial.hpp"
#include "weft/handler.hpp"
#include "weft/loop.hpp"
#include "weft/stats.hpp"

namespace weft {

namespace detail {
class ServerCore;
}

class Server {
 public:
  /// Validates `cfg` (throws ConfigError); binds nothing yet.
  Server(Handler& handler, Config cfg);
  ~Server();  ///< stops (abruptly, if still running) and joins the loops
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds every address and runs until stopped: loop 0 on the calling
  /// thread (when ncpu is 0 or 1, the only loop). Returns the bind error,
  /// if any (the message is logged with the address).
  std::error_code run();
  /// Like run() but every loop gets its own thread; returns once on_ready
  /// has run (or binding failed). Pair with stop() and wait().
  std::error_code start();
  /// Blocks until a started server has stopped.
  void wait();

  /// Graceful stop from any thread: stop accepting, flush queued output,
  /// close every connection; whatever is still open after stopTimeout is
  /// aborted (errc::server_stopping).
  void stop() noexcept;
  /// Have SIGINT and SIGTERM call stop(); call before run()/start().
  void stop_on_signals();

  /// Opens an outbound connection from one of the loops: "tcp://127.0.0.1:6379",
  /// "tls://example.com:443", "unix:///run/app.sock". A host name is looked
  /// up on the server's resolver thread (getaddrinfo; the loops never block
  /// on DNS) and its addresses are tried in order; a failed lookup reaches
  /// on_dial_error with getaddrinfo's reason. The connection gets on_open (after
  /// its TLS handshake) and everything else like an accepted one, with
  /// Conn::listener() == Conn::kDialed; failures before that go to
  /// on_dial_error. Any thread, once started. Errors here: a bad URL
  /// (ConfigError thrown), or the loop's queue is full / stopped.
  std::error_code dial(const std::string& url, const DialOptions& opts = {});

  /// The bound addresses as URLs with real ports ("tcp://127.0.0.1:40123"),
  /// one per configured listen URL, in order. Valid from on_ready on.
  std::vector<std::string> addresses() const;
  const Config& config() const noexcept;
  std::size_t loop_count() const noexcept;
  EventLoop& loop(std::size_t i);
  const LoopStats& loop_stats(std::size_t i) const;
  StatsSnapshot stats() const;
  Handler& handler() const noexcept;

 private:
  std::unique_ptr<detail::ServerCore> core_;
};

/// Runs a server until SIGINT/SIGTERM (or stop()); the one-call entry point.
/// Returns 0, or 1 after logging why it could not start.
int serve(Handler& handler, Config cfg);

}  // namespace weft
