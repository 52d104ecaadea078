// The boundary between a loop and the kernel's readiness/completion API.
// epoll implements readiness only; io_uring implements readiness (through
// polls) and completion I/O for plain stream sockets: it receives into its
// own buffers and sends bytes it has copied, reporting through
// IoWatcher::on_complete.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "weft/loop.hpp"

namespace weft::detail {

class Poller {
 public:
  virtual ~Poller() = default;
  virtual void add(int fd, IoWatcher* w, std::uint32_t events) = 0;
  /// Never fails for a registered descriptor; errors are ignored.
  virtual void modify(int fd, IoWatcher* w, std::uint32_t events) noexcept = 0;
  /// Forgets the descriptor; nothing more is reported for it. The caller
  /// may close it right after.
  virtual void remove(int fd) noexcept = 0;
  /// Waits at most timeout_ms (-1: forever) and delivers what is ready.
  virtual void poll(int timeout_ms) = 0;

  /// Completion backends: queues a send of `pieces` (copied now) on a
  /// descriptor registered with kCompletion; its outcome reaches the
  /// watcher's on_complete. One send per descriptor at a time. false: not
  /// taken (too large to stage, or a readiness backend): write it yourself.
  virtual bool send(int /*fd*/, const std::string_view* /*pieces*/, std::size_t /*n*/,
                    std::size_t /*total*/) noexcept {
    return false;
  }
};

std::unique_ptr<Poller> make_epoll_poller();
/// nullptr (and `why` says so) when the kernel refuses io_uring.
std::unique_ptr<Poller> make_uring_poller(const char** why);

}  // namespace weft::detail
