// store.cpp — keyspace storage, TTL bookkeeping and sharding.
#include "store.hpp"

#include <algorithm>
#include <bit>
#include <chrono>

namespace redis {

Millis monotonic_ms() noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

// ---- Keyspace ---------------------------------------------------------------

Keyspace::Item* Keyspace::find(std::string_view key, Millis now) {
  const auto it = map_.find(key);
  if (it == map_.end()) return nullptr;
  const Millis at = it->second.expire_at;
  if (at != 0 && at <= now) {
    erase_item(it);
    return nullptr;
  }
  return &*it;
}

Keyspace::Item& Keyspace::upsert(std::string_view key, Millis now, bool& created) {
  if (Item* item = find(key, now)) {
    created = false;
    return *item;
  }
  created = true;
  return *map_.try_emplace(std::string(key)).first;
}

bool Keyspace::erase(std::string_view key, Millis now) {
  const auto it = map_.find(key);
  if (it == map_.end()) return false;
  const Millis at = it->second.expire_at;
  erase_item(it);
  return at == 0 || at > now;
}

void Keyspace::set_expire(Item& item, Millis at) {
  Entry& e = item.second;
  e.expire_at = at;
  if (at == 0) {
    drop_ttl(item);
  } else if (e.ttl_slot == 0) {
    ttl_.push_back(&item);
    e.ttl_slot = static_cast<std::uint32_t>(ttl_.size());
  }
}

void Keyspace::clear() noexcept {
  map_.clear();
  ttl_.clear();
}

void Keyspace::erase_item(Map::iterator it) {
  drop_ttl(*it);
  map_.erase(it);
}

// Swap-remove from the TTL list: O(1), order does not matter for sampling.
void Keyspace::drop_ttl(Item& item) noexcept {
  Entry& e = item.second;
  if (e.ttl_slot == 0) return;
  Item* last = ttl_.back();
  ttl_[e.ttl_slot - 1] = last;
  last->second.ttl_slot = e.ttl_slot;
  ttl_.pop_back();
  e.ttl_slot = 0;
}

std::size_t Keyspace::sweep(Millis now, std::size_t max_checks) {
  constexpr std::size_t kSample = 20;  // Redis' ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP
  std::size_t checks = 0, deleted = 0;
  while (!ttl_.empty() && checks < max_checks) {
    std::size_t expired = 0;
    for (std::size_t i = 0; i < kSample && !ttl_.empty(); ++i, ++checks) {
      rng_ ^= rng_ << 13;  // xorshift64: cheap, and good enough to sample
      rng_ ^= rng_ >> 7;
      rng_ ^= rng_ << 17;
      Item* item = ttl_[rng_ % ttl_.size()];
      if (item->second.expire_at <= now) {
        erase_item(map_.find(std::string_view(item->first)));
        ++expired;
      }
    }
    deleted += expired;
    if (expired * 4 <= kSample) break;  // few expired: the rest can wait
  }
  return deleted;
}

// ---- Store ------------------------------------------------------------------

Store::Store(std::size_t shards)
    : mask_(std::bit_ceil(std::clamp<std::size_t>(shards, 1, kMaxShards)) - 1) {
  shards_ = std::make_unique<Shard[]>(mask_ + 1);
}

std::size_t Store::shards_for_loops(std::size_t loops) noexcept {
  return loops <= 1 ? 1 : std::min(kMaxShards, std::bit_ceil(loops * 16));
}

Store::MultiLock::MultiLock(Store& store, std::span<const std::string_view> keys,
                            std::size_t stride)
    : store_(store) {
  for (std::size_t i = 0; i < keys.size(); i += stride) {
    const std::size_t s = store.shard_index(keys[i]);
    held_[s / 64] |= std::uint64_t{1} << (s % 64);
  }
  for (std::size_t w = 0; w < std::size(held_); ++w)
    for (std::uint64_t bits = held_[w]; bits != 0; bits &= bits - 1)
      store_.shards_[w * 64 + static_cast<std::size_t>(std::countr_zero(bits))].mu.lock();
}

Store::MultiLock::~MultiLock() {
  for (std::size_t w = 0; w < std::size(held_); ++w)
    for (std::uint64_t bits = held_[w]; bits != 0; bits &= bits - 1)
      store_.shards_[w * 64 + static_cast<std::size_t>(std::countr_zero(bits))].mu.unlock();
}

std::size_t Store::size() {
  std::size_t n = 0;
  for (std::size_t i = 0; i <= mask_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].keys.size();
  }
  return n;
}

void Store::clear() {
  // All shards at once, so no reader sees half a flush.
  for (std::size_t i = 0; i <= mask_; ++i)
    shards_[i].mu.lock();
  for (std::size_t i = 0; i <= mask_; ++i)
    shards_[i].keys.clear();
  for (std::size_t i = mask_ + 1; i-- > 0;)
    shards_[i].mu.unlock();
}

std::size_t Store::sweep(Millis now) {
  // Bounded per shard so a sweep never holds a lock for long.
  constexpr std::size_t kChecksPerShard = 400;
  std::size_t deleted = 0;
  for (std::size_t i = 0; i <= mask_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    deleted += shards_[i].keys.sweep(now, kChecksPerShard);
  }
  return deleted;
}

}  // namespace redis
