// store.hpp — the keyspace: string keys to string values with optional
// expiry, split into shards that each have their own lock.
//
// Why shared and sharded: Redis semantics need one keyspace that every
// connection sees, but with several loops the connections of one keyspace
// run on several threads. A single lock would serialise every loop on it;
// per-loop keyspaces would make a key set on one connection invisible to
// another. So the keys are split by hash into shards, each with its own
// mutex: two loops contend only when they touch the same shard at the same
// moment (about loops/shards of the time). With one loop there is one shard
// and its lock is never contended, which costs a few nanoseconds per command.
//
// Expiry is Redis': lazy (an expired key is deleted when it is looked up)
// plus a periodic sweep that samples keys carrying a TTL, so keys nobody
// reads again still go away.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace redis {

/// Milliseconds on a monotonic clock: TTLs are relative (EX/PX), so they
/// must not jump with the wall clock.
using Millis = std::int64_t;
Millis monotonic_ms() noexcept;

struct Entry {
  std::string value;
  Millis expire_at = 0;        ///< 0: no TTL
  std::uint32_t ttl_slot = 0;  ///< index + 1 into the shard's TTL list; 0: not in it
};

/// One shard's keys. Every member expects the shard's lock to be held.
class Keyspace {
 public:
  // Transparent hashing: look keys up by string_view without a std::string.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using Map = std::unordered_map<std::string, Entry, Hash, std::equal_to<>>;
  using Item = Map::value_type;  ///< nodes never move, so Item* stays valid

  /// The live item for `key`, or null. An expired one is deleted first.
  Item* find(std::string_view key, Millis now);
  /// The live item for `key`; a missing or expired one is created empty
  /// (no TTL) and `created` says so.
  Item& upsert(std::string_view key, Millis now, bool& created);
  /// Deletes `key`; true if it existed and had not expired.
  bool erase(std::string_view key, Millis now);
  /// Sets (at > 0) or removes (at == 0) the item's TTL.
  void set_expire(Item& item, Millis at);
  std::size_t size() const noexcept { return map_.size(); }
  void clear() noexcept;
  /// Active expiry, as Redis does it: look at 20 random keys with a TTL,
  /// delete the expired ones, and go on while more than a quarter of a
  /// sample had expired, up to `max_checks` looks. Returns keys deleted.
  std::size_t sweep(Millis now, std::size_t max_checks);

 private:
  void erase_item(Map::iterator it);
  void drop_ttl(Item& item) noexcept;

  Map map_;
  std::vector<Item*> ttl_;  // items with a TTL, for the sweep to sample
  std::uint64_t rng_ = 0x9e3779b97f4a7c15ULL;
};

class Store {
 public:
  struct Shard {
    std::mutex mu;
    Keyspace keys;
  };

  /// `shards` is rounded up to a power of two, at most kMaxShards.
  explicit Store(std::size_t shards = 1);
  static constexpr std::size_t kMaxShards = 256;
  /// A shard count for `loops` loops: enough shards that two loops rarely
  /// want the same one at once, one when there is a single loop.
  static std::size_t shards_for_loops(std::size_t loops) noexcept;

  std::size_t shard_count() const noexcept { return mask_ + 1; }
  std::size_t shard_index(std::string_view key) const noexcept {
    return Keyspace::Hash{}(key)&mask_;
  }
  Shard& shard(std::string_view key) noexcept { return shards_[shard_index(key)]; }
  Shard& shard_at(std::size_t i) noexcept { return shards_[i]; }

  /// Holds the locks of every shard that `keys` (every `stride`-th one,
  /// from the first) live in, taken in shard order so that multi-key
  /// commands on different loops cannot deadlock. Multi-key commands are
  /// atomic, as in Redis.
  class MultiLock {
   public:
    MultiLock(Store& store, std::span<const std::string_view> keys, std::size_t stride = 1);
    ~MultiLock();
    MultiLock(const MultiLock&) = delete;
    MultiLock& operator=(const MultiLock&) = delete;

   private:
    Store& store_;
    std::uint64_t held_[kMaxShards / 64] = {};
  };

  /// Keys in all shards (expired ones not yet swept count, as in Redis).
  std::size_t size();
  void clear();
  /// One round of active expiry over every shard; returns keys deleted.
  std::size_t sweep(Millis now);

 private:
  std::unique_ptr<Shard[]> shards_;
  std::size_t mask_;
};

}  // namespace redis
