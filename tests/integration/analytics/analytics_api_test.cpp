// The analytics engine over HTTP against the real binary, on SQLite and PostgreSQL: a user's insights before
// any model (defaults, simple lifetime value), then after `cohort train` (picked up by the running server
// without a restart), the segment totals, the models list, and the errors.

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "common/time.hpp"
#include "integration/backend_fixture.hpp"

namespace cohort::testing {
namespace {

using nlohmann::json;

class AnalyticsApiTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (HasFatalFailure()) return;
    NameValues env = ServerEnv();
    env.emplace_back("COHORT_MODEL_POLL_S", "1");
    server_ = std::make_unique<ServerProcess>(
        ServerProcess::Options{.args = {}, .env = env, .data_dir = dir_.path() + "/data"});
    for (int u = 1; u <= 12; ++u) {
      auto created = server_->Post("/api/users", fmt::format(R"({{"id":"u{0}","name":"User {0}","email":"u{0}@x.io",
          "address":{{"street":"{0} Main St","postal_code":"01001","city":"Kyiv","country":"UA","country_name":"Ukraine"}}}})",
                                                             u));
      ASSERT_EQ(created.status, 201) << created.body;
    }
    // Users 1-10 buy now and then over the last year; the more they buy the more recent; u11 and u12 never do.
    json events = json::array();
    const auto today = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
    int n = 0;
    for (int u = 1; u <= 10; ++u) {
      for (int i = 0; i < u; ++i) {
        const auto day = today - std::chrono::days(360 - 30 * i - 5 * u);
        const std::string ts = FormatRfc3339(day + std::chrono::hours(10));
        events.push_back({{"event_id", fmt::format("e{}", ++n)}, {"user_id", fmt::format("u{}", u)},
                          {"type", "purchase"}, {"product_id", fmt::format("p{}", (u + i) % 6)},
                          {"category", i % 2 ? "books" : "music"}, {"price", 10.0 + u}, {"ts", ts}});
      }
    }
    auto ingested = server_->Post("/api/events", events.dump());
    ASSERT_EQ(ingested.status, 200) << ingested.body;
  }

  std::unique_ptr<ServerProcess> server_;
};

TEST_P(AnalyticsApiTest, InsightsBeforeAndAfterTraining) {
  auto before = server_->Get("/api/users/u10/insights");
  ASSERT_EQ(before.status, 200) << before.body;
  json b = before.Json();
  EXPECT_TRUE(b["model_version"].is_null());
  EXPECT_EQ(b["user_id"], "u10");
  EXPECT_EQ(b["ltv"]["method"], "simple");
  EXPECT_TRUE(b["p_alive"].is_null());
  EXPECT_EQ(b["features"]["purchases"], 10);
  EXPECT_GE(b["churn_risk"].get<double>(), 0.0);
  EXPECT_LE(b["churn_risk"].get<double>(), 1.0);
  EXPECT_FALSE(b["offer"].get<std::string>().empty());
  EXPECT_EQ(server_->Get("/api/analytics/segments").status, 409) << "no model yet";

  auto trained = RunCohort({"train", "--data-dir", server_->data_dir()}, ServerEnv());
  ASSERT_EQ(trained.exit_code, 0) << trained.output;

  json after;
  for (int i = 0; i < 100; ++i) {  // the server looks for a newer model every second
    after = server_->Get("/api/users/u10/insights").Json();
    if (!after["model_version"].is_null()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(after["model_version"].is_null()) << "the new model was not picked up: " << after;
  EXPECT_TRUE(after["p_alive"].is_number()) << after;
  EXPECT_EQ(after["ltv"]["method"], "bgnbd_gamma_gamma") << after;
  EXPECT_GT(after["ltv"]["value"].get<double>(), 0.0);

  auto segments = server_->Get("/api/analytics/segments");
  ASSERT_EQ(segments.status, 200) << segments.body;
  const json s = segments.Json();
  EXPECT_EQ(s["model_version"], after["model_version"]);
  std::int64_t users = 0;
  double revenue = 0;
  for (const auto& row : s["segments"]) {
    users += row["users"].get<std::int64_t>();
    revenue += row["revenue"].get<double>();
  }
  EXPECT_EQ(users, 12);
  double expected_revenue = 0;
  for (int u = 1; u <= 10; ++u) expected_revenue += u * (10.0 + u);
  EXPECT_NEAR(revenue, expected_revenue, 1e-6);

  auto models = server_->Get("/api/admin/models");
  ASSERT_EQ(models.status, 200) << models.body;
  const json m = models.Json();
  EXPECT_EQ(m["current"]["version"], after["model_version"]);
  ASSERT_EQ(m["versions"].size(), 1U);
  for (const char* key : {"r", "alpha", "a", "b", "log_likelihood"}) EXPECT_TRUE(m["current"]["bgnbd"].contains(key));
  for (const char* key : {"p", "q", "v", "log_likelihood"}) EXPECT_TRUE(m["current"]["gamma_gamma"].contains(key));
  for (const char* key : {"w0", "w1", "w2", "w3", "auc"}) EXPECT_TRUE(m["current"]["churn"].contains(key));
}

TEST_P(AnalyticsApiTest, Errors) {
  EXPECT_EQ(server_->Get("/api/users/nobody/insights").status, 404);
  auto bad = server_->Get("/api/users/bad%20id/insights");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.Json()["error"]["code"], "invalid_argument");
  EXPECT_EQ(server_->Get("/api/users/u1/insights?x=1").status, 400);
  EXPECT_EQ(server_->Post("/api/users/u1/insights", "{}").status, 405);
  auto never = server_->Get("/api/users/u11/insights");
  ASSERT_EQ(never.status, 200) << never.body;
  EXPECT_EQ(never.Json()["features"]["events"], 0);
  EXPECT_EQ(never.Json()["segment"], "ACTIVE") << "registered today, never active: still in the grace period";
}

COHORT_INSTANTIATE_FOR_BACKENDS(AnalyticsApiTest);

}  // namespace
}  // namespace cohort::testing
