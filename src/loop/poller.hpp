// The boundary between a loop and the kernel's readiness/completion API.
// epoll implements it today; an io_uring backend slots in behind the same
// calls (completions are turned into on_io-style callbacks by the backend).
#pragma once

#include <cstdint>
#include <memory>

#include "weft/loop.hpp"

namespace weft::detail {

class Poller {
 public:
  virtual ~Poller() = default;
  virtual void add(int fd, IoWatcher* w, std::uint32_t events) = 0;
  /// Never fails for a registered descriptor; errors are ignored.
  virtual void modify(int fd, IoWatcher* w, std::uint32_t events) noexcept = 0;
  virtual void remove(int fd) noexcept = 0;
  /// Waits at most timeout_ms (-1: forever) and delivers what is ready.
  virtual void poll(int timeout_ms) = 0;
};

std::unique_ptr<Poller> make_epoll_poller();

}  // namespace weft::detail
