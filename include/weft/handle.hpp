// weft/handle.hpp — a copyable reference to a connection, usable from any
// thread. It never dangles: once the connection is gone every call is a
// no-op that returns errc::conn_gone.
#pragma once

#include <cstdint>
#include <functional>
#include <system_error>

#include "weft/bytes.hpp"

namespace weft {

class Conn;
namespace detail {
class Worker;
}

class ConnHandle {
 public:
  ConnHandle() = default;

  /// Copies `data` and writes it on the connection's loop.
  std::error_code send(Bytes data) const;
  /// Closes the connection after its queued output is flushed.
  std::error_code close() const;
  /// Runs `fn` with the connection on its loop, if it is still open then.
  std::error_code post(std::function<void(Conn&)> fn) const;
  /// As post(), but on the connection's own loop thread `fn` runs now
  /// (no trip through the loop's queue).
  std::error_code dispatch(std::function<void(Conn&)> fn) const;
  /// True while the connection is open (a snapshot: it may close right after).
  bool alive() const noexcept;
  explicit operator bool() const noexcept { return alive(); }

  bool operator==(const ConnHandle&) const = default;

 private:
  friend class Conn;
  ConnHandle(detail::Worker* w, std::uint32_t slot, std::uint32_t gen) noexcept
      : worker_(w), slot_(slot), gen_(gen) {}

  // The Worker (and so the Server) must outlive every use of the handle.
  detail::Worker* worker_ = nullptr;
  std::uint32_t slot_ = 0;
  std::uint32_t gen_ = 0;
};

}  // namespace weft
