#include "cache/lru_cache.hpp"

#include <algorithm>
#include <functional>

namespace cohort::cache {

LruCache::LruCache(std::size_t max_bytes, int shards, ClockFn clock)
    : max_bytes_(max_bytes),
      shard_max_bytes_(max_bytes / static_cast<std::size_t>(std::max(shards, 1))),
      clock_(clock ? std::move(clock) : ClockFn(SteadyNow)),
      shards_(std::make_unique<Shard[]>(static_cast<std::size_t>(std::max(shards, 1)))),
      shard_count_(static_cast<std::size_t>(std::max(shards, 1))) {}

LruCache::Shard& LruCache::ShardFor(std::string_view key) {
  // The index hashes the key again with the same function; the multiplier decorrelates the shard choice from
  // the bucket choice, which both come from the low bits otherwise.
  const std::size_t h = std::hash<std::string_view>{}(key)*0x9E3779B97F4A7C15ULL;
  return shards_[(h >> 32) % shard_count_];
}

void LruCache::RemoveLocked(Shard& shard, EntryList::iterator it) {
  shard.bytes -= it->charge;
  shard.index.erase(std::string_view(it->key));
  shard.lru.erase(it);
}

bool LruCache::Get(std::string_view key, std::string& out) {
  Shard& shard = ShardFor(key);
  const auto now = clock_();
  std::lock_guard lock(shard.mutex);
  const auto found = shard.index.find(key);
  if (found == shard.index.end()) {
    ++shard.misses;
    return false;
  }
  const auto it = found->second;
  if (it->expires <= now) {
    RemoveLocked(shard, it);
    ++shard.expirations;
    ++shard.misses;
    return false;
  }
  shard.lru.splice(shard.lru.begin(), shard.lru, it);
  out.assign(it->value);
  ++shard.hits;
  return true;
}

void LruCache::Put(std::string_view key, std::string_view value, Clock::duration ttl) {
  Shard& shard = ShardFor(key);
  const std::size_t charge = Charge(key, value);
  if (ttl <= Clock::duration::zero() || charge > shard_max_bytes_) {
    // Dropping an older value keeps the cache from serving what the caller just replaced.
    Erase(key);
    return;
  }
  const auto expires = clock_() + ttl;
  std::lock_guard lock(shard.mutex);
  if (const auto found = shard.index.find(key); found != shard.index.end()) {
    const auto it = found->second;
    shard.bytes = shard.bytes - it->charge + charge;
    it->value.assign(value);
    it->expires = expires;
    it->charge = charge;
    shard.lru.splice(shard.lru.begin(), shard.lru, it);
  } else {
    shard.lru.push_front(Entry{std::string(key), std::string(value), expires, charge});
    shard.index.emplace(std::string_view(shard.lru.front().key), shard.lru.begin());
    shard.bytes += charge;
  }
  while (shard.bytes > shard_max_bytes_) {
    // The new entry fits on its own (checked above), so this never evicts it.
    RemoveLocked(shard, std::prev(shard.lru.end()));
    ++shard.evictions;
  }
}

bool LruCache::Erase(std::string_view key) {
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mutex);
  const auto found = shard.index.find(key);
  if (found == shard.index.end()) return false;
  RemoveLocked(shard, found->second);
  return true;
}

void LruCache::Clear() {
  for (std::size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    std::lock_guard lock(shard.mutex);
    shard.index.clear();
    shard.lru.clear();
    shard.bytes = 0;
  }
}

LruStats LruCache::Stats() const {
  LruStats stats;
  stats.max_bytes = max_bytes_;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    const Shard& shard = shards_[i];
    std::lock_guard lock(shard.mutex);
    stats.hits += shard.hits;
    stats.misses += shard.misses;
    stats.evictions += shard.evictions;
    stats.expirations += shard.expirations;
    stats.entries += shard.lru.size();
    stats.bytes += shard.bytes;
  }
  return stats;
}

}  // namespace cohort::cache
