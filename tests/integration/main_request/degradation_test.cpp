// The main request while a real dependency fails: each dependency is a private instance that the test itself
// stops, freezes and starts again, never one of the shared services that other tests use. Redis down: answers
// are computed or come from L1, and L2 serves again once Redis is back. RabbitMQ down: answers are served,
// their recommendation.served messages wait in the outbox, and every one arrives once the broker is back. The
// event store (CongoDB, a MongoDB wire peer) frozen with SIGSTOP: the events deadline gives a degraded
// answer, never cached, and a normal one once the store answers again. An unknown user is a 404 throughout.

#include <algorithm>
#include <fmt/format.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "integration/cache/redis_test_client.hpp"
#include "integration/main_request/demo_shop.hpp"
#include "integration/main_request/private_service.hpp"

namespace cohort::testing {
namespace {

class DegradationTest : public ::testing::Test {
 protected:
  // Loads the demo shop with `env` (embedded SQLite for users and the outbox, fast messaging settings) and
  // serves it.
  void Serve(NameValues env) {
    env_ = FastMessaging(std::move(env));
    ASSERT_NO_FATAL_FAILURE(LoadDemoShop(data_dir(), env_));
    server_ = std::make_unique<ServerProcess>(
        ServerProcess::Options{.args = {}, .env = env_, .data_dir = data_dir()});
    ASSERT_TRUE(WaitUntilQuiet(*server_)) << "the demo's messages were not processed in 60 s";
  }

  // Serves with the events in `store` (a private CongoDB) and the events deadline `deadline_ms`.
  void ServeOnEventStore(const PrivateService& store, const std::string& deadline_ms) {
    ASSERT_TRUE(store.running()) << store.Log();
    const std::string url = store.Env("COHORT_TEST_MONGO_URL");
    ASSERT_FALSE(url.empty()) << store.Log();
    ASSERT_NO_FATAL_FAILURE(Serve({{"COHORT_MONGO_URL", url}, {"COHORT_EVENTS_DEADLINE_MS", deadline_ms}}));
  }

  const std::string& data_dir() const { return dir_.path(); }

  // The recommendations of `user` (with `query`), expected to be a 200 answer about them; X-Cache in *source.
  json Answer(const std::string& user, const std::string& query = {}, std::string* source = nullptr) {
    auto got = server_->Get(RecommendationsPath(user, query));
    EXPECT_EQ(got.status, 200) << got.body;
    if (got.status != 200) return json();
    if (source != nullptr) *source = got.headers["x-cache"];
    const json answer = got.Json();
    ExpectRecommendationAnswer(answer, user);
    return answer;
  }

  TempDir dir_;
  NameValues env_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(DegradationTest, RedisDownAnswersAreComputedOrFromL1AndL2ServesAgainOnceItIsBack) {
  if (!OnPath("redis-server") || !OnPath("redis-cli"))
    GTEST_SKIP() << "redis-server or redis-cli is not installed";
  OwnRedisServer redis;
  ASSERT_NO_FATAL_FAILURE(
      Serve({{"COHORT_REDIS_URL", redis.url()}, {"COHORT_CACHE_KEY_PREFIX", UniquePrefix("degraded")}}));
  // A second process on the same data and Redis: its L1 holds nothing, so what it finds in L2 shows that L2
  // works.
  ServerProcess peer({.args = {}, .env = env_, .data_dir = data_dir()});

  const std::string one = RecommendationsPath("u000001");
  auto first = server_->Get(one);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.headers["x-cache"], "miss");
  EXPECT_EQ(server_->Get(one).headers["x-cache"], "l1");
  auto from_l2 = peer.Get(one);
  EXPECT_EQ(from_l2.headers["x-cache"], "l2");
  EXPECT_EQ(from_l2.body, first.body);
  const auto errors_before = server_->Get("/api/admin/cache").Json()["l2"]["errors"].get<std::int64_t>();

  redis.Stop();
  std::string source;
  const json computed = Answer("u000002", {}, &source);
  EXPECT_EQ(source, "miss");
  EXPECT_FALSE(computed["degraded"].get<bool>()) << "Redis is a cache: its absence degrades nothing";
  auto again = server_->Get(RecommendationsPath("u000002"));
  EXPECT_EQ(again.headers["x-cache"], "l1");
  EXPECT_EQ(again.Json(), computed);
  EXPECT_EQ(server_->Get(one).headers["x-cache"], "l1");
  // The peer has neither tier for this answer: it computes it.
  auto on_peer = peer.Get(RecommendationsPath("u000002"));
  ASSERT_EQ(on_peer.status, 200) << on_peer.body;
  EXPECT_EQ(on_peer.headers["x-cache"], "miss");
  EXPECT_EQ(server_->Get(RecommendationsPath("nobody")).status, 404);
  EXPECT_GT(server_->Get("/api/admin/cache").Json()["l2"]["errors"].get<std::int64_t>(), errors_before);

