// TieredCache against the shared test Redis (scripts/test-services.sh): L2 behind L1, invalidation across
// instances, a TTL on every key, and garbage in Redis.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>

#include "cache/tiered_cache.hpp"
#include "redis_test_client.hpp"

namespace cohort::cache {
namespace {

using std::chrono::seconds;

CacheOptions RedisOptions(const std::string& url, const std::string& prefix) {
  CacheOptions options;
  options.redis_url = url;
  options.key_prefix = prefix;
  options.redis_command_timeout = std::chrono::milliseconds(1000);  // a loaded test machine is no outage
  return options;
}

std::unique_ptr<TieredCache> Make(const CacheOptions& options) {
  auto cache = TieredCache::Create(options);
  if (!cache) ADD_FAILURE() << cache.error().client_message;
  return cache ? std::move(cache).value() : nullptr;
}

struct Counter {
  std::atomic<int> calls{0};
  std::string tag;
  ComputeFn Fn() {
    return [this]() -> Result<std::string> {
      return R"({"by":")" + tag + R"(","n":)" + std::to_string(++calls) + "}";
    };
  }
};

TEST(TieredCacheRedisTest, L2ServesWhatL1Evicted) {
  const std::string url = testing::TestRedisUrl();
  if (url.empty()) return;
  CacheOptions options = RedisOptions(url, testing::UniquePrefix("evict"));
  options.l1_shards = 1;
  options.l1_max_bytes =
      2 * LruCache::Charge(std::string(40, 'k'), std::string(60, 'v'));  // about two values
  auto cache = Make(options);
  Counter counter;
  counter.tag = "a";
  for (int i = 0; i < 6; ++i)
    ASSERT_EQ(
        cache->GetOrCompute(CacheKey{"insights", "u1", "k" + std::to_string(i)}, seconds(60), counter.Fn())
            ->source,
        Source::kComputed);
  ASSERT_GT(cache->Stats().l1.evictions, 0u);
  auto again = cache->GetOrCompute(CacheKey{"insights", "u1", "k0"}, seconds(60), counter.Fn());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->source, Source::kL2);
  EXPECT_EQ(again->value, R"({"by":"a","n":1})");
  EXPECT_EQ(counter.calls.load(), 6);
  // Promoted: the next read is local.
  EXPECT_EQ(cache->GetOrCompute(CacheKey{"insights", "u1", "k0"}, seconds(60), counter.Fn())->source,
            Source::kL1);
  const auto stats = cache->Stats();
  EXPECT_EQ(stats.l2.hits, 1u);
  EXPECT_EQ(stats.l2.redis.errors, 0u);
  EXPECT_EQ(stats.l2.redis.breaker.state, BreakerState::kClosed);
}

TEST(TieredCacheRedisTest, AnInvalidationIsSeenByAnotherInstanceOnItsNextRead) {
  const std::string url = testing::TestRedisUrl();
  if (url.empty()) return;
  const CacheOptions options = RedisOptions(url, testing::UniquePrefix("shared"));
  auto first = Make(options);
  auto second = Make(options);
  Counter by_first, by_second;
  by_first.tag = "first";
  by_second.tag = "second";
  const CacheKey key{"insights", "user:42", "summary"};

  ASSERT_EQ(first->GetOrCompute(key, seconds(60), by_first.Fn())->source, Source::kComputed);
  auto shared = second->GetOrCompute(key, seconds(60), by_second.Fn());
  EXPECT_EQ(shared->source, Source::kL2);
  EXPECT_EQ(shared->value, R"({"by":"first","n":1})");
  EXPECT_EQ(second->GetOrCompute(key, seconds(60), by_second.Fn())->source, Source::kL1);

  first->Invalidate("user:42");
  auto after = second->GetOrCompute(key, seconds(60), by_second.Fn());
  EXPECT_EQ(after->source, Source::kComputed)
      << "the second instance served its L1 value after the invalidation";
  EXPECT_EQ(after->value, R"({"by":"second","n":1})");
  // The first instance now finds the second's value, not its own old one.
  auto first_again = first->GetOrCompute(key, seconds(60), by_first.Fn());
  EXPECT_EQ(first_again->source, Source::kL2);
  EXPECT_EQ(first_again->value, R"({"by":"second","n":1})");

  // Another user's values are untouched; a global invalidation reaches them too.
  const CacheKey other{"insights", "user:7", "summary"};
  ASSERT_TRUE(first->GetOrCompute(other, seconds(60), by_first.Fn()));
  EXPECT_EQ(second->GetOrCompute(other, seconds(60), by_second.Fn())->source, Source::kL2);
  second->InvalidateAll();
  EXPECT_EQ(first->GetOrCompute(other, seconds(60), by_first.Fn())->source, Source::kComputed);
  EXPECT_EQ(second->GetOrCompute(key, seconds(60), by_second.Fn())->source, Source::kComputed);
}

TEST(TieredCacheRedisTest, EveryKeyWrittenHasATtl) {
  const std::string url = testing::TestRedisUrl();
  if (url.empty()) return;
  const std::string prefix = testing::UniquePrefix("ttl");
  auto cache = Make(RedisOptions(url, prefix));
  Counter counter;
  for (const char* user : {"a", "b", "c"}) {
    ASSERT_TRUE(cache->GetOrCompute(CacheKey{"user", user, "profile"}, seconds(30), counter.Fn()));
    ASSERT_TRUE(cache->GetOrCompute(CacheKey{"insights", user, "summary"}, seconds(600), counter.Fn()));
  }
  ASSERT_TRUE(cache->GetOrCompute("model:segments", seconds(60), counter.Fn()));
  cache->Invalidate("a");
  cache->Invalidate("never-read");
  cache->InvalidateAll();
  ASSERT_TRUE(cache->GetOrCompute(CacheKey{"user", "a", "profile"}, seconds(30), counter.Fn()));

  testing::RawRedis redis(url);
  const auto keys = redis.Keys(prefix + ":*");  // KEYS in a test only: the cache itself never scans
  // 7 values (the recomputed one replaces its key), the global version and 4 user versions.
  EXPECT_EQ(keys.size(), 7u + 1u + 4u);
  for (const auto& key : keys) {
    const long ttl = std::stol(redis.Run({"TTL", key}));
    EXPECT_GT(ttl, 0) << key;
    if (key.find(":val:") != std::string::npos) {
      EXPECT_LE(ttl, 600) << key;
    } else {
      EXPECT_GT(ttl, 7 * 24 * 3600) << "a version must outlive every value: " << key;
    }
  }
  // Values are the JSON text as it is, after a one-line header of versions and expiry.
  const std::string stored = redis.Run({"GET", prefix + ":val:user:a:profile"});
  EXPECT_TRUE(stored.starts_with("c1:")) << stored;
  EXPECT_TRUE(stored.ends_with("\n{\"by\":\"\",\"n\":8}")) << stored;
}

TEST(TieredCacheRedisTest, GarbageInRedisIsAMissAnErrorAndIsRecomputed) {
  const std::string url = testing::TestRedisUrl();
  if (url.empty()) return;
  const std::string prefix = testing::UniquePrefix("garbage");
  const CacheOptions options = RedisOptions(url, prefix);
  testing::RawRedis redis(url);
  Counter counter;
  const CacheKey key{"insights", "u1", "summary"};
  ASSERT_TRUE(Make(options)->GetOrCompute(key, seconds(60), counter.Fn()));

  // A value that does not decode.
  ASSERT_EQ(redis.Run({"SET", prefix + ":val:insights:u1:summary", "\x01junk, not ours"}), "OK");
  auto reader = Make(options);
  auto r = reader->GetOrCompute(key, seconds(60), counter.Fn());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->source, Source::kComputed);
  auto stats = reader->Stats();
  EXPECT_EQ(stats.l2.decode_errors, 1u);
  EXPECT_EQ(stats.l2.misses, 1u);
  EXPECT_GE(stats.l2.redis.errors, 1u);
  EXPECT_EQ(stats.l2.redis.breaker.state, BreakerState::kClosed);
  // The recomputed value replaced the junk.
  EXPECT_EQ(Make(options)->GetOrCompute(key, seconds(60), counter.Fn())->source, Source::kL2);

  // A value of the wrong Redis type.
  redis.Run({"DEL", prefix + ":val:insights:u1:summary"});
  redis.Run({"RPUSH", prefix + ":val:insights:u1:summary", "a", "b"});
  auto wrong_type = Make(options);
  EXPECT_EQ(wrong_type->GetOrCompute(key, seconds(60), counter.Fn())->source, Source::kComputed);

  // A version that is not a number: recomputed, and the version is re-created as a number.
  ASSERT_EQ(redis.Run({"SET", prefix + ":ver:user:u1", "twelve"}), "OK");
  auto versions = Make(options);
  EXPECT_EQ(versions->GetOrCompute(key, seconds(60), counter.Fn())->source, Source::kComputed);
  EXPECT_GE(versions->Stats().l2.redis.errors, 1u);
  const std::string version = redis.Run({"GET", prefix + ":ver:user:u1"});
  EXPECT_TRUE(!version.empty() && std::all_of(version.begin(), version.end(), ::isdigit)) << version;
  EXPECT_EQ(Make(options)->GetOrCompute(key, seconds(60), counter.Fn())->source, Source::kL2);
}

}  // namespace
}  // namespace cohort::cache
