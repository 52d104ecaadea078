#include <algorithm>
#include <chrono>

#include <cstdlib>
#include <cstring>

#include "loop/poller.hpp"
#include "loop/task_queue.hpp"
#include "loop/timer_queue.hpp"
#include "weft/log.hpp"
#include "weft/loop.hpp"

namespace weft {

namespace {

// WEFT_IO_BACKEND=epoll|io_uring|auto picks the backend of loops made
// without one (EventLoop()), e.g. to run the whole test suite on io_uring.
IoBackend default_backend() noexcept {
  const char* env = std::getenv("WEFT_IO_BACKEND");
  if (!env || !*env) return IoBackend::automatic;
  if (std::strcmp(env, "io_uring") == 0) return IoBackend::io_uring;
  if (std::strcmp(env, "epoll") == 0) return IoBackend::epoll;
  return IoBackend::automatic;
}

}  // namespace

EventLoop::EventLoop() : EventLoop(default_backend()) {}

EventLoop::EventLoop(IoBackend backend)
    : timers_(std::make_unique<detail::TimerQueue>()),
      tasks_(std::make_unique<detail::TaskQueue>()),
      now_(Clock::now()) {
  if (backend != IoBackend::epoll) {
    const char* why = nullptr;
    poller_ = detail::make_uring_poller(&why);
    if (poller_) {
      backend_ = IoBackend::io_uring;
    } else {
      logf(backend == IoBackend::io_uring ? LogLevel::warn : LogLevel::info,
           "io_uring unavailable (%s): this loop uses epoll", why);
    }
  }
  if (!poller_) poller_ = detail::make_epoll_poller();
  poller_->add(tasks_->fd(), tasks_.get(), IoWatcher::kReadable);
}

EventLoop::~EventLoop() {
  tasks_->close();
  poller_->remove(tasks_->fd());
}

void EventLoop::run() {
  thread_id_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  running_.store(true, std::memory_order_release);
  now_ = Clock::now();
  while (!stop_requested_.load(std::memory_order_acquire)) {
    int timeout = static_cast<int>(poll_wait_.count());
    if (!tasks_->empty()) {
      timeout = 0;
    } else if (auto next = timers_->next_deadline()) {
      auto wait = std::chrono::ceil<Millis>(*next - Clock::now()).count();
      timeout = static_cast<int>(std::clamp<long long>(wait, 0, timeout < 0 ? 1LL << 30 : timeout));
    }
    poller_->poll(timeout);
    now_ = Clock::now();
    if (after_io_) after_io_();
    timers_->run_due(now_);
    tasks_->run_all();
    if (after_io_) after_io_();  // tasks and timers may have closed connections too
  }
  tasks_->close();
  running_.store(false, std::memory_order_release);
  stop_requested_.store(false, std::memory_order_release);
}

void EventLoop::stop() noexcept {
  stop_requested_.store(true, std::memory_order_release);
  tasks_->wake();
}

std::error_code EventLoop::post(std::function<void()> task) {
  return tasks_->push(std::move(task));
}

std::error_code EventLoop::post_control(std::function<void()> task) {
  return tasks_->push(std::move(task), /*bounded=*/false);
}

void EventLoop::dispatch(std::function<void()> task) {
  if (in_loop_thread()) {
    task();
  } else {
    (void)post(std::move(task));
  }
}

TimerId EventLoop::run_after(Millis delay, std::function<void()> fn) {
  return timers_->add(Clock::now() + delay, Millis{0}, std::move(fn));
}

TimerId EventLoop::run_every(Millis interval, std::function<void()> fn) {
  if (interval.count() <= 0) interval = Millis{1};
  return timers_->add(Clock::now() + interval, interval, std::move(fn));
}

bool EventLoop::cancel(TimerId id) noexcept {
  return timers_->cancel(id);
}
LoopLocal* EventLoop::local(const void* key) const noexcept {
  for (const auto& [k, state] : locals_) {
    if (k == key) return state.get();
  }
  return nullptr;
}

LoopLocal& EventLoop::set_local(const void* key, std::unique_ptr<LoopLocal> state) {
  for (auto& [k, held] : locals_) {
    if (k == key) {
      held = std::move(state);
      return *held;
    }
  }
  locals_.emplace_back(key, std::move(state));
  return *locals_.back().second;
}

std::size_t EventLoop::timer_count() const noexcept {
  return timers_->size();
}

void EventLoop::watch(int fd, IoWatcher* w, std::uint32_t events) {
  poller_->add(fd, w, events);
}
void EventLoop::rewatch(int fd, IoWatcher* w, std::uint32_t events) noexcept {
  poller_->modify(fd, w, events);
}
void EventLoop::unwatch(int fd) noexcept {
  poller_->remove(fd);
}
void EventLoop::set_queue_limit(std::size_t n) noexcept {
  tasks_->set_limit(n);
}

}  // namespace weft