  redis.Start();
  // Each process's breaker tries Redis again after its cool-down; until then an answer is computed and not
  // written to L2. Fresh keys (a user and a limit) until one that the server computed is in L2 for the peer.
  int round = 0;
  std::string last;
  const bool back = Eventually([&] {
    ++round;
    const std::string key = RecommendationsPath(fmt::format("u{:06}", 3 + round / 100),
                                                fmt::format("?limit={}", 1 + round % 100));
    auto made = server_->Get(key);
    if (made.status != 200) return false;
    auto found = peer.Get(key);
    last = key + ": server " + made.headers["x-cache"] + ", peer " + found.headers["x-cache"];
    return found.status == 200 && found.headers["x-cache"] == "l2" && found.body == made.body;
  });
  EXPECT_TRUE(back) << "L2 not used again after " << round << " keys; last " << last;
}

TEST_F(DegradationTest, BrokerDownAnswersAreServedAndTheirMessagesWaitInTheOutboxUntilItIsBack) {
  if (::access("/usr/lib/rabbitmq/bin/rabbitmq-server", X_OK) != 0 || !OnPath("epmd"))
    GTEST_SKIP() << "RabbitMQ (/usr/lib/rabbitmq/bin/rabbitmq-server, epmd) is not installed";
  PrivateService broker("rabbitmq", "COHORT_TEST_RABBITMQ_PORT");
  ASSERT_TRUE(broker.running()) << broker.Log();
  const std::string url = broker.Env("COHORT_TEST_AMQP_URL");
  ASSERT_FALSE(url.empty()) << broker.Log();
  // serve runs the impressions consumer itself (with RabbitMQ it runs in `cohort worker` unless told
  // otherwise).
  ASSERT_NO_FATAL_FAILURE(Serve({{"COHORT_AMQP_URL", url}, {"COHORT_QUEUE_SERVE_CONSUMERS", "on"}}));
  auto consumed = [&] { return ServedMessagesConsumed({}, data_dir()); };

  // Every answer shows its products once to the impressions consumer, cached or not.
  std::int64_t answers = 0;
  std::int64_t shown = 0;
  auto ask = [&](const std::string& user, const char* expected_source) {
    std::string source;
    const json answer = Answer(user, {}, &source);
    EXPECT_EQ(source, expected_source) << user;
    ++answers;
    shown += static_cast<std::int64_t>(answer["recommendations"].size());
  };
  ask("u000001", "miss");
  ask("u000001", "l1");
  ASSERT_TRUE(Eventually([&] { return consumed() == answers; })) << "before the outage: " << consumed();

  ASSERT_TRUE(broker.Script("rabbitmqctl stop_app")) << broker.Log();
  const std::int64_t before = answers;
  for (const char* user : {"u000002", "u000003", "u000004", "u000005"}) {
    ask(user, "miss");
    ask(user, "l1");
  }
  ask("u000001", "l1");
  EXPECT_EQ(server_->Get(RecommendationsPath("nobody")).status, 404);
  json queues;
  EXPECT_TRUE(Eventually([&] {
    queues = server_->Get("/api/admin/queues").Json();
    return queues["available"] == false && queues["outbox"]["pending"] == answers - before;
  })) << "every message of the outage waits in the outbox: "
      << queues.dump();
  EXPECT_EQ(consumed(), before);

  ASSERT_TRUE(broker.Script("rabbitmqctl start_app") && broker.Script("rabbitmqctl await_startup"))
      << broker.Log();
  EXPECT_TRUE(Eventually(
      [&] {
        queues = server_->Get("/api/admin/queues").Json();
        return queues["outbox"]["pending"] == 0 && consumed() == answers;
      },
      std::chrono::seconds(120)))
      << "consumed " << consumed() << " of " << answers << "; " << queues.dump();
  EXPECT_EQ(consumed(), answers) << "none lost, none twice";
  EXPECT_EQ(QueryInt(data_dir(),
                     "SELECT COALESCE(SUM(impressions), 0) FROM impression_counters WHERE scope = 'product'"),
            shown);
}

// Resumes a process stopped with SIGSTOP when the test ends, whatever happened.
class Frozen {
 public:
  // Never signals a pid <= 0: kill() would take those as process groups, or as every process.
  explicit Frozen(pid_t pid) : pid_(pid) { frozen_ = pid_ > 0 && ::kill(pid_, SIGSTOP) == 0; }
  ~Frozen() { Thaw(); }
  Frozen(const Frozen&) = delete;
  Frozen& operator=(const Frozen&) = delete;
  bool frozen() const { return frozen_; }
  void Thaw() {
    if (frozen_) ::kill(pid_, SIGCONT);
    frozen_ = false;
  }

