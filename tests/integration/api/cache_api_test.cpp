// Caching as the HTTP API shows it: X-Cache on cached routes, invalidation by writes and by new events,
// caching off, and (with a real Redis) a second server process that shares the Redis tier.

#include <unistd.h>

#include <atomic>

#include <fmt/format.h>

#include "integration/cache/redis_test_client.hpp"
#include "integration/server_harness.hpp"

namespace cohort::testing {
namespace {

const char* kUser = R"({"id":"u1","name":"Olena","email":"o@x.io","address":{"street":"1 A St",
    "postal_code":"01001","city":"Kyiv","country":"UA","country_name":"Ukraine"}})";

std::string UniquePrefix() {
  static std::atomic<int> n{0};
  return fmt::format("cachetest{}x{}", ::getpid(), n.fetch_add(1));
}

TEST(CacheApiTest, UserReadsAreCachedAndWritesInvalidate) {
  ServerProcess server;
  ASSERT_EQ(server.Post("/api/users", kUser).status, 201);
  auto first = server.Get("/api/users/u1");
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.headers["x-cache"], "miss");
  auto second = server.Get("/api/users/u1");
  EXPECT_EQ(second.headers["x-cache"], "l1");
  EXPECT_EQ(second.body, first.body);

  ASSERT_EQ(server.Patch("/api/users/u1", R"({"name":"Olena K."})").status, 200);
  auto after_patch = server.Get("/api/users/u1");
  EXPECT_EQ(after_patch.headers["x-cache"], "miss");
  EXPECT_EQ(after_patch.Json()["name"], "Olena K.");
  EXPECT_EQ(server.Get("/api/users/u1").headers["x-cache"], "l1");

  // A new event for the user invalidates the user's entries too.
  ASSERT_EQ(server.Post("/api/events", R"({"user_id":"u1","type":"view"})").status, 200);
  EXPECT_EQ(server.Get("/api/users/u1").headers["x-cache"], "miss");

  ASSERT_EQ(server.Delete("/api/users/u1").status, 204);
  EXPECT_EQ(server.Get("/api/users/u1").status, 404);  // errors are not cached
  EXPECT_EQ(server.Get("/api/users/u1").status, 404);

  auto stats = server.Get("/api/admin/cache").Json();
  EXPECT_GE(stats["l1"]["hits"].get<int>(), 2);
  EXPECT_GE(stats["invalidations"].get<int>(), 3);
  EXPECT_FALSE(stats["l2"]["enabled"].get<bool>());
}

TEST(CacheApiTest, AnalyticsAreCachedForAShortTime) {
  ServerProcess server;
  ASSERT_EQ(server.Post("/api/users", kUser).status, 201);
  EXPECT_EQ(server.Get("/api/analytics/users-by-country").headers["x-cache"], "miss");
  EXPECT_EQ(server.Get("/api/analytics/users-by-country").headers["x-cache"], "l1");
  EXPECT_EQ(server.Get("/api/analytics/revenue-by-category").headers["x-cache"], "miss");
  EXPECT_EQ(server.Get("/api/analytics/revenue-by-category").headers["x-cache"], "l1");
  // Another query is another entry.
  EXPECT_EQ(server.Get("/api/analytics/revenue-by-category?since=2026-01-01T00:00:00Z").headers["x-cache"], "miss");
}

TEST(CacheApiTest, CachingOffComputesEveryTime) {
  ServerProcess server({.args = {}, .env = {{"COHORT_CACHE_ENABLED", "false"}}, .data_dir = {}});
  ASSERT_EQ(server.Post("/api/users", kUser).status, 201);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(server.Get("/api/users/u1").headers["x-cache"], "miss");
}

// Two server processes on one data folder and one Redis: what one caches the other finds in L2, and what one
// invalidates the other recomputes.
TEST(CacheApiTest, SecondProcessSharesTheRedisTier) {
  const std::string redis = TestRedisUrl();
  if (redis.empty()) return;
  const NameValues env = {{"COHORT_REDIS_URL", redis}, {"COHORT_CACHE_KEY_PREFIX", UniquePrefix()}};
  ServerProcess a({.args = {}, .env = env, .data_dir = {}});
  ServerProcess b({.args = {}, .env = env, .data_dir = a.data_dir()});
  ASSERT_EQ(a.Post("/api/users", kUser).status, 201);
  EXPECT_EQ(a.Get("/api/users/u1").headers["x-cache"], "miss");
  auto from_b = b.Get("/api/users/u1");
  EXPECT_EQ(from_b.headers["x-cache"], "l2");
  EXPECT_EQ(from_b.Json()["name"], "Olena");
  EXPECT_EQ(b.Get("/api/users/u1").headers["x-cache"], "l1");

  ASSERT_EQ(a.Patch("/api/users/u1", R"({"name":"Renamed"})").status, 200);
  auto after = b.Get("/api/users/u1");
  EXPECT_EQ(after.headers["x-cache"], "miss");
  EXPECT_EQ(after.Json()["name"], "Renamed");
  EXPECT_GE(b.Get("/api/admin/cache").Json()["l2"]["hits"].get<int>(), 1);
}

}  // namespace
}  // namespace cohort::testing
