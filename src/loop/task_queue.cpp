#include "loop/task_queue.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "weft/error.hpp"

namespace weft::detail {

TaskQueue::TaskQueue() : efd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (efd_ < 0) throw std::system_error(errno, std::system_category(), "eventfd");
}

TaskQueue::~TaskQueue() {
  ::close(efd_);
}

std::error_code TaskQueue::push(std::function<void()> task, bool bounded) {
  bool was_empty;
  {
    std::lock_guard lock(mu_);
    if (closed_) return errc::loop_stopped;
    std::size_t limit = limit_.load(std::memory_order_relaxed);
    if (bounded && limit != 0 && queue_.size() >= limit) return errc::queue_full;
    was_empty = queue_.empty();
    queue_.push_back(std::move(task));
    pending_.store(true, std::memory_order_release);
  }
  if (was_empty) wake();
  return {};
}

void TaskQueue::wake() noexcept {
  std::uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the loop will wake anyway.
  [[maybe_unused]] ssize_t n = ::write(efd_, &one, sizeof one);
}

void TaskQueue::on_io(std::uint32_t) {
  std::uint64_t count;
  [[maybe_unused]] ssize_t n = ::read(efd_, &count, sizeof count);
}

void TaskQueue::run_all() {
  if (!pending_.load(std::memory_order_acquire)) return;  // no lock when idle
  {
    std::lock_guard lock(mu_);
    running_.swap(queue_);
    pending_.store(false, std::memory_order_release);
  }
  for (auto& task : running_)
    task();
  running_.clear();
}

void TaskQueue::close() noexcept {
  std::vector<std::function<void()>> dropped;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    dropped.swap(queue_);
    pending_.store(false, std::memory_order_release);
  }
}

}  // namespace weft::detail
