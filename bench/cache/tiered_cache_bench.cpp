// Cost of the cache tiers, each next to a reference measured in the same run:
//   L1: LruCache::Get hit and miss, and a TieredCache lookup served by L1 (key building, version check,
//   copy),
//       with 1 and 2 threads.
//   L2: RedisCache::Get (pool + breaker + GET) and a TieredCache lookup served by L2 (one MGET of the
//   versions and
//       the value, header check), next to a raw hiredis GET of the same value on the same Redis.
// Redis comes from COHORT_BENCH_REDIS_URL or COHORT_TEST_REDIS_URL; without one the L2 benchmarks report an
// error. After the run, the L2 figures are printed as ratios to the raw GET.

#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cache/lru_cache.hpp"
#include "cache/redis_cache.hpp"
#include "cache/tiered_cache.hpp"
#include "bench/common/ratio_reporter.hpp"

namespace cohort::cache {
namespace {

using std::chrono::seconds;

// A typical insights document: about 1 KiB of JSON.
const std::string& Value() {
  static const std::string value = [] {
    std::string json = R"({"user_id":"user-000042","segments":[)";
    for (int i = 0; i < 24; ++i)
      json +=
          (i ? "," : "") + std::string(R"({"name":"segment-)") + std::to_string(i) + R"(","score":0.4242})";
    return json + R"(],"model":"2026-11-25"})";
  }();
  return value;
}

constexpr int kKeys = 10000;

std::vector<std::string> MakeKeys(const char* prefix) {
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) keys.push_back(prefix + std::to_string(i));
  return keys;
}

LruCache& SharedLru() {
  static LruCache* cache = [] {
    auto* lru = new LruCache(256 << 20, 16);
    for (const auto& key : MakeKeys("insights:user-")) lru->Put(key, Value(), std::chrono::hours(1));
    return lru;
  }();
  return *cache;
}

void BM_L1Hit(benchmark::State& state) {
  LruCache& cache = SharedLru();
  const auto keys = MakeKeys("insights:user-");
  std::string out;
  out.reserve(Value().size());
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    const bool hit = cache.Get(keys[i++ % keys.size()], out);
    benchmark::DoNotOptimize(hit);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * Value().size()));
}
BENCHMARK(BM_L1Hit)->Threads(1)->Threads(2)->UseRealTime();

void BM_L1Miss(benchmark::State& state) {
  LruCache& cache = SharedLru();
  const auto keys = MakeKeys("absent:user-");
  std::string out;
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    const bool hit = cache.Get(keys[i++ % keys.size()], out);
    benchmark::DoNotOptimize(hit);
  }
}
BENCHMARK(BM_L1Miss)->Threads(1)->Threads(2)->UseRealTime();

TieredCache& SharedL1Tiered() {
  static TieredCache* cache = [] {
    CacheOptions options;
    options.l2_enabled = false;
    options.l1_max_bytes = 256 << 20;
    auto* tiered = TieredCache::Create(options).value().release();
    for (int i = 0; i < kKeys; ++i)
      (void)tiered->GetOrCompute(CacheKey{"insights", "user-" + std::to_string(i), "summary"}, seconds(3600),
                                 [] { return Result<std::string>(Value()); });
    return tiered;
  }();
  return *cache;
}

void BM_TieredL1Hit(benchmark::State& state) {
  TieredCache& cache = SharedL1Tiered();
  std::vector<std::string> users;
  for (int i = 0; i < kKeys; ++i) users.push_back("user-" + std::to_string(i));
  const ComputeFn never = [] { return Result<std::string>(Error::Internal("benchmark expected a hit")); };
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    auto r =
        cache.GetOrCompute(CacheKey{"insights", users[i++ % users.size()], "summary"}, seconds(3600), never);
    if (!r || r->source != Source::kL1) state.SkipWithError("not an L1 hit");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_TieredL1Hit)->Threads(1)->Threads(2)->UseRealTime();

// ---- L2
// ----------------------------------------------------------------------------------------------------------

std::string BenchRedisUrl() {
  for (const char* name : {"COHORT_BENCH_REDIS_URL", "COHORT_TEST_REDIS_URL"})
    if (const char* url = std::getenv(name); url != nullptr && *url != '\0') return url;
  return {};
}

constexpr const char* kPrefix = "cohort-bench";
constexpr int kL2Keys = 1000;