 private:
  pid_t pid_;
  bool frozen_ = false;
};

TEST_F(DegradationTest, FrozenEventStoreGivesADegradedUncachedAnswerAndANormalOneOnceItAnswers) {
  if (!OnPath("node")) GTEST_SKIP() << "node (which runs the CongoDB event store) is not installed";
  PrivateService store("mongo", "COHORT_TEST_MONGO_PORT");
  // The MongoDB driver gives up on a silent server after 3 s at the soonest (connect, server selection): a
  // deadline below that makes a frozen store slow for every request below, not failed.
  ASSERT_NO_FATAL_FAILURE(ServeOnEventStore(store, "1000"));

  // A normal answer first. A loaded machine may miss even this deadline; a degraded answer is not cached, so
  // asking again is fair.
  json normal;
  ASSERT_TRUE(Eventually([&] {
    normal = Answer("u000001");
    return normal.is_object() && !normal["degraded"].get<bool>();
  })) << normal;

  // u000002's answer while the store answers, under a query of its own (so the default query's answer is not
  // cached before the freeze): the degraded answer below must agree with it on what the stored features give.
  json with_events;
  ASSERT_TRUE(Eventually([&] {
    with_events = Answer("u000002", "?limit=5");
    return with_events.is_object() && !with_events["degraded"].get<bool>();
  })) << with_events;

  const pid_t congodb = store.Pid("mongo/pid");
  ASSERT_GT(congodb, 0) << store.Log();
  Frozen freeze(congodb);
  ASSERT_TRUE(freeze.frozen()) << "cannot stop the CongoDB process " << congodb;
  std::string source;
  const json explained = Answer("u000002", "?explain=true", &source);
  EXPECT_EQ(source, "miss");
  EXPECT_TRUE(explained["degraded"].get<bool>()) << explained;
  bool events_at_deadline = false;
  for (const auto& step : explained["explain"]["steps"])
    events_at_deadline = events_at_deadline || (step["step"] == "events" && step["source"] == "deadline");
  EXPECT_TRUE(events_at_deadline) << explained["explain"];
  // Segment, churn risk and lifetime value come from the feature state that the event.ingested consumer stored
  // for u000002, not from the profile alone: they are what the events gave a moment ago.
  bool stored_features = false;
  for (const auto& step : explained["explain"]["steps"])
    stored_features = stored_features || (step["step"] == "features" && step["source"] == "stored");
  EXPECT_TRUE(stored_features) << explained["explain"];
  EXPECT_EQ(explained["segment"], with_events["segment"]);
  EXPECT_EQ(explained["ltv"]["method"], with_events["ltv"]["method"]);
  EXPECT_NEAR(explained["ltv"]["value"].get<double>(), with_events["ltv"]["value"].get<double>(),
              1e-3 * std::max(1.0, with_events["ltv"]["value"].get<double>()));
  EXPECT_NEAR(explained["churn_risk"].get<double>(), with_events["churn_risk"].get<double>(), 1e-3);
  const json degraded = Answer("u000002", {}, &source);
  EXPECT_EQ(source, "miss") << "a degraded answer is not cached";
  EXPECT_TRUE(degraded["degraded"].get<bool>()) << degraded;
  EXPECT_EQ(server_->Get(RecommendationsPath("nobody")).status, 404);
  // The user's profile still answers from the relational store; what is cached is untouched.
  EXPECT_EQ(server_->Get(RecommendationsPath("u000001")).headers["x-cache"], "l1");

  freeze.Thaw();
  // The driver reconnects: answers may fail or be degraded for a moment, then a normal one is computed and
  // cached.
  json recovered;
  EXPECT_TRUE(Eventually([&] {
    auto got = server_->Get(RecommendationsPath("u000002"));
    if (got.status != 200) return false;
    recovered = got.Json();
    return !recovered["degraded"].get<bool>() && got.headers["x-cache"] == "miss";
  })) << recovered;
  ExpectRecommendationAnswer(recovered, "u000002");
  EXPECT_EQ(server_->Get(RecommendationsPath("u000002")).headers["x-cache"], "l1");
}

// The event store stopped, with a deadline longer than the MongoDB driver's 3 s of server selection: the read
// fails rather than times out, and the answer is degraded the same way (200, from the stored features), and the
// failure is counted as a store error.
TEST_F(DegradationTest, StoppedEventStoreGivesADegradedAnswerWhenTheReadFails) {
  if (!OnPath("node")) GTEST_SKIP() << "node (which runs the CongoDB event store) is not installed";
  PrivateService store("mongo", "COHORT_TEST_MONGO_PORT");
  ASSERT_NO_FATAL_FAILURE(ServeOnEventStore(store, "60000"));
  const json normal = Answer("u000003", "?limit=5");
  ASSERT_FALSE(normal["degraded"].get<bool>()) << normal;

  ASSERT_TRUE(store.Script("stop mongo")) << store.Log();
  std::string source;
  const json failed = Answer("u000003", "?explain=true", &source);
  EXPECT_EQ(source, "miss");
  EXPECT_TRUE(failed["degraded"].get<bool>()) << failed;
  bool events_failed = false, stored_features = false;
  for (const auto& step : failed["explain"]["steps"]) {
    events_failed = events_failed || (step["step"] == "events" && step["source"] == "error");
    stored_features = stored_features || (step["step"] == "features" && step["source"] == "stored");
  }
  EXPECT_TRUE(events_failed) << failed["explain"];
  EXPECT_TRUE(stored_features) << failed["explain"];
  EXPECT_EQ(failed["segment"], normal["segment"]);
  const std::string metrics = server_->Get("/metrics").body;
  EXPECT_EQ(metrics.find("cohort_store_errors_total 0\n"), std::string::npos) << "the failed read is not counted";
}

}  // namespace
}  // namespace cohort::testing
