// Subscriptions of one loop: topics by name, each with the ids of its
// memberships; each socket chained through its own memberships.
#include "ws/topic_table.hpp"

namespace weft::ws::detail {

namespace {
// Its address names the table among a loop's LoopLocals.
constexpr char kTableKey = 0;
}  // namespace

TopicTable& TopicTable::of(EventLoop& loop) {
  if (LoopLocal* l = loop.local(&kTableKey)) return static_cast<TopicTable&>(*l);
  return static_cast<TopicTable&>(loop.set_local(&kTableKey, std::make_unique<TopicTable>()));
}

TopicTable* TopicTable::find(EventLoop& loop) noexcept {
  return static_cast<TopicTable*>(loop.local(&kTableKey));
}

TopicTable::Topic* TopicTable::lookup(std::string_view name) const noexcept {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second.get();
}

std::uint32_t TopicTable::take_id() {
  if (free_) {
    const std::uint32_t id = free_;
    free_ = members_[id].next;
    return id;
  }
  members_.emplace_back();
  return static_cast<std::uint32_t>(members_.size() - 1);
}

void TopicTable::release_id(std::uint32_t id) noexcept {
  members_[id] = Membership{};
  members_[id].next = free_;
  free_ = id;
  // Nobody subscribed any more: give the pool back (it grew with the peak).
  if (--live_ == 0 && members_.capacity() > 64) {
    std::vector<Membership>(1).swap(members_);
    free_ = 0;
  }
}

bool TopicTable::subscribe(WebSocket& ws, std::string_view name) {
  if (subscribed(ws, name)) return false;
  Topic* t = lookup(name);
  if (!t) {
    auto fresh = std::make_unique<Topic>();
    fresh->name.assign(name);
    t = fresh.get();
    topics_.emplace(t->name, std::move(fresh));
  }
  const std::uint32_t id = take_id();
  Membership& m = members_[id];
  m.ws = &ws;
  m.topic = t;
  m.pos = static_cast<std::uint32_t>(t->subscribers.size());
  m.next = ws.topics_;
  t->subscribers.push_back(id);
  ws.topics_ = id;
  ++live_;
  return true;
}

bool TopicTable::subscribed(const WebSocket& ws, std::string_view name) const noexcept {
  for (std::uint32_t id = ws.topics_; id; id = members_[id].next) {
    if (members_[id].topic->name == name) return true;
  }
  return false;
}

bool TopicTable::unsubscribe(WebSocket& ws, std::string_view name) {
  std::uint32_t* link = &ws.topics_;
  while (const std::uint32_t id = *link) {
    if (members_[id].topic->name == name) {
      *link = members_[id].next;
      drop(id);
      return true;
    }
    link = &members_[id].next;
  }
  return false;
}

void TopicTable::leave_all(WebSocket& ws) noexcept {
  std::uint32_t id = ws.topics_;
  ws.topics_ = 0;
  while (id) {
    const std::uint32_t next = members_[id].next;
    drop(id);
    id = next;
  }
}

std::size_t TopicTable::subscribers(std::string_view name) const noexcept {
  const Topic* t = lookup(name);
  return t ? t->subscribers.size() - t->holes : 0;
}

void TopicTable::drop(std::uint32_t id) noexcept {
  Topic& t = *members_[id].topic;
  const std::uint32_t pos = members_[id].pos;
  if (t.delivering) {
    // A delivery walks this list by index: leave a hole, compact after.
    t.subscribers[pos] = 0;
    ++t.holes;
  } else {
    const std::uint32_t last = t.subscribers.back();
    t.subscribers[pos] = last;
    members_[last].pos = pos;
    t.subscribers.pop_back();
  }
  release_id(id);
  erase_if_empty(t);
}

void TopicTable::compact(Topic& t) noexcept {
  std::size_t out = 0;
  for (const std::uint32_t id : t.subscribers) {
    if (!id) continue;
    members_[id].pos = static_cast<std::uint32_t>(out);
    t.subscribers[out++] = id;
  }
  t.subscribers.resize(out);
  t.holes = 0;
  erase_if_empty(t);
}

void TopicTable::erase_if_empty(Topic& t) noexcept {
  if (t.delivering || t.subscribers.size() != t.holes) return;
  topics_.erase(topics_.find(t.name));  // destroys t
}

}  // namespace weft::ws::detail