void BM_RawHiredisGet(benchmark::State& state) {
  auto endpoint = ParseRedisUrl(BenchRedisUrl());
  if (!endpoint) {
    state.SkipWithError("set COHORT_BENCH_REDIS_URL or COHORT_TEST_REDIS_URL");
    return;
  }
  redisContext* context = redisConnectWithTimeout(endpoint->host.c_str(), endpoint->port, timeval{1, 0});
  if (context == nullptr || context->err) {
    state.SkipWithError("cannot connect to Redis");
    return;
  }
  std::vector<std::string> keys;
  for (int i = 0; i < kL2Keys; ++i) keys.push_back(std::string(kPrefix) + ":raw:" + std::to_string(i));
  for (const auto& key : keys)
    freeReplyObject(
        redisCommand(context, "SET %b %b EX 600", key.data(), key.size(), Value().data(), Value().size()));
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string& key = keys[i++ % keys.size()];
    auto* reply = static_cast<redisReply*>(redisCommand(context, "GET %b", key.data(), key.size()));
    if (reply == nullptr || reply->type != REDIS_REPLY_STRING) state.SkipWithError("raw GET failed");
    // The caller of a cache needs the value as its own string: the raw client pays for that copy too.
    std::string value(reply->str, reply->len);
    benchmark::DoNotOptimize(value);
    freeReplyObject(reply);
  }
  redisFree(context);
}
BENCHMARK(BM_RawHiredisGet)->UseRealTime();

void BM_RedisCacheGet(benchmark::State& state) {
  auto redis = RedisCache::Create(
      RedisCacheOptions{.url = BenchRedisUrl(), .command_timeout = std::chrono::milliseconds(1000)});
  if (!redis) {
    state.SkipWithError("set COHORT_BENCH_REDIS_URL or COHORT_TEST_REDIS_URL");
    return;
  }
  std::vector<std::string> keys;
  for (int i = 0; i < kL2Keys; ++i) keys.push_back(std::string(kPrefix) + ":client:" + std::to_string(i));
  for (const auto& key : keys) (void)(*redis)->Set(key, Value(), seconds(600));
  std::size_t i = 0;
  for (auto _ : state) {
    auto r = (*redis)->Get(keys[i++ % keys.size()]);
    if (!r || !*r) state.SkipWithError("RedisCache::Get missed");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_RedisCacheGet)->UseRealTime();

// L1 off, so every lookup is served by L2: MGET of the global version, the user's version and the value.
void BM_TieredL2Hit(benchmark::State& state) {
  CacheOptions options;
  options.l1_enabled = false;
  options.redis_url = BenchRedisUrl();
  options.key_prefix = std::string(kPrefix) + ":tiered";
  options.redis_command_timeout = std::chrono::milliseconds(1000);
  auto created = TieredCache::Create(options);
  if (!created || options.redis_url.empty()) {
    state.SkipWithError("set COHORT_BENCH_REDIS_URL or COHORT_TEST_REDIS_URL");
    return;
  }
  TieredCache& cache = **created;
  std::vector<std::string> users;
  for (int i = 0; i < kL2Keys; ++i) users.push_back("user-" + std::to_string(i));
  for (const auto& user : users)
    (void)cache.GetOrCompute(CacheKey{"insights", user, "summary"}, seconds(600),
                             [] { return Result<std::string>(Value()); });
  const ComputeFn never = [] { return Result<std::string>(Error::Internal("benchmark expected a hit")); };
  std::size_t i = 0;
  for (auto _ : state) {
    auto r =
        cache.GetOrCompute(CacheKey{"insights", users[i++ % users.size()], "summary"}, seconds(600), never);
    if (!r || r->source != Source::kL2) state.SkipWithError("not an L2 hit");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_TieredL2Hit)->UseRealTime();

}  // namespace
}  // namespace cohort::cache

int main(int argc, char** argv) {
  return cohort::bench::RunBenchmarks(argc, argv, [](const cohort::bench::Timings& timings) {
    std::printf("target: the L2 hit costs <= 1.25x the raw hiredis GET\n");
    cohort::bench::PrintRatios(timings, {{"BM_RedisCacheGet/real_time", "BM_RawHiredisGet/real_time"},
                                         {"BM_TieredL2Hit/real_time", "BM_RawHiredisGet/real_time"}});
  });
}
