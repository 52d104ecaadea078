// Timers of one loop: a binary min-heap of deadlines with lazy cancellation.
// O(log n) to add, O(1) to cancel; 100k idle timers cost one heap entry and
// one map node each. (Connection idle limits do not use timers at all: see
// the idle list in net/worker.)
#pragma once

#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "weft/loop.hpp"

namespace weft::detail {

class TimerQueue {
 public:
  TimerId add(Clock::time_point when, Millis interval, std::function<void()> fn);
  bool cancel(TimerId id) noexcept;
  /// Time of the earliest live timer, if any.
  std::optional<Clock::time_point> next_deadline();
  /// Runs every timer due at `now` (repeating ones are re-armed).
  void run_due(Clock::time_point now);
  std::size_t size() const noexcept { return timers_.size(); }

 private:
  struct Entry {
    Clock::time_point when;
    TimerId id;
    bool operator>(const Entry& o) const { return when > o.when || (when == o.when && id > o.id); }
  };
  struct Timer {
    std::function<void()> fn;
    Millis interval;
    Clock::time_point when;
  };
  void push(Entry e);
  void drop_stale_top();

  std::vector<Entry> heap_;
  std::unordered_map<TimerId, Timer> timers_;
  TimerId next_id_ = 1;
};

}  // namespace weft::detail
