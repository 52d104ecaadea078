// Helpers shared by the unit tests: a server that runs on its own threads
// for the length of a test, blocking client sockets with timeouts, and
// process probes (open descriptors, resident memory).
//
// Everything here is loopback-only and bounded in time: every wait takes a
// timeout, and every helper object releases what it owns on destruction.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/config.hpp"
#include "weft/handler.hpp"
#include "weft/server.hpp"
#include "weft/stats.hpp"

namespace weft::test {

using Ms = std::chrono::milliseconds;
using namespace std::chrono_literals;

/// A Config for tests: one loopback listener on a free port, one loop.
Config test_config();

/// A weft::Server started on its own threads for the life of the object.
/// The constructor returns once on_ready has run (and throws if binding
/// fails); the destructor stops the server and joins its loops. The handler
/// must outlive the TestServer (declare it first).
class TestServer {
 public:
  explicit TestServer(Handler& handler, Config cfg = test_config());
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  Server& server() noexcept { return server_; }
  /// The bound URLs, with real ports, one per configured listen URL.
  std::vector<std::string> addresses() const { return server_.addresses(); }
  /// The port of the first listener (0 for a unix one).
  std::uint16_t port() const noexcept { return port_; }
  /// The port of listener `i`.
  std::uint16_t port(std::size_t i) const;
  StatsSnapshot stats() const { return server_.stats(); }
  /// stop() then wait(); the destructor does it too. Idempotent.
  void stop_and_wait();

 private:
  Server server_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
};

/// The port in a URL such as "tcp://127.0.0.1:40123" or "tcp6://[::1]:5000" (0 if none).
std::uint16_t port_of(std::string_view url);

/// A blocking client socket. Every receive takes a timeout (poll); sends
/// use MSG_NOSIGNAL, so a reset peer gives an error, never SIGPIPE.
class Client {
 public:
  Client() = default;
  explicit Client(int fd) noexcept : fd_(fd) {}
  ~Client() { close(); }
  Client(Client&& o) noexcept : fd_(o.release()) {}
  Client& operator=(Client&& o) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Connects to 127.0.0.1:port. `rcvbuf` > 0 sets SO_RCVBUF before
  /// connecting (so the window is small from the start). Throws on failure.
  static Client tcp(std::uint16_t port, int rcvbuf = 0);
  /// Connects to [::1]:port.
  static Client tcp6(std::uint16_t port, int rcvbuf = 0);
  /// Connects to a unix stream socket; a leading '@' names an abstract one.
  static Client unix_path(const std::string& path);
  /// Connects to the address of a bound URL ("tcp://...", "tcp6://...", "unix://...").
  static Client to_url(const std::string& url, int rcvbuf = 0);

  int fd() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  /// Hands the descriptor to the caller.
  int release() noexcept;
  /// Orderly close (FIN).
  void close() noexcept;
  /// Abortive close: SO_LINGER {1, 0} then close, so the peer sees a RST.
  void close_rst() noexcept;
  /// shutdown(SHUT_WR): FIN, but keep reading.
  void shutdown_write() noexcept;

  bool set_rcvbuf(int bytes) noexcept;
  bool set_sndbuf(int bytes) noexcept;
  bool set_nodelay(bool on) noexcept;
  bool set_nonblocking(bool on) noexcept;

  /// Sends everything (blocking socket) or gives up at the timeout. Returns
  /// the number of bytes sent; less than data.size() on error or timeout.
  std::size_t send_all(std::string_view data, Ms timeout = 10s);
  /// One non-blocking send attempt: bytes taken, 0 when the socket is full,
  /// -errno on error.
  long try_send(std::string_view data) noexcept;

  /// Receives exactly n bytes, or fewer on EOF, error or timeout.
  std::string recv_exact(std::size_t n, Ms timeout = 5s);
  /// Whatever arrives first (up to max), waiting at most `timeout`; empty on
  /// timeout, EOF or error (see eof()/error()).
  std::string recv_some(std::size_t max = 65536, Ms timeout = 5s);
  /// Everything until EOF (or an error / the timeout).
  std::string recv_until_eof(Ms timeout = 5s);
  /// Waits for EOF or an error (discarding data); true if one came in time.
  bool wait_closed(Ms timeout = 5s);

  /// Set once a receive saw an orderly EOF.
  bool eof() const noexcept { return eof_; }
  /// The errno of the last failed receive/send (ECONNRESET, ...), or 0.
  int error() const noexcept { return error_; }
  /// True once the peer has closed (EOF or an error such as ECONNRESET).
  bool peer_closed() const noexcept { return eof_ || error_ != 0; }

 private:
  // One receive into buf (waits at most until `deadline`): >0 bytes, 0 on
  // EOF/error/timeout.
  std::size_t recv_into(char* buf, std::size_t max, std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  bool eof_ = false;
  int error_ = 0;
};

/// Descriptors open in this process (entries of /proc/self/fd).
int count_open_fds();
/// Resident set size (VmRSS in /proc/self/status), in bytes.
std::size_t rss_bytes();

/// Polls `pred` every millisecond or so until it holds or `timeout` passes;
/// returns its last value.
bool wait_until(const std::function<bool()>& pred, Ms timeout = 5s);

/// A deterministic byte pattern: the byte at stream offset i. Successive
/// bytes differ, and a shifted or dropped run is caught at once.
inline char pattern_byte(std::uint64_t i) noexcept {
  return static_cast<char>((i * 131 + (i >> 8) * 7 + (i >> 16)) & 0xff);
}
/// `n` bytes of the pattern starting at stream offset `offset`.
std::string pattern(std::size_t n, std::uint64_t offset = 0);
/// The first offset (relative to `data`) where data differs from the
/// pattern at `offset`, or npos when it matches.
std::size_t pattern_mismatch(std::string_view data, std::uint64_t offset = 0);

/// A unique abstract unix socket name for this process ("@weft-test-<pid>-<n>").
std::string unique_abstract_name();

}  // namespace weft::test
