// Internal: the marker every public entry point of a Session holds, and
// constants shared by the session's source files.
#pragma once

#include <cstddef>
#include <cstdint>

#include "weft/mux/session.hpp"

namespace weft::mux {

// smux's guess of a new peer's window until its first UPD arrives.
inline constexpr std::uint32_t kInitialPeerWindow = 262144;
// Output the transport may hold before the scheduler waits for on_drained.
inline constexpr std::size_t kTransportHighWater = 256 * 1024;
// Output queued over all streams above which write() returns false, so that
// many streams do not each queue a full stream_send_buffer.
inline constexpr std::size_t kSessionSendBudget = 1024 * 1024;
// Frames gathered into one writev (two pieces each, under the core's 64).
inline constexpr std::size_t kMaxFramesPerWrite = 30;

class Session::Entry {
 public:
  explicit Entry(Session& s) noexcept : s_(s) { ++s_.depth_; }
  ~Entry() {
    if (--s_.depth_ == 0) s_.settle();  // may delete the session
  }
  Entry(const Entry&) = delete;
  Entry& operator=(const Entry&) = delete;

 private:
  Session& s_;
};

}  // namespace weft::mux
