// The cross-thread task queue of one loop, with its eventfd wake-up.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <system_error>
#include <vector>

#include "weft/loop.hpp"

namespace weft::detail {

class TaskQueue final : public IoWatcher {
 public:
  TaskQueue();
  ~TaskQueue();
  int fd() const noexcept { return efd_; }

  /// Any thread. Wakes the loop when the queue goes from empty to non-empty.
  /// `bounded` false ignores the limit (control messages that must not be lost).
  std::error_code push(std::function<void()> task, bool bounded = true);
  /// Loop thread: runs what is queued now (tasks posted meanwhile wait).
  void run_all();
  bool empty() const noexcept { return !pending_.load(std::memory_order_acquire); }
  /// Wakes the loop without a task (stop()).
  void wake() noexcept;
  /// After this, push() fails with errc::loop_stopped and queued tasks are dropped.
  void close() noexcept;
  void set_limit(std::size_t n) noexcept { limit_.store(n, std::memory_order_relaxed); }

  void on_io(std::uint32_t events) override;

 private:
  int efd_;
  std::mutex mu_;
  std::vector<std::function<void()>> queue_;
  std::vector<std::function<void()>> running_;
  std::atomic<bool> pending_{false};
  std::atomic<std::size_t> limit_{0};
  bool closed_ = false;
};

}  // namespace weft::detail
