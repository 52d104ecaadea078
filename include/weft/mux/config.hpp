// weft/mux/config.hpp — session settings, with smux's names, defaults and checks.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace weft::mux {

struct Config {
  /// Protocol version: 1 (no per-stream window) or 2 (UPD flow control).
  int version = 1;
  bool keepalive_disabled = false;
  /// A NOP goes out this often ("KeepAliveInterval").
  std::chrono::milliseconds keepalive_interval{10000};
  /// The session ends when no frame arrived for this long ("KeepAliveTimeout").
  std::chrono::milliseconds keepalive_timeout{30000};
  /// Largest payload of a frame we send ("MaxFrameSize", at most 65535).
  int max_frame_size = 32768;
  /// Received bytes the application has not consumed yet, over all streams,
  /// before the session stops reading the transport ("MaxReceiveBuffer").
  std::int64_t max_receive_buffer = 4 * 1024 * 1024;
  /// The version 2 window each stream advertises ("MaxStreamBuffer").
  std::int64_t max_stream_buffer = 64 * 1024;
  /// gmux stream names: the name travels as the SYN payload. Both sides must
  /// enable it; plain smux peers reject a SYN with a payload.
  bool names = false;
  /// weft only: queued output per stream above which Stream::write returns
  /// false (on_writable fires once it has drained to half).
  std::size_t stream_send_buffer = 256 * 1024;
};

/// "" when `cfg` is usable, else smux's message for the first problem
/// (e.g. "max frame size must not be larger than 65535").
std::string validate(const Config& cfg);

}  // namespace weft::mux
