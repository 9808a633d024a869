#pragma once
// Settings of the tiered cache; app/ fills them from COHORT_* settings.

#include <chrono>
#include <cstddef>
#include <string>

namespace cohort::cache {

struct CacheOptions {
  bool enabled = true;     // false: every GetOrCompute computes, nothing is stored
  bool l1_enabled = true;  // in-process LruCache
  bool l2_enabled = true;  // Redis; also off when redis_url is empty
  std::size_t l1_max_bytes = 64 * 1024 * 1024;
  int l1_shards = 16;
  std::string redis_url;              // redis://host:port[/db]
  std::string key_prefix = "cohort";  // one per deployment sharing a Redis
  std::chrono::milliseconds redis_connect_timeout{200};
  std::chrono::milliseconds redis_command_timeout{50};
  int redis_pool_size = 4;
  int breaker_failures = 5;
  std::chrono::milliseconds breaker_cooldown{5000};
  // How long versions read from Redis are trusted without asking again. 0 (the default): every lookup reads
  // the versions from Redis (one round trip, together with the value on an L1 miss), so an Invalidate() in
  // any process is seen by the next read everywhere. Above 0: an L1 hit needs no network, and another
  // process's Invalidate() is seen within this delay.
  std::chrono::milliseconds version_max_staleness{0};
};

}  // namespace cohort::cache
