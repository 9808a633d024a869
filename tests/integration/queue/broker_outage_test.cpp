// The transactional outbox across a RabbitMQ outage, through the real binaries: `cohort serve` keeps creating
// users and ingesting events while the broker is stopped; once it is back, every outbox message reaches the
// `cohort worker` consumers, each processed once. The test runs in a RabbitMQ vhost of its own, so that the
// fixed queue names (cohort.notifications, ...) never mix with other tests, and holds the broker lock
// exclusively while it stops the broker.

#include <fmt/format.h>

#include "integration/queue/amqp_broker.hpp"
#include "integration/queue/messaging_process.hpp"

namespace cohort::testing {
namespace {

json EventsFor(int first_user, int users, const std::string& tag) {
  json events = json::array();
  for (int i = first_user; i < first_user + users; ++i) {
    events.push_back({{"event_id", fmt::format("{}-v{}", tag, i)},
                      {"user_id", fmt::format("o{}", i)},
                      {"type", "view"},
                      {"product_id", "p1"},
                      {"ts", "2026-03-01T10:00:00Z"}});
    events.push_back({{"event_id", fmt::format("{}-b{}", tag, i)},
                      {"user_id", fmt::format("o{}", i)},
                      {"type", "purchase"},
                      {"product_id", "p1"},
                      {"price", 4},
                      {"ts", "2026-03-02T10:00:00Z"}});
  }
  return events;
}

TEST(BrokerOutageTest, OutboxHoldsMessagesWhileTheBrokerIsDownAndDeliversEachOnceAfter) {
  if (TestAmqpUrl().empty()) GTEST_FAIL() << "COHORT_TEST_AMQP_URL is not set (scripts/test-services.sh env)";
  BrokerLock lock(true);
  BrokerVhost vhost;
  ASSERT_TRUE(vhost.ok()) << "cannot create a vhost with COHORT_TEST_RABBITMQ_CTL";

  TempDir data;
  const NameValues env = FastMessaging({{"COHORT_AMQP_URL", vhost.url()}});
  ServerProcess server({.args = {}, .env = env, .data_dir = data.path()});
  WorkerProcess worker(data.path(), env);
  const std::string dir = data.path();

  // Before the outage: the path works end to end.
  constexpr int kBefore = 5;
  for (int i = 0; i < kBefore; ++i)
    ASSERT_EQ(server.Post("/api/users", UserBody(fmt::format("o{}", i)).dump()).status, 201);
  ASSERT_EQ(server.Post("/api/events", EventsFor(0, kBefore, "before").dump()).status, 200);
  ASSERT_TRUE(Eventually([&] { return QueryInt(dir, "SELECT COUNT(*) FROM notifications") == kBefore; }))
      << server.Log() << worker.Log();

  ASSERT_TRUE(StopBroker());
  constexpr int kDuring = 20;
  for (int i = kBefore; i < kBefore + kDuring; ++i) {
    auto created = server.Post("/api/users", UserBody(fmt::format("o{}", i)).dump());
    ASSERT_EQ(created.status, 201) << created.body;
  }
  auto ingested = server.Post("/api/events", EventsFor(kBefore, kDuring, "during").dump());
  ASSERT_EQ(ingested.status, 200) << ingested.body;
  // Events of users who existed before, too, in a second batch.
  ASSERT_EQ(server.Post("/api/events", EventsFor(0, kBefore, "during2").dump()).status, 200);
  const json queues = server.Get("/api/admin/queues").Json();
  EXPECT_EQ(queues["available"], false) << queues.dump();
  EXPECT_GT(queues["outbox"]["pending"].get<std::int64_t>(), 0) << queues.dump();
  EXPECT_EQ(server.Get("/readyz").status, 200) << "the stores answer; the broker is not a store";

  ASSERT_TRUE(StartBroker());
  constexpr int kUsers = kBefore + kDuring;
  ASSERT_TRUE(Eventually([&] {
    return QueryInt(dir, "SELECT COUNT(*) FROM outbox") == 0 &&
           QueryInt(dir, "SELECT COUNT(*) FROM notifications") == kUsers &&
           QueryInt(dir, "SELECT COALESCE(SUM(events), 0) FROM user_event_counters") ==
               2 * (kUsers + kBefore);
  })) << server.Log()
      << worker.Log();

  // Written: one user.created per user; one event.ingested per user and batch (three batches: kBefore users,
  // kDuring users, kBefore users again). Published (by the relays of serve and of the worker, which share the
  // outbox): every one, each processed once.
  const std::int64_t written = kUsers + (kBefore + kDuring + kBefore);
  EXPECT_LE(server.Get("/api/admin/queues").Json()["outbox"]["relayed_total"].get<std::int64_t>(), written);
  EXPECT_EQ(QueryInt(dir, "SELECT COUNT(*) FROM processed_messages"), written);
  EXPECT_EQ(QueryInt(dir, "SELECT COUNT(*) FROM processed_messages WHERE consumer = 'notifications'"),
            kUsers);
  EXPECT_EQ(QueryInt(dir, "SELECT COUNT(*) FROM processed_messages WHERE consumer = 'user-counters'"),
            kBefore + kDuring + kBefore);
  EXPECT_EQ(QueryInt(dir, "SELECT COUNT(DISTINCT user_id) FROM notifications"), kUsers);
  EXPECT_EQ(QueryInt(dir, "SELECT COUNT(*) FROM user_event_counters"), kUsers);
  EXPECT_EQ(QueryInt(dir,
                     "SELECT COUNT(*) FROM user_event_counters WHERE user_id IN ('o0', 'o1', 'o2', 'o3', "
                     "'o4') AND events = 4"),
            kBefore);
  EXPECT_EQ(QueryInt(dir, "SELECT SUM(purchases) FROM user_event_counters"), kUsers + kBefore);
  EXPECT_EQ(server.Get("/api/admin/queues").Json()["available"], true);
  EXPECT_EQ(worker.Stop(), 0);
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace cohort::testing
