// weft/error.hpp — weft's own error codes, in the std::error_code family.
//
// System failures (ECONNRESET, EMFILE, ...) arrive as std::system_category()
// codes; the conditions weft itself decides on use weft::errc below.
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

namespace weft {

enum class errc {
  packet_too_large = 1,   ///< unconsumed input exceeded pktSizeLimit
  send_buffer_full,       ///< queued output exceeded cliSbufLimit (policy "close")
  idle_timeout,           ///< no input for longer than idleLimit
  server_stopping,        ///< closed by a graceful stop whose deadline passed
  aborted,                ///< Conn::abort() was called
  detached,               ///< Conn::detach() handed the descriptor to the user
  conn_gone,              ///< a ConnHandle whose connection has closed
  loop_stopped,           ///< the target loop no longer runs
  queue_full,             ///< the loop's cross-thread queue is at chanSize
  tls_handshake_failed,   ///< the TLS handshake failed (reason logged at debug)
  tls_handshake_timeout,  ///< the TLS handshake did not finish within tlsHandshakeTimeout
  tls_error,              ///< a TLS protocol error after the handshake
  tls_busy,               ///< too many handshakes waiting on this loop
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// Thrown for a bad configuration value, listen URL or config file; the
/// message names the field and says why.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace weft

template <>
struct std::is_error_code_enum<weft::errc> : std::true_type {};
