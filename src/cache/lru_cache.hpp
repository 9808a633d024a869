#pragma once
// LruCache: the in-process tier (L1). Sharded by key hash so that threads touching different keys rarely meet
// on a mutex; each shard evicts its least recently used entry when it goes over its share of the byte budget.
// An entry is charged key + value + kEntryOverhead bytes, so many tiny values cannot hide their real
// footprint. Entries carry their own TTL, measured on the injected clock. Thread-safe.

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cache/clock.hpp"

namespace cohort::cache {

struct LruStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;       // expired entries count here too
  std::uint64_t evictions = 0;    // pushed out by the byte bound
  std::uint64_t expirations = 0;  // found past their TTL
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;  // charged bytes, see kEntryOverhead
  std::uint64_t max_bytes = 0;
};

class LruCache {
 public:
  // Approximate cost of the list node, the hash node and two string headers of one entry on a 64-bit
  // libstdc++.
  static constexpr std::size_t kEntryOverhead = 128;

  // `max_bytes` is split evenly over `shards` (at least 1); an entry larger than one shard's share is not
  // stored.
  LruCache(std::size_t max_bytes, int shards, ClockFn clock = SteadyNow);
  LruCache(const LruCache&) = delete;
  LruCache& operator=(const LruCache&) = delete;

  // On a hit copies the value into `out` (reusing its capacity: no allocation when it is large enough) and
  // marks the entry most recently used. An expired entry is removed and reported as a miss.
  bool Get(std::string_view key, std::string& out);
  // Inserts or replaces. A ttl <= 0 stores nothing (and removes an older value under the key).
  void Put(std::string_view key, std::string_view value, Clock::duration ttl);
  bool Erase(std::string_view key);
  void Clear();

  LruStats Stats() const;
  static std::size_t Charge(std::string_view key, std::string_view value) {
    return key.size() + value.size() + kEntryOverhead;
  }

 private:
  struct Entry {
    std::string key;
    std::string value;
    Clock::time_point expires;
    std::size_t charge = 0;
  };
  using EntryList = std::list<Entry>;

  // The index is keyed by views into the list nodes' own keys (nodes never move), so a lookup by string_view
  // builds no std::string and every key is stored once.
  struct alignas(64) Shard {
    mutable std::mutex mutex;
    EntryList lru;  // front: most recently used
    std::unordered_map<std::string_view, EntryList::iterator> index;
    std::size_t bytes = 0;
    std::uint64_t hits = 0, misses = 0, evictions = 0, expirations = 0;
  };

  Shard& ShardFor(std::string_view key);
  static void RemoveLocked(Shard& shard, EntryList::iterator it);

  const std::size_t max_bytes_;
  const std::size_t shard_max_bytes_;
  const ClockFn clock_;
  std::unique_ptr<Shard[]> shards_;
  const std::size_t shard_count_;
};

}  // namespace cohort::cache
