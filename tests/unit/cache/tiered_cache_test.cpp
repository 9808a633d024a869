// TieredCache without a Redis server: get-or-compute on L1, single-flight, versions, errors, tiers switched
// off, and a Redis that cannot be reached (a closed local port).

#include "cache/tiered_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "fake_clock.hpp"

namespace cohort::cache {
namespace {

using std::chrono::seconds;

CacheOptions L1Only() {
  CacheOptions options;
  options.l2_enabled = false;
  options.l1_max_bytes = 1 << 20;
  return options;
}

std::unique_ptr<TieredCache> Make(CacheOptions options, ClockFn clock = SteadyNow) {
  auto cache = TieredCache::Create(std::move(options), std::move(clock));
  EXPECT_TRUE(cache) << (cache ? "" : cache.error().internal_message + cache.error().client_message);
  return std::move(cache).value();
}

// A compute function that counts its calls and returns "<prefix><call number>".
struct Counter {
  std::atomic<int> calls{0};
  std::string prefix = "v";
  ComputeFn Fn() {
    return [this]() -> Result<std::string> { return prefix + std::to_string(++calls); };
  }
};

TEST(TieredCacheTest, ComputesOnceThenServesFromL1) {
  auto cache = Make(L1Only());
  Counter counter;
  auto first = cache->GetOrCompute("segments", seconds(60), counter.Fn());
  ASSERT_TRUE(first);
  EXPECT_EQ(first->value, "v1");
  EXPECT_EQ(first->source, Source::kComputed);
  auto second = cache->GetOrCompute("segments", seconds(60), counter.Fn());
  ASSERT_TRUE(second);
  EXPECT_EQ(second->value, "v1");
  EXPECT_EQ(second->source, Source::kL1);
  EXPECT_EQ(counter.calls.load(), 1);
  const auto stats = cache->Stats();
  EXPECT_EQ(stats.l1.hits, 1u);
  EXPECT_EQ(stats.computes, 1u);
  EXPECT_FALSE(stats.l2_enabled);
}

TEST(TieredCacheTest, ValuesExpireOnTheInjectedClock) {
  testing::FakeClock clock;
  auto cache = Make(L1Only(), clock.Fn());
  Counter counter;
  ASSERT_TRUE(cache->GetOrCompute("k", seconds(30), counter.Fn()));
  clock.Advance(seconds(29));
  EXPECT_EQ(cache->GetOrCompute("k", seconds(30), counter.Fn())->source, Source::kL1);
  clock.Advance(seconds(1));
  auto after = cache->GetOrCompute("k", seconds(30), counter.Fn());
  EXPECT_EQ(after->source, Source::kComputed);
  EXPECT_EQ(after->value, "v2");
  EXPECT_EQ(cache->Stats().l1.expirations, 1u);
}

TEST(TieredCacheTest, SingleFlightSixtyFourConcurrentMissesComputeOnce) {
  constexpr int kCallers = 64;
  auto cache = Make(L1Only());
  std::atomic<int> computations{0};
  std::latch start(kCallers);
  ComputeFn slow = [&]() -> Result<std::string> {
    ++computations;
    // Holds the computation until all others are waiting for it, so the overlap is certain, not likely.
    const auto deadline = std::chrono::steady_clock::now() + seconds(10);
    while (cache->Stats().shared_computes < kCallers - 1 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return std::string(R"({"score":0.5})");
  };
  std::vector<std::string> values(kCallers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      auto r = cache->GetOrCompute(CacheKey{"insights", "user-1", "summary"}, seconds(60), slow);
      values[static_cast<std::size_t>(i)] = r ? r->value : "error";
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(computations.load(), 1);
  EXPECT_EQ(cache->Stats().shared_computes, static_cast<std::uint64_t>(kCallers - 1));
  for (const auto& value : values) EXPECT_EQ(value, R"({"score":0.5})");
}

TEST(TieredCacheTest, InvalidateRecomputesOnlyThatUsersValues) {
  auto cache = Make(L1Only());
  Counter alice, bob;
  const CacheKey alice_key{"insights", "alice", "summary"};
  const CacheKey bob_key{"insights", "bob", "summary"};
  ASSERT_TRUE(cache->GetOrCompute(alice_key, seconds(60), alice.Fn()));
  ASSERT_TRUE(cache->GetOrCompute(bob_key, seconds(60), bob.Fn()));
  cache->Invalidate("alice");
  auto a = cache->GetOrCompute(alice_key, seconds(60), alice.Fn());
  auto b = cache->GetOrCompute(bob_key, seconds(60), bob.Fn());
  EXPECT_EQ(a->source, Source::kComputed);
  EXPECT_EQ(a->value, "v2");
  EXPECT_EQ(b->source, Source::kL1);
  EXPECT_EQ(cache->GetOrCompute(alice_key, seconds(60), alice.Fn())->source, Source::kL1);
  EXPECT_EQ(cache->Stats().invalidations, 1u);
}

// More users than the smallest bound on the known-versions table (65,536), all fitting in L1: a second pass
// finds every value (without Redis, a user's forgotten version would turn their values into misses).
TEST(TieredCacheTest, AWarmL1KeepsTheValuesOfMoreThanSixtyFiveThousandUsers) {
  CacheOptions options = L1Only();
  options.l1_max_bytes = std::size_t{64} << 20;
  auto cache = Make(options);
  Counter counter;
  constexpr int kUsers = 100'000;
  for (int pass = 0; pass < 2; ++pass)
    for (int i = 0; i < kUsers; ++i) {
      const std::string user = "u" + std::to_string(i);
      ASSERT_TRUE(cache->GetOrCompute({"recs", user, "q"}, seconds(600), counter.Fn()));
    }
  EXPECT_EQ(counter.calls.load(), kUsers);
  EXPECT_EQ(cache->Stats().l1.hits, static_cast<std::uint64_t>(kUsers));
}

TEST(TieredCacheTest, InvalidateAllRecomputesEverything) {
  auto cache = Make(L1Only());
  Counter user_value, global_value;
  const CacheKey user_key{"user", "carol", "profile"};
  ASSERT_TRUE(cache->GetOrCompute(user_key, seconds(60), user_value.Fn()));
  ASSERT_TRUE(cache->GetOrCompute("model-summary", seconds(60), global_value.Fn()));
  cache->InvalidateAll();
  EXPECT_EQ(cache->GetOrCompute(user_key, seconds(60), user_value.Fn())->value, "v2");
  EXPECT_EQ(cache->GetOrCompute("model-summary", seconds(60), global_value.Fn())->value, "v2");
}

TEST(TieredCacheTest, KeyPartsCannotCollide) {
  auto cache = Make(L1Only());
  Counter first, second;
  first.prefix = "first";
  second.prefix = "second";
  ASSERT_TRUE(cache->GetOrCompute(CacheKey{"ns", "a:b", "c"}, seconds(60), first.Fn()));
  auto other = cache->GetOrCompute(CacheKey{"ns", "a", "b:c"}, seconds(60), second.Fn());
  EXPECT_EQ(other->value, "second1");
  EXPECT_EQ(other->source, Source::kComputed);
}

TEST(TieredCacheTest, ComputeErrorsAreReturnedAndNotCached) {
  auto cache = Make(L1Only());
  int calls = 0;
  ComputeFn flaky = [&]() -> Result<std::string> {
    if (++calls == 1) return Error::Unavailable("store down");
    return std::string("ok");
  };
  auto failed = cache->GetOrCompute("k", seconds(60), flaky);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  auto retried = cache->GetOrCompute("k", seconds(60), flaky);
  ASSERT_TRUE(retried);
  EXPECT_EQ(retried->value, "ok");
  EXPECT_EQ(retried->source, Source::kComputed);
  EXPECT_EQ(cache->Stats().compute_errors, 1u);
}

TEST(TieredCacheTest, WithTheCacheOffEveryCallComputes) {
  CacheOptions options = L1Only();
  options.enabled = false;
  auto cache = Make(options);
  Counter counter;
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(cache->GetOrCompute("k", seconds(60), counter.Fn())->source, Source::kComputed);
  EXPECT_EQ(counter.calls.load(), 3);
  const auto stats = cache->Stats();
  EXPECT_FALSE(stats.enabled);
  EXPECT_EQ(stats.computes, 3u);
}

TEST(TieredCacheTest, WithBothTiersOffEveryCallComputes) {
  CacheOptions options = L1Only();
  options.l1_enabled = false;
  auto cache = Make(options);
  Counter counter;
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(cache->GetOrCompute("k", seconds(60), counter.Fn())->source, Source::kComputed);
  EXPECT_EQ(counter.calls.load(), 3);
  EXPECT_FALSE(cache->Stats().l1_enabled);
}

TEST(TieredCacheTest, EmptyRedisUrlMeansNoL2AndABadOneIsRejected) {
  CacheOptions options;
  EXPECT_FALSE(Make(options)->Stats().l2_enabled);
  options.redis_url = "http://localhost:6379";
  EXPECT_FALSE(TieredCache::Create(options));
  options.redis_url = "redis://localhost:notaport";
  EXPECT_FALSE(TieredCache::Create(options));
}

TEST(TieredCacheTest, ParsesRedisUrls) {
  auto plain = ParseRedisUrl("redis://127.0.0.1:56379");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 56379);
  EXPECT_EQ(plain->db, 0);
  auto full = ParseRedisUrl("redis://:secret@cache.internal/3");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->host, "cache.internal");
  EXPECT_EQ(full->port, 6379);
  EXPECT_EQ(full->db, 3);
  EXPECT_EQ(full->password, "secret");
  EXPECT_FALSE(ParseRedisUrl("redis://"));
  EXPECT_FALSE(ParseRedisUrl("redis://host:0"));
  EXPECT_FALSE(ParseRedisUrl("redis://host/x"));
}

// Port 1 on the loopback refuses at once: Redis "down" without waiting for timeouts.
TEST(TieredCacheTest, UnreachableRedisNeverFailsALookupAndOpensTheBreaker) {
  testing::FakeClock clock;
  CacheOptions options;
  options.redis_url = "redis://127.0.0.1:1";
  options.breaker_failures = 3;
  auto cache = Make(options, clock.Fn());
  Counter counter;
  for (int i = 0; i < 10; ++i) {
    auto r =
        cache->GetOrCompute(CacheKey{"insights", "u", "k" + std::to_string(i)}, seconds(60), counter.Fn());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->source, Source::kComputed);
  }
  // Served from L1 while Redis is away.
  EXPECT_EQ(cache->GetOrCompute(CacheKey{"insights", "u", "k0"}, seconds(60), counter.Fn())->source,
            Source::kL1);
  auto stats = cache->Stats();
  EXPECT_TRUE(stats.l2_enabled);
  EXPECT_EQ(stats.l2.redis.breaker.state, BreakerState::kOpen);
  EXPECT_EQ(stats.l2.redis.errors, 3u);  // then the breaker stopped the calls
  EXPECT_GT(stats.l2.redis.breaker.rejected, 0u);
  EXPECT_EQ(stats.l2.redis.connect_failures, 3u);

  // Invalidation still applies in this process, and waits to be written to Redis.
  cache->Invalidate("u");
  EXPECT_EQ(cache->GetOrCompute(CacheKey{"insights", "u", "k0"}, seconds(60), counter.Fn())->source,
            Source::kComputed);
  EXPECT_EQ(cache->Stats().pending_invalidations, 1u);

  // After the cool-down one probe goes through, fails, and the breaker opens again.
  clock.Advance(options.breaker_cooldown);
  ASSERT_TRUE(cache->GetOrCompute(CacheKey{"insights", "u", "k1"}, seconds(60), counter.Fn()));
  stats = cache->Stats();
  EXPECT_EQ(stats.l2.redis.errors, 4u);
  EXPECT_EQ(stats.l2.redis.breaker.opens, 2u);
  EXPECT_EQ(stats.l2.redis.breaker.state, BreakerState::kOpen);
}

}  // namespace
}  // namespace cohort::cache
