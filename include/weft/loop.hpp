// weft/loop.hpp — one event loop per thread: I/O readiness, timers and a
// cross-thread task queue with an eventfd wake-up.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace weft {

namespace detail {
class Poller;
class TimerQueue;
class TaskQueue;
}  // namespace detail

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

/// Identifies a timer for cancel(); 0 is never a valid id.
using TimerId = std::uint64_t;

/// How a loop talks to the kernel. `epoll`: readiness, then read/write
/// calls. `io_uring`: plain stream sockets are read into loop-owned buffers
/// and written by queued sends, a batch per kernel entry (other descriptors
/// get readiness through io_uring polls). `automatic`: io_uring when the
/// kernel allows it, else epoll.
enum class IoBackend : std::uint8_t { epoll, io_uring, automatic };

/// Receives readiness for one descriptor. Everything that owns a descriptor
/// on a loop (connections, listeners, the wake-up eventfd) is one of these.
class IoWatcher {
 public:
  static constexpr std::uint32_t kReadable = 1;
  static constexpr std::uint32_t kWritable = 2;
  static constexpr std::uint32_t kHangup = 4;  ///< error or hang-up; reads will say which
  /// Registration only: on a completion backend (io_uring) the loop reads
  /// this stream socket itself and reports what it read through
  /// on_complete(); kReadable then means "keep receiving". Ignored by epoll.
  static constexpr std::uint32_t kCompletion = 8;
  virtual void on_io(std::uint32_t events) = 0;

  /// A finished operation on a completion backend: bytes received (valid
  /// only during the call), or the outcome of a send the loop made.
  struct Completion {
    enum class Op : std::uint8_t { recv, send };
    Op op;
    int result;              ///< bytes moved; 0 = end of stream (recv); < 0: -errno
    std::string_view bytes;  ///< recv: what arrived; send: what was to be sent
  };
  virtual void on_complete(const Completion&) {}

 protected:
  ~IoWatcher() = default;
};

/// State a higher layer keeps per loop (the WebSocket topic table): made
/// on the loop thread when first needed, owned by the loop, destroyed with it.
class LoopLocal {
 public:
  virtual ~LoopLocal() = default;
};

class EventLoop {
 public:
  EventLoop();
  /// io_uring when asked for but unavailable falls back to epoll (logged);
  /// backend() says what the loop got.
  explicit EventLoop(IoBackend backend);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// Runs until stop(); the calling thread becomes the loop thread. A loop
  /// may be built on one thread and run on another, but once run it belongs
  /// to that thread: on io_uring, running it again from another thread
  /// throws std::logic_error (the ring accepts one submitter).
  void run();
  /// Asks the loop to return from run() after the current iteration. Any thread.
  void stop() noexcept;
  bool running() const noexcept { return running_.load(std::memory_order_acquire); }

  /// Queues `task` to run on the loop thread. Any thread. Fails with
  /// errc::loop_stopped once the loop has finished, errc::queue_full when
  /// the queue holds `chan_size` tasks.
  std::error_code post(std::function<void()> task);
  /// As post() but never refused for chanSize: for the few messages that
  /// must not be lost (graceful stop, connections handed between loops).
  std::error_code post_control(std::function<void()> task);
  /// Runs `task` now when called on the loop thread, else posts it.
  void dispatch(std::function<void()> task);
  bool in_loop_thread() const noexcept {
    return std::this_thread::get_id() == thread_id_.load(std::memory_order_relaxed);
  }

  /// Timers: loop thread only. The callback runs on the loop thread.
  TimerId run_after(Millis delay, std::function<void()> fn);
  TimerId run_every(Millis interval, std::function<void()> fn);
  /// Cancels a pending timer; false if it already ran or was cancelled.
  bool cancel(TimerId id) noexcept;
  std::size_t timer_count() const noexcept;

  /// The time the current iteration started (cheap; no clock call).
  Clock::time_point now() const noexcept { return now_; }

  /// Descriptor registration (loop thread only). `events` uses IoWatcher's bits.
  void watch(int fd, IoWatcher* w, std::uint32_t events);
  void rewatch(int fd, IoWatcher* w, std::uint32_t events) noexcept;
  void unwatch(int fd) noexcept;

  /// Runs after each batch of I/O events, before timers and tasks; the net
  /// layer frees connections closed during the batch here. One hook per loop.
  void set_after_io(std::function<void()> hook) { after_io_ = std::move(hook); }

  /// Upper bound on one poll's wait (pollWait); timers may shorten it.
  void set_poll_wait(Millis wait) noexcept { poll_wait_ = wait; }
  /// Bound on the cross-thread queue (chanSize); 0 = unbounded.
  void set_queue_limit(std::size_t n) noexcept;

  /// The backend in use: epoll or io_uring (never automatic).
  IoBackend backend() const noexcept { return backend_; }
  /// The kernel boundary itself, for the net layer's completion I/O.
  detail::Poller& poller() noexcept { return *poller_; }

  /// The LoopLocal kept under `key` (the address of a static object of the
  /// layer that owns it), or null. Loop thread only.
  LoopLocal* local(const void* key) const noexcept;
  /// Keeps `state` under `key`, replacing what was there; returns it. Loop thread only.
  LoopLocal& set_local(const void* key, std::unique_ptr<LoopLocal> state);

  /// Where the loop runs inside a Server (0 when standalone).
  std::size_t index() const noexcept { return index_; }
  void set_index(std::size_t i) noexcept { index_ = i; }

 private:
  void run_due_timers();
  void run_tasks();

  std::unique_ptr<detail::Poller> poller_;
  std::unique_ptr<detail::TimerQueue> timers_;
  std::unique_ptr<detail::TaskQueue> tasks_;
  std::function<void()> after_io_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<std::thread::id> thread_id_{};
  Clock::time_point now_;
  Millis poll_wait_{1000};
  std::size_t index_ = 0;
  IoBackend backend_ = IoBackend::epoll;
  // Last member: destroyed first, while the rest of the loop still exists.
  std::vector<std::pair<const void*, std::unique_ptr<LoopLocal>>> locals_;
};

}  // namespace weft
