// GET /api/users/{id}/personalized-recommendations end to end against the real binary, on the embedded
// default (SQLite), on PostgreSQL, and on the full stack of real servers ("fullstack": PostgreSQL, the
// MongoDB wire peer for events, Redis as L2 and RabbitMQ as the queue, each with a schema, database, key
// prefix or vhost of the test's own): the answer's shape, miss then l1 (then l2 in a second process when
// Redis is there), a purchase that removes the product from the next answer, a recommendation.served message
// (counted by the impressions consumer) for every answer, explain, errors.

#include <fmt/format.h>

#include <map>
#include <memory>
#include <set>
#include <utility>

#include "common/time.hpp"
#include "integration/backend_fixture.hpp"
#include "integration/cache/redis_test_client.hpp"
#include "integration/main_request/demo_shop.hpp"
#include "integration/store/mongo_test_database.hpp"

namespace cohort::testing {
namespace {

class RecommendationsApiTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (HasFatalFailure()) return;
    if (full_stack()) {
      ASSERT_NO_FATAL_FAILURE(ProvideFullStack());
    }
    data_ = dir_.path() + "/data";
    ASSERT_NO_FATAL_FAILURE(LoadDemoShop(data_, Env()));
    server_ =
        std::make_unique<ServerProcess>(ServerProcess::Options{.args = {}, .env = Env(), .data_dir = data_});
    ASSERT_TRUE(WaitUntilQuiet(*server_)) << "the demo's messages were not processed in 60 s";
  }

  bool full_stack() const { return GetParam() == "fullstack"; }

  // The shared test services, each with a place of this test's own. serve runs the consumers itself (with
  // RabbitMQ they run in `cohort worker` unless told otherwise), so that one process shows the whole path.
  void ProvideFullStack() {
    const std::string postgres = TestPostgresUrl();
    const std::string redis = TestRedisUrl();
    ASSERT_FALSE(postgres.empty() || redis.empty());
    ASSERT_FALSE(TestAmqpUrl().empty()) << "COHORT_TEST_AMQP_URL is not set (scripts/test-services.sh env)";
    schema_ = std::make_unique<PostgresSchema>(postgres);
    mongo_ = std::make_unique<MongoTestDatabase>();
    ASSERT_FALSE(mongo_->url().empty());
    broker_lock_ = std::make_unique<BrokerLock>(false);  // a test that stops the broker waits for this one
    vhost_ = std::make_unique<BrokerVhost>();
    ASSERT_TRUE(vhost_->ok()) << "cannot create a vhost with COHORT_TEST_RABBITMQ_CTL";
    full_stack_env_ = {{"COHORT_MONGO_URL", mongo_->url()},
                       {"COHORT_REDIS_URL", redis},
                       {"COHORT_CACHE_KEY_PREFIX", UniquePrefix("recs")},
                       {"COHORT_AMQP_URL", vhost_->url()},
                       {"COHORT_QUEUE_SERVE_CONSUMERS", "on"}};
  }

  // Environment for a `cohort` process of this test.
  NameValues Env() const {
    NameValues env = ServerEnv();
    env.insert(env.end(), full_stack_env_.begin(), full_stack_env_.end());
    return FastMessaging(std::move(env));
  }

  // The impressions recorded for a segment so far.
  std::int64_t SegmentImpressions(const std::string& segment) {
    return QueryRelational(
        postgres_url(), data_,
        fmt::format(
            "SELECT COALESCE(SUM(impressions), 0) FROM impression_counters WHERE scope = 'segment' AND "
            "key = '{}'",
            segment));
  }

  // Declared before the server, so that they outlive it: the vhost is deleted under the broker lock.
  std::unique_ptr<BrokerLock> broker_lock_;
  std::unique_ptr<BrokerVhost> vhost_;
  std::unique_ptr<MongoTestDatabase> mongo_;
  NameValues full_stack_env_;
  std::string data_;
  std::unique_ptr<ServerProcess> server_;
};

