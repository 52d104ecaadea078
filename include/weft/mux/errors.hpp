// weft/mux/errors.hpp — why a session or stream ended. Each names the smux
// error it corresponds to, where smux has one.
#pragma once

#include <system_error>

namespace weft::mux {

enum class errc {
  invalid_protocol = 1,  ///< wrong version or unknown command (smux ErrInvalidProtocol)
  unexpected_payload,    ///< SYN (names off), FIN or NOP with a payload
  upd_on_v1,             ///< UPD frame on a version 1 session
  bad_upd_length,        ///< UPD whose payload is not 8 bytes
  consumed_too_much,     ///< a window went negative (smux ErrConsumed)
  bad_stream_id,         ///< SYN with the opener's parity wrong, or id 0
  truncated_frame,       ///< the transport ended inside a frame (io.ErrUnexpectedEOF)
  keepalive_timeout,     ///< no frame for KeepAliveTimeout
  go_away,               ///< stream ids exhausted on this side (smux ErrGoAway)
  session_closed,        ///< Session::close(), or the stream outlived its session
  transport_closed,      ///< the peer closed the connection with streams open
  aborted,               ///< Stream::abort()
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace weft::mux

template <>
struct std::is_error_code_enum<weft::mux::errc> : std::true_type {};
