#include "loop/timer_queue.hpp"

#include <algorithm>
#include <functional>

namespace weft::detail {

TimerId TimerQueue::add(Clock::time_point when, Millis interval, std::function<void()> fn) {
  TimerId id = next_id_++;
  timers_.emplace(id, Timer{std::move(fn), interval, when});
  push({when, id});
  return id;
}

void TimerQueue::push(Entry e) {
  heap_.push_back(e);
  std::push_heap(heap_.begin(), heap_.end(), std::greater<>{});
  // Cancelled entries linger until they surface; rebuild when they dominate.
  if (heap_.size() > 1024 && heap_.size() > 4 * timers_.size()) {
    std::erase_if(heap_, [this](const Entry& x) {
      auto it = timers_.find(x.id);
      return it == timers_.end() || it->second.when != x.when;
    });
    std::make_heap(heap_.begin(), heap_.end(), std::greater<>{});
  }
}

bool TimerQueue::cancel(TimerId id) noexcept {
  return timers_.erase(id) > 0;
}

void TimerQueue::drop_stale_top() {
  while (!heap_.empty()) {
    auto it = timers_.find(heap_.front().id);
    if (it != timers_.end() && it->second.when == heap_.front().when) return;
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
    heap_.pop_back();
  }
}

std::optional<Clock::time_point> TimerQueue::next_deadline() {
  drop_stale_top();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().when;
}

void TimerQueue::run_due(Clock::time_point now) {
  for (;;) {
    drop_stale_top();
    if (heap_.empty() || heap_.front().when > now) return;
    Entry top = heap_.front();
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
    heap_.pop_back();
    auto it = timers_.find(top.id);
    if (it->second.interval.count() > 0) {
      // Re-arm before running so the callback may cancel its own timer.
      it->second.when = now + it->second.interval;
      push({it->second.when, top.id});
      auto fn = it->second.fn;  // the callback may cancel (erase) itself
      fn();
    } else {
      auto fn = std::move(it->second.fn);
      timers_.erase(it);
      fn();
    }
  }
}

}  // namespace weft::detail
