#pragma once
// TieredCache: get-or-compute over an in-process LRU (L1) and Redis (L2), with per-user and global versions
// for invalidation without scanning Redis.
//
// Lookup order: L1, then L2 (a hit is copied into L1), then the compute function (its value goes to both). At
// most one computation per key runs at a time in a process; concurrent callers share its result, errors
// included. A compute error is returned and not cached. Redis being down, slow or returning garbage never
// fails a call: it is a miss, counted, and the breaker stops calling Redis for a while after repeated
// failures.
//
// Invalidation: every value is stored with the global version and its user's version in a small header
// ("c1:<global>:<user>:<expires unix ms>\n" then the JSON text as it is); a value whose versions are not the
// current ones is a miss. Invalidate(user) increments the user's version in Redis (`prefix:ver:user:<id>`)
// and locally; InvalidateAll() the global one (`prefix:ver:global`). Version keys live kVersionTtl, longer
// than any value (TTLs are capped at kMaxValueTtl). With version_max_staleness = 0 the versions are read from
// Redis on every lookup, in the same MGET as the value, so once Invalidate() has returned the next read in
// any process recomputes. When Redis is unreachable, a process falls back to the versions it knows: its own
// invalidations still apply at once (and are replayed to Redis when it is back), other processes' are not
// seen and their L1 values may be served until their TTL. A missing or corrupt version in Redis is re-created
// from the wall clock in microseconds, never from 0, so a Redis restart cannot bring back a version a process
// still holds values for.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "cache/cache_options.hpp"
#include "cache/clock.hpp"
#include "cache/lru_cache.hpp"
#include "cache/redis_cache.hpp"
#include "cache/single_flight.hpp"
#include "common/result.hpp"

namespace cohort::cache {

enum class Source { kL1, kL2, kComputed };
std::string_view SourceName(Source source);  // "l1", "l2", "computed"

struct Lookup {
  std::string value;
  Source source = Source::kComputed;
};

// What a cached value is for. `ns` and `user_id` may hold any bytes (they are escaped in keys); `name` should
// be the rest of what determines the value (parameters included). An empty user_id: the value belongs to no
// user and only InvalidateAll() reaches it.
struct CacheKey {
  std::string_view ns;
  std::string_view user_id;
  std::string_view name;
};

struct L2Stats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;  // absent, expired, under an old version, undecodable, or Redis unreachable
  std::uint64_t decode_errors = 0;  // also counted in redis.errors
  RedisStats redis;
};

struct CacheStats {
  bool enabled = false;
  bool l1_enabled = false;
  bool l2_enabled = false;  // false too when no Redis URL was given
  LruStats l1;              // hits and misses as lookups saw them: an entry under an old version is a miss
  L2Stats l2;
  std::uint64_t computes = 0;
  std::uint64_t compute_errors = 0;
  std::uint64_t shared_computes = 0;  // calls that waited for another caller's computation
  std::uint64_t invalidations = 0;
  std::uint64_t pending_invalidations = 0;  // made while Redis was unreachable, not yet written there
};

using ComputeFn = std::function<Result<std::string>()>;

class TieredCache {
 public:
  static constexpr std::chrono::seconds kMaxValueTtl{std::chrono::hours(24 * 7)};
  static constexpr std::chrono::seconds kVersionTtl{std::chrono::hours(24 * 30)};

  // InvalidArgument for a malformed redis_url. Redis itself is not contacted here.
  static Result<std::unique_ptr<TieredCache>> Create(CacheOptions options, ClockFn clock = SteadyNow);
  TieredCache(const TieredCache&) = delete;
  TieredCache& operator=(const TieredCache&) = delete;
  ~TieredCache();

  // Fails only with compute's error. ttl is capped at kMaxValueTtl; ttl <= 0 computes and stores nothing.
  Result<Lookup> GetOrCompute(const CacheKey& key, std::chrono::seconds ttl, const ComputeFn& compute);
  // A value of no user: same as CacheKey{"", "", key}.
  Result<Lookup> GetOrCompute(std::string_view key, std::chrono::seconds ttl, const ComputeFn& compute);

  // Every value of this user (or, for InvalidateAll, every value) computed before is a miss from now on.
  void Invalidate(std::string_view user_id);
  void InvalidateAll();

  CacheStats Stats() const;

 private:
  struct Versions {
    std::uint64_t global = 0;
    std::uint64_t user = 0;  // 0 for values of no user
    bool operator==(const Versions&) const = default;
  };
  struct KnownVersion {
    std::uint64_t version = 0;
    Clock::time_point fetched = Clock::time_point::min();  // min: not read from Redis (seeded or bumped here)
  };
  struct VersionTable {
    mutable std::mutex mutex;
    std::optional<KnownVersion> global;
    std::unordered_map<std::string, KnownVersion, TransparentStringHash, std::equal_to<>> users;
    bool pending_global = false;
    std::unordered_set<std::string> pending_users;
  };
  struct Keys {
    std::string logical;       // L1 key: ns:user:name
    std::string value;         // L2 key: prefix:val:ns:user:name
    std::string user_version;  // prefix:ver:user:<id>, empty for values of no user
  };

  TieredCache(CacheOptions options, ClockFn clock, std::unique_ptr<RedisCache> l2);

  Keys MakeKeys(const CacheKey& key) const;
  std::string UserVersionKey(std::string_view user_id) const;
  // The versions this process knows; `fresh` when read from Redis within version_max_staleness.
  Versions LocalVersions(std::string_view user_id, bool* fresh);
  // The versions to check an L1 value against: local when fresh or without L2, else read from Redis.
  Versions CurrentVersions(std::string_view user_id, const Keys& keys);
  // Turns the version texts of an MGET into versions (re-creating missing or corrupt ones) and remembers
  // them.
  std::optional<Versions> AdoptVersions(std::string_view user_id, const Keys& keys,
                                        const std::optional<std::string>& global,
                                        const std::optional<std::string>& user);
  Result<Lookup> Fill(const CacheKey& key, const Keys& keys, std::chrono::seconds ttl,
                      const ComputeFn& compute);
  Result<Lookup> ComputeOnly(const ComputeFn& compute);
  void Bump(std::optional<std::string_view> user_id);
  void FlushPendingInvalidations();

  const CacheOptions options_;
  const ClockFn clock_;
  const std::unique_ptr<LruCache> l1_;    // null when off
  const std::unique_ptr<RedisCache> l2_;  // null when off
  const std::string global_version_key_;
  SingleFlight<Result<Lookup>> flights_;
  VersionTable versions_;
  std::atomic<bool> has_pending_{false};  // a hint read without the lock; versions_ holds the truth
  std::mutex flush_mutex_;                // one replay of pending invalidations at a time

  std::atomic<std::uint64_t> l1_stale_{0};
  std::atomic<std::uint64_t> l2_hits_{0};
  std::atomic<std::uint64_t> l2_misses_{0};
  std::atomic<std::uint64_t> l2_decode_errors_{0};
  std::atomic<std::uint64_t> computes_{0};
  std::atomic<std::uint64_t> compute_errors_{0};
  std::atomic<std::uint64_t> invalidations_{0};
};

}  // namespace cohort::cache
