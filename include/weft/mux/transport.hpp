// weft/mux/transport.hpp — what a session needs from the byte stream under
// it. Endpoint supplies one over a weft::Conn; tests and other transports
// (a pipe, a TLS layer of your own) implement it themselves.
#pragma once

#include <cstddef>
#include <span>

#include "weft/bytes.hpp"

namespace weft {
class EventLoop;
}

namespace weft::mux {

class Transport {
 public:
  /// Sends the pieces in order (copying what cannot go out at once).
  virtual void writev(std::span<const Bytes> pieces) = 0;
  /// Bytes accepted by writev() and not yet handed to the kernel.
  virtual std::size_t queued() const noexcept = 0;
  virtual void pause_reading() noexcept = 0;
  virtual void resume_reading() noexcept = 0;
  /// Flushes queued output, then closes; the owner then calls
  /// Session::transport_closed().
  virtual void close() noexcept = 0;
  /// Closes now, dropping queued output.
  virtual void abort() noexcept = 0;
  /// The loop the session lives on (keepalive timers).
  virtual EventLoop& loop() const noexcept = 0;

  virtual ~Transport() = default;
};

}  // namespace weft::mux
