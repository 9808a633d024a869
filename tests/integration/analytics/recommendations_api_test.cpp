// GET /api/users/{id}/personalized-recommendations end to end against the real binary, on SQLite and
// PostgreSQL: the answer's shape, miss then l1, a purchase that removes the product from the next answer,
// a recommendation.served message (counted by the impressions consumer) for every answer, explain, errors.

#include <chrono>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "common/time.hpp"
#include "integration/backend_fixture.hpp"
#include "integration/queue/messaging_process.hpp"

namespace cohort::testing {
namespace {

class RecommendationsApiTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (HasFatalFailure()) return;
    data_ = dir_.path() + "/data";
    auto demo = RunCohort({"demo", "--data-dir", data_, "--users", "150", "--products", "40", "--seed", "9"},
                          ServerEnv());
    ASSERT_EQ(demo.exit_code, 0) << demo.output;
    auto trained = RunCohort({"train", "--data-dir", data_}, ServerEnv());
    ASSERT_EQ(trained.exit_code, 0) << trained.output;
    server_ = std::make_unique<ServerProcess>(
        ServerProcess::Options{.args = {}, .env = FastMessaging(ServerEnv()), .data_dir = data_});
    WaitUntilQuiet();
  }

  // The demo's event.ingested messages invalidate users as the consumers take them: wait until they are done,
  // so that only this test's requests and events decide what is cached.
  void WaitUntilQuiet() {
    for (int i = 0; i < 600; ++i) {
      const json q = server_->Get("/api/admin/queues").Json();
      bool quiet = q["outbox"]["pending"] == 0;
      for (const auto& entry : q["queues"]) quiet = quiet && entry["ready"] == 0 && entry["in_flight"] == 0;
      if (quiet) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "the demo's messages were not processed in 30 s";
  }

  // The impressions recorded for a segment so far (the consumer runs in serve with the embedded queue).
  std::int64_t SegmentImpressions(const std::string& segment) {
    const std::string sql =
        fmt::format("SELECT COALESCE(SUM(impressions), 0) FROM impression_counters WHERE scope = 'segment' AND key = '{}'",
                    segment);
    return QueryInt(data_, sql);
  }

  std::string data_;
  std::unique_ptr<ServerProcess> server_;
};

const char* kPath = "/api/users/u000001/personalized-recommendations";

TEST_P(RecommendationsApiTest, AnswerShapeCachingAndFreshness) {
  auto first = server_->Get(kPath);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.headers["x-cache"], "miss");
  const json a = first.Json();
  for (const char* key : {"user", "segment", "offer", "churn_risk", "p_alive", "ltv", "recommendations",
                          "model_version", "generated_at"})
    EXPECT_TRUE(a.contains(key)) << key << " in " << a;
  EXPECT_EQ(a["user"]["id"], "u000001");
  EXPECT_FALSE(a["user"]["city"].get<std::string>().empty());
  EXPECT_FALSE(a["model_version"].is_null());
  EXPECT_FALSE(a["degraded"].get<bool>());
  ASSERT_FALSE(a["recommendations"].empty()) << a;
  for (const auto& r : a["recommendations"])
    for (const char* key : {"product_id", "name", "category", "price", "score", "reason"})
      EXPECT_TRUE(r.contains(key)) << key << " in " << r;

  auto second = server_->Get(kPath);
  EXPECT_EQ(second.headers["x-cache"], "l1");
  EXPECT_EQ(second.body, first.body);

  // Buying the first recommendation removes it from the next answer.
  const std::string bought = a["recommendations"][0]["product_id"];
  const json purchase = {{"event_id", "bought-now"}, {"user_id", "u000001"}, {"type", "purchase"},
                         {"product_id", bought},     {"price", 10},          {"ts", NowRfc3339()}};
  auto ingested = server_->Post("/api/events", purchase.dump());
  ASSERT_EQ(ingested.status, 200) << ingested.body;
  auto third = server_->Get(kPath);
  ASSERT_EQ(third.status, 200);
  EXPECT_EQ(third.headers["x-cache"], "miss");
  const json after = third.Json();
  for (const auto& r : after["recommendations"]) EXPECT_NE(r["product_id"], bought);

  // Filters are part of the answer's identity.
  auto limited = server_->Get(std::string(kPath) + "?limit=2&exclude=" + bought);
  ASSERT_EQ(limited.status, 200) << limited.body;
  EXPECT_EQ(limited.headers["x-cache"], "miss");
  EXPECT_LE(limited.Json()["recommendations"].size(), 2U);
}

// Reads the impressions from the SQLite file, so it runs on the embedded default only.
class RecommendationsServedTest : public RecommendationsApiTest {};

TEST_P(RecommendationsServedTest, EveryAnswerPublishesRecommendationServed) {
  // The segment's counter grows by the products each answer showed.
  const json first = server_->Get(kPath).Json();
  const std::string segment = first["segment"];
  const auto shown = static_cast<std::int64_t>(first["recommendations"].size());
  ASSERT_GT(shown, 0);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(server_->Get(kPath).headers["x-cache"], "l1");
  std::int64_t seen = 0;
  for (int i = 0; i < 200 && seen < 5 * shown; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    seen = SegmentImpressions(segment);
  }
  EXPECT_EQ(seen, 5 * shown) << "one recommendation.served per answer, cached or not";
}

TEST_P(RecommendationsApiTest, ExplainAndErrors) {
  auto explained = server_->Get(std::string(kPath) + "?explain=true");
  ASSERT_EQ(explained.status, 200) << explained.body;
  std::set<std::string> steps;
  const json body = explained.Json();
  for (const auto& s : body["explain"]["steps"]) {
    steps.insert(s["step"].get<std::string>());
    EXPECT_TRUE(s["micros"].is_number_integer());
    EXPECT_TRUE(s["source"].is_string());
  }
  EXPECT_EQ(steps, (std::set<std::string>{"cache", "user", "events", "analytics", "publish"}));
  EXPECT_EQ(server_->Get("/api/users/nobody/personalized-recommendations").status, 404);
  EXPECT_EQ(server_->Get(std::string(kPath) + "?limit=0").status, 400);
  EXPECT_EQ(server_->Get(std::string(kPath) + "?limit=abc").status, 400);
  EXPECT_EQ(server_->Get(std::string(kPath) + "?explain=maybe").status, 400);
  EXPECT_EQ(server_->Get(std::string(kPath) + "?colour=red").status, 400);
  EXPECT_EQ(server_->Get(std::string(kPath) + "?exclude=bad%20id").status, 400);
  auto filtered = server_->Get(std::string(kPath) + "?category=books&category=music&limit=5");
  ASSERT_EQ(filtered.status, 200) << filtered.body;
  const json only = filtered.Json();
  for (const auto& r : only["recommendations"])
    EXPECT_TRUE(r["category"] == "books" || r["category"] == "music") << r;
}

COHORT_INSTANTIATE_FOR_BACKENDS(RecommendationsApiTest);
INSTANTIATE_TEST_SUITE_P(Embedded, RecommendationsServedTest, ::testing::Values("sqlite"), BackendName);

}  // namespace
}  // namespace cohort::testing
