// TieredCache against a redis-server of the test's own that the test makes slow, stops and starts again:
// every lookup still succeeds, the breaker opens, and L2 is used again once the server is back.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "cache/tiered_cache.hpp"
#include "redis_test_client.hpp"

namespace cohort::cache {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(TieredCacheRedisFaultTest, RedisDownSlowOrBackNeverFailsALookup) {
  testing::OwnRedisServer server;
  CacheOptions options;
  options.redis_url = server.url();
  options.key_prefix = testing::UniquePrefix("fault");
  options.l1_enabled = false;  // every lookup goes to Redis, so its absence and return are visible
  options.redis_command_timeout = milliseconds(100);
  options.breaker_failures = 5;
  options.breaker_cooldown = milliseconds(300);
  auto created = TieredCache::Create(options);
  ASSERT_TRUE(created);
  auto cache = std::move(created).value();
  int computes = 0;
  const ComputeFn compute = [&]() -> Result<std::string> {
    return R"({"n":)" + std::to_string(++computes) + "}";
  };
  auto lookup_round = [&](int round) {
    for (int k = 0; k < 4; ++k) {
      auto r =
          cache->GetOrCompute(CacheKey{"insights", "u" + std::to_string(k), "summary"}, seconds(60), compute);
      ASSERT_TRUE(r) << "round " << round << " key " << k;
      ASSERT_FALSE(r->value.empty());
    }
  };

  for (int round = 0; round < 5; ++round) lookup_round(round);
  const auto healthy = cache->Stats();
  EXPECT_EQ(healthy.l2.hits, 16u);  // the first round computed, the four next hit
  EXPECT_EQ(healthy.l2.redis.errors, 0u);

  // Slow: the server sleeps longer than the command timeout.
  std::thread sleeper([&] { server.Cli("debug sleep 1"); });
  std::this_thread::sleep_for(milliseconds(100));
  for (int round = 0; round < 3; ++round) lookup_round(100 + round);
  sleeper.join();
  const auto slow = cache->Stats();
  EXPECT_GT(slow.l2.redis.timeouts, 0u);
  EXPECT_GE(slow.l2.redis.breaker.opens, 1u);

  // Let the breaker close again on a healthy server before the outage.
  std::this_thread::sleep_for(options.breaker_cooldown + milliseconds(50));
  for (int round = 0; round < 2; ++round) lookup_round(200 + round);
  ASSERT_EQ(cache->Stats().l2.redis.breaker.state, BreakerState::kClosed);

  // Down in the middle of the traffic.
  const auto opens_before = cache->Stats().l2.redis.breaker.opens;
  for (int round = 0; round < 20; ++round) {
    if (round == 5) server.Stop();
    lookup_round(300 + round);
  }
  const auto down = cache->Stats();
  EXPECT_EQ(down.l2.redis.breaker.state, BreakerState::kOpen);
  EXPECT_GT(down.l2.redis.breaker.opens, opens_before);
  EXPECT_GT(down.l2.redis.breaker.rejected, 0u);
  EXPECT_GT(down.l2.redis.errors, slow.l2.redis.errors);

  // Back: after the cool-down the probe succeeds and L2 serves again.
  server.Start();
  std::this_thread::sleep_for(options.breaker_cooldown + milliseconds(50));
  for (int round = 0; round < 5; ++round) lookup_round(400 + round);
  const auto back = cache->Stats();
  EXPECT_EQ(back.l2.redis.breaker.state, BreakerState::kClosed);
  EXPECT_GE(back.l2.hits,
            down.l2.hits + 16u);  // the restarted server was empty: one computing round, then hits
}

}  // namespace
}  // namespace cohort::cache