const char* kPath = "/api/users/u000001/personalized-recommendations";

TEST_P(RecommendationsApiTest, AnswerShapeCachingAndFreshness) {
  auto first = server_->Get(kPath);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.headers["x-cache"], "miss");
  const json a = first.Json();
  ASSERT_NO_FATAL_FAILURE(ExpectRecommendationAnswer(a, "u000001"));
  EXPECT_FALSE(a["degraded"].get<bool>());
  // Each recommendation carries its own product's details from the catalogue.
  for (const auto& r : a["recommendations"]) {
    auto product = server_->Get("/api/products/" + r["product_id"].get<std::string>());
    ASSERT_EQ(product.status, 200) << product.body;
    const json p = product.Json();
    EXPECT_EQ(r["name"], p["name"]) << r;
    EXPECT_EQ(r["category"], p["category"]) << r;
    EXPECT_EQ(r["price"], p["price"]) << r;
  }

  auto second = server_->Get(kPath);
  EXPECT_EQ(second.headers["x-cache"], "l1");
  EXPECT_EQ(second.body, first.body);

  if (full_stack()) {
    // A second process starts with an empty L1: it finds the answer in Redis.
    ServerProcess peer({.args = {}, .env = Env(), .data_dir = data_});
    auto from_l2 = peer.Get(kPath);
    EXPECT_EQ(from_l2.headers["x-cache"], "l2");
    EXPECT_EQ(from_l2.body, first.body);
  }

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

TEST_P(RecommendationsApiTest, EveryAnswerPublishesRecommendationServed) {
  // The segment's counter grows by the products each answer showed.
  const json first = server_->Get(kPath).Json();
  const std::string segment = first["segment"];
  const auto shown = static_cast<std::int64_t>(first["recommendations"].size());
  ASSERT_GT(shown, 0);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(server_->Get(kPath).headers["x-cache"], "l1");
  EXPECT_TRUE(Eventually([&] { return ServedMessagesConsumed(postgres_url(), data_) >= 5; }));
  EXPECT_EQ(ServedMessagesConsumed(postgres_url(), data_), 5) << "one recommendation.served per answer";
  EXPECT_EQ(SegmentImpressions(segment), 5 * shown) << "each answer's products counted once";
  const std::string metrics = server_->Get("/metrics").body;
  EXPECT_NE(metrics.find("cohort_served_messages_total{outcome=\"published\"} 5\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("cohort_served_messages_total{outcome=\"dropped\"} 0\n"), std::string::npos) << metrics;
}

TEST_P(RecommendationsApiTest, ExplainAndErrors) {
  auto explained = server_->Get(std::string(kPath) + "?explain=true");
  ASSERT_EQ(explained.status, 200) << explained.body;
  std::map<std::string, std::string> sources;
  const json body = explained.Json();
  for (const auto& s : body["explain"]["steps"]) {
    EXPECT_TRUE(s["micros"].is_number_integer());
    sources[s["step"].get<std::string>()] = s["source"].get<std::string>();
  }
  std::set<std::string> steps;
  for (const auto& [step, source] : sources) steps.insert(step);
  EXPECT_EQ(steps, (std::set<std::string>{"cache", "user", "events", "analytics", "publish"}));
  // The answer came from the stores this variant names.
  EXPECT_EQ(sources["user"], postgres() ? "postgres" : "sqlite");
  EXPECT_EQ(sources["events"], full_stack() ? "mongo" : postgres() ? "postgres" : "sqlite");
  EXPECT_EQ(server_->Get("/api/admin/queues").Json()["backend"], full_stack() ? "rabbitmq" : "sqlite");
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
INSTANTIATE_TEST_SUITE_P(FullStack, RecommendationsApiTest, ::testing::Values("fullstack"), BackendName);

}  // namespace
}  // namespace cohort::testing
