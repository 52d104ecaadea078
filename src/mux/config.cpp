// Config checks in smux's order and with its messages (VerifyConfig).
#include "weft/mux/config.hpp"

#include <limits>

namespace weft::mux {

std::string validate(const Config& cfg) {
  if (cfg.version != 1 && cfg.version != 2) return "unsupported protocol version";
  if (!cfg.keepalive_disabled) {
    // smux only rejects a zero interval; a negative one would panic its ticker.
    if (cfg.keepalive_interval.count() <= 0) return "keep-alive interval must be positive";
    if (cfg.keepalive_timeout < cfg.keepalive_interval)
      return "keep-alive timeout must be larger than keep-alive interval";
  }
  if (cfg.max_frame_size <= 0) return "max frame size must be positive";
  if (cfg.max_frame_size > 65535) return "max frame size must not be larger than 65535";
  if (cfg.max_receive_buffer <= 0) return "max receive buffer must be positive";
  if (cfg.max_stream_buffer <= 0) return "max stream buffer must be positive";
  if (cfg.max_stream_buffer > cfg.max_receive_buffer)
    return "max stream buffer must not be larger than max receive buffer";
  if (cfg.max_stream_buffer > std::numeric_limits<std::int32_t>::max())
    return "max stream buffer cannot be larger than 2147483647";
  if (cfg.stream_send_buffer == 0) return "stream send buffer must be positive";
  return "";
}

}  // namespace weft::mux
