// One loop's topics: which of its WebSockets subscribe to what. Only the
// loop's thread touches it (or the thread tearing the server down, after
// the loop has stopped), so nothing here locks.
//
// A subscription is one Membership record (24 bytes, in a pool indexed
// from 1) plus its 4-byte id in the topic's subscriber list. A socket
// finds its memberships through WebSocket::topics_ (the first id) and the
// records' `next` links, so an unsubscribed socket costs nothing. A topic
// lives while it has subscribers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "weft/loop.hpp"
#include "weft/ws/websocket.hpp"

namespace weft::ws::detail {

class TopicTable final : public LoopLocal {
 public:
  struct Topic {
    std::string name;
    /// Membership ids; 0 marks one that left during a delivery.
    std::vector<std::uint32_t> subscribers;
    std::uint32_t delivering = 0;  // deliveries under way (nested ones count)
    std::uint32_t holes = 0;       // zeros in `subscribers`
  };

  /// The table of `loop`, made on first use.
  static TopicTable& of(EventLoop& loop);
  /// The table of `loop`, or null when nothing ever subscribed there.
  static TopicTable* find(EventLoop& loop) noexcept;

  bool subscribe(WebSocket& ws, std::string_view name);
  bool unsubscribe(WebSocket& ws, std::string_view name);
  bool subscribed(const WebSocket& ws, std::string_view name) const noexcept;
  /// Every membership of `ws` (it is closing).
  void leave_all(WebSocket& ws) noexcept;
  std::size_t subscribers(std::string_view name) const noexcept;
  /// Subscriptions on this loop, all topics.
  std::size_t size() const noexcept { return live_; }

  /// Calls fn(WebSocket&) for each subscriber of `name` as of the call.
  /// fn may do anything, including closing sockets (they leave at once and
  /// are not visited after that), subscribing (new subscribers are not
  /// visited) and delivering again.
  template <class Fn>
  void for_each_subscriber(std::string_view name, Fn&& fn) {
    Topic* t = lookup(name);
    if (!t) return;
    ++t->delivering;
    const std::size_t n = t->subscribers.size();
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t id = t->subscribers[i];
      if (id) fn(*members_[id].ws);
    }
    if (--t->delivering == 0 && t->holes) compact(*t);
  }

 private:
  struct Membership {
    WebSocket* ws = nullptr;
    Topic* topic = nullptr;
    std::uint32_t pos = 0;   // index in topic->subscribers
    std::uint32_t next = 0;  // the socket's next membership (or the free list's)
  };

  Topic* lookup(std::string_view name) const noexcept;
  std::uint32_t take_id();
  void release_id(std::uint32_t id) noexcept;
  /// Takes membership `id` out of its topic (and the topic out of the table
  /// when it was the last one and no delivery is walking it).
  void drop(std::uint32_t id) noexcept;
  void compact(Topic& t) noexcept;
  void erase_if_empty(Topic& t) noexcept;

  std::unordered_map<std::string_view, std::unique_ptr<Topic>> topics_;  // keys view Topic::name
  std::vector<Membership> members_{1};  // [0] unused: id 0 means none
  std::uint32_t free_ = 0;              // first free id
  std::size_t live_ = 0;
};

}  // namespace weft::ws::detail
