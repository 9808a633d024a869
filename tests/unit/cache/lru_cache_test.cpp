// L1: LRU order, TTL on an injected clock, the byte bound, allocation-free hits, counters, concurrent use.

#include "cache/lru_cache.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "fake_clock.hpp"

namespace cohort::cache {
namespace {

using std::chrono::seconds;

// Room for exactly `n` entries of a one-byte key and a one-byte value, in one shard.
std::size_t RoomFor(std::size_t n) { return n * LruCache::Charge("k", "v"); }

TEST(LruCacheTest, EvictsLeastRecentlyUsed) {
  LruCache cache(RoomFor(3), 1);
  cache.Put("a", "1", seconds(60));
  cache.Put("b", "2", seconds(60));
  cache.Put("c", "3", seconds(60));
  std::string out;
  ASSERT_TRUE(cache.Get("a", out));  // a is now the most recent; b the least
  cache.Put("d", "4", seconds(60));
  EXPECT_FALSE(cache.Get("b", out));
  EXPECT_TRUE(cache.Get("a", out));
  EXPECT_TRUE(cache.Get("c", out));
  EXPECT_TRUE(cache.Get("d", out));
  EXPECT_EQ(out, "4");
  EXPECT_EQ(cache.Stats().evictions, 1u);
}

TEST(LruCacheTest, ReplacingAValueRefreshesItsPlace) {
  LruCache cache(RoomFor(2), 1);
  cache.Put("a", "1", seconds(60));
  cache.Put("b", "2", seconds(60));
  cache.Put("a", "3", seconds(60));
  cache.Put("c", "4", seconds(60));
  std::string out;
  EXPECT_FALSE(cache.Get("b", out));
  ASSERT_TRUE(cache.Get("a", out));
  EXPECT_EQ(out, "3");
  EXPECT_EQ(cache.Stats().entries, 2u);
}

TEST(LruCacheTest, EntriesExpireOnTheInjectedClock) {
  testing::FakeClock clock;
  LruCache cache(1 << 20, 4, clock.Fn());
  cache.Put("short", "x", seconds(10));
  cache.Put("long", "y", seconds(100));
  std::string out;
  clock.Advance(seconds(9));
  EXPECT_TRUE(cache.Get("short", out));
  clock.Advance(seconds(1));
  EXPECT_FALSE(cache.Get("short", out));
  EXPECT_TRUE(cache.Get("long", out));
  const auto stats = cache.Stats();
  EXPECT_EQ(stats.expirations, 1u);
  EXPECT_EQ(stats.entries, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.hits, 2u);
}

TEST(LruCacheTest, ZeroTtlStoresNothingAndDropsTheOldValue) {
  LruCache cache(1 << 20, 1);
  cache.Put("a", "1", seconds(60));
  cache.Put("a", "2", seconds(0));
  std::string out;
  EXPECT_FALSE(cache.Get("a", out));
}

TEST(LruCacheTest, TheBoundIsInBytesNotEntries) {
  const std::string big(1000, 'x');
  // Four small entries and room to spare, but not for a big value on top of them.
  LruCache cache(LruCache::Charge("big", big) + RoomFor(2), 1);
  for (const char* key : {"a", "b", "c", "d"}) cache.Put(key, "v", seconds(60));
  EXPECT_EQ(cache.Stats().entries, 4u);
  cache.Put("big", big, seconds(60));
  const auto stats = cache.Stats();
  EXPECT_EQ(stats.evictions, 2u);  // the two least recent small ones made room
  EXPECT_EQ(stats.entries, 3u);
  EXPECT_LE(stats.bytes, stats.max_bytes);
  EXPECT_EQ(stats.bytes, LruCache::Charge("big", big) + RoomFor(2));
  std::string out;
  EXPECT_FALSE(cache.Get("a", out));
  EXPECT_FALSE(cache.Get("b", out));
  EXPECT_TRUE(cache.Get("big", out));
  EXPECT_EQ(out, big);
}

TEST(LruCacheTest, AnEntryLargerThanAShardIsNotStored) {
  LruCache cache(RoomFor(8), 4);  // two small entries per shard
  cache.Put("big", std::string(500, 'x'), seconds(60));
  std::string out;
  EXPECT_FALSE(cache.Get("big", out));
  EXPECT_EQ(cache.Stats().entries, 0u);
}

TEST(LruCacheTest, AHitReusesTheCallersBuffer) {
  LruCache cache(1 << 20, 16);
  cache.Put("key", std::string(200, 'v'), seconds(60));
  std::string out;
  out.reserve(4096);
  const char* buffer = out.data();
  ASSERT_TRUE(cache.Get("key", out));
  EXPECT_EQ(out.data(), buffer);
  EXPECT_EQ(out.size(), 200u);
}

TEST(LruCacheTest, EraseAndClear) {
  LruCache cache(1 << 20, 4);
  cache.Put("a", "1", seconds(60));
  cache.Put("b", "2", seconds(60));
  EXPECT_TRUE(cache.Erase("a"));
  EXPECT_FALSE(cache.Erase("a"));
  cache.Clear();
  const auto stats = cache.Stats();
  EXPECT_EQ(stats.entries, 0u);
  EXPECT_EQ(stats.bytes, 0u);
}

TEST(LruCacheTest, ConcurrentReadersAndWritersKeepTheCountsConsistent) {
  LruCache cache(64 * LruCache::Charge("key-000", "value-000"), 8);
  constexpr int kThreads = 8;
  constexpr int kOps = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&cache, t] {
      std::string out;
      for (int i = 0; i < kOps; ++i) {
        const std::string key = "key-" + std::to_string((i * 7 + t) % 200);
        if (i % 3 == 0) {
          cache.Put(key, "value-" + std::to_string(i % 1000), seconds(60));
        } else {
          cache.Get(key, out);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const auto stats = cache.Stats();
  EXPECT_EQ(stats.hits + stats.misses, static_cast<std::uint64_t>(kThreads) * (kOps - (kOps + 2) / 3));
  EXPECT_LE(stats.bytes, stats.max_bytes);
  EXPECT_GT(stats.evictions, 0u);
}

}  // namespace
}  // namespace cohort::cache
