// Messaging through the real binary with the embedded queue: the outbox feeds the consumers exactly once, the
// welcome webhook is retried and dead-lettered, the admin API lists, replays and drops dead letters, a
// SIGKILL loses no message, and `cohort worker` runs the consumers when serve does not.

#include <fmt/format.h>

#include <set>

#include "analytics/features.hpp"
#include "api/event_codec.hpp"
#include "common/time.hpp"
#include "integration/queue/messaging_process.hpp"
#include "integration/store/mongo_test_database.hpp"
#include "store/events/mongo/mongo_event_store.hpp"
#include "integration/queue/webhook_endpoint.hpp"

namespace cohort::testing {
namespace {

TEST(MessagingServeTest, OutboxFeedsEveryConsumerExactlyOnce) {
  ServerProcess server({.args = {}, .env = FastMessaging(), .data_dir = {}});
  constexpr int kUsers = 25;
  for (int i = 0; i < kUsers; ++i)
    ASSERT_EQ(server.Post("/api/users", UserBody(fmt::format("u{}", i)).dump()).status, 201);
  json events = json::array();
  for (int i = 0; i < kUsers; ++i) {
    events.push_back({{"event_id", fmt::format("v{}", i)},
                      {"user_id", fmt::format("u{}", i)},
                      {"type", "view"},
                      {"product_id", "p1"},
                      {"ts", "2026-03-01T10:00:00Z"}});
    events.push_back({{"event_id", fmt::format("b{}", i)},
                      {"user_id", fmt::format("u{}", i)},
                      {"type", "purchase"},
                      {"product_id", "p1"},
                      {"price", 10},
                      {"quantity", 2},
                      {"ts", "2026-03-02T10:00:00Z"}});
  }
  ASSERT_EQ(server.Post("/api/events", events.dump()).status, 200);
  // The same batch again: all duplicates, so it must cause no message and no count.
  ASSERT_EQ(server.Post("/api/events", events.dump()).Json()["duplicates"], 2 * kUsers);

  const std::string dir = server.data_dir();
  // The acks are committed a little after the effects (a prefetch window at a time): wait for both.
  ASSERT_TRUE(Eventually([&] {
    return QueryInt(dir, "SELECT COUNT(*) FROM notifications") == kUsers &&
           QueryInt(dir, "SELECT COUNT(*) FROM user_event_counters") == kUsers &&
           QueryInt(dir, "SELECT COUNT(*) FROM outbox") == 0 &&
           QueueEntry(server, "notifications")["acked_total"] == kUsers &&
           QueueEntry(server, "user-counters")["acked_total"] == kUsers;
  })) << server.Log();
  EXPECT_EQ(QueryInt(dir, "SELECT COUNT(DISTINCT user_id) FROM notifications"), kUsers);
  EXPECT_EQ(QueryInt(dir, "SELECT SUM(events) FROM user_event_counters"), 2 * kUsers);
  EXPECT_EQ(QueryInt(dir, "SELECT SUM(purchases) FROM user_event_counters"), kUsers);
  EXPECT_EQ(QueryInt(dir, "SELECT CAST(SUM(revenue) AS INTEGER) FROM user_event_counters"), 20 * kUsers);
  EXPECT_EQ(QueryInt(dir, "SELECT COUNT(*) FROM user_event_counters WHERE events <> 2 OR purchases <> 1"), 0);

  const json queues = server.Get("/api/admin/queues").Json();
  EXPECT_EQ(queues["backend"], "sqlite");
  EXPECT_EQ(queues["outbox"]["pending"], 0);
  EXPECT_EQ(queues["outbox"]["relayed_total"],
            2 * kUsers);  // one user.created and one event.ingested per user
  const json notifications = QueueEntry(server, "notifications");
  ASSERT_FALSE(notifications.is_null()) << queues.dump();
  EXPECT_EQ(notifications["published_total"], kUsers);
  EXPECT_EQ(notifications["acked_total"], kUsers);
  EXPECT_EQ(notifications["ready"], 0);
  EXPECT_EQ(QueueEntry(server, "user-counters")["acked_total"], kUsers);
  EXPECT_EQ(server.Get("/api/admin/dead-letters").Json()["items"].size(), 0u);
}

// event.ingested keeps each user's analytics::FeatureState: after two batches (the second out of time order),
// the stored state gives the features that one pass over the user's stored events gives.
TEST(MessagingServeTest, EventIngestedKeepsTheUsersFeatures) {
  ServerProcess server({.args = {}, .env = FastMessaging(), .data_dir = {}});
  ASSERT_EQ(server.Post("/api/users", UserBody("f1").dump()).status, 201);
  auto batch = [](int from, int to) {
    json events = json::array();
    for (int i = from; i < to; ++i)
      events.push_back({{"event_id", fmt::format("f1-{}", i)},
                        {"user_id", "f1"},
                        {"type", i % 3 == 0 ? "purchase" : i % 3 == 1 ? "view" : "add_to_cart"},
                        {"product_id", fmt::format("p{}", i % 7)},
                        {"category", i % 2 == 0 ? "books" : "music"},
                        {"price", 4 + i % 5},
                        {"ts", fmt::format("2026-0{}-{:02}T10:00:00Z", 1 + i % 6, 1 + (i * 7) % 28)}});
    return events;
  };
  ASSERT_EQ(server.Post("/api/events", batch(0, 30).dump()).Json()["accepted"], 30);
  ASSERT_EQ(server.Post("/api/events", batch(30, 50).dump()).Json()["accepted"], 20);

  const std::string dir = server.data_dir();
  const std::string features_of_f1 = "SELECT features FROM user_event_counters WHERE user_id = 'f1'";
  ASSERT_TRUE(Eventually([&] { return QueryInt(dir, "SELECT COALESCE(MAX(events), 0) FROM user_event_counters") == 50; }))
      << server.Log();
  auto state = analytics::FeatureState::FromJson(json::parse(QueryRows(dir, features_of_f1).Text(0, 0)));
  ASSERT_TRUE(state.ok()) << state.error().client_message;
  EXPECT_EQ(state->events(), 50);

  const json stored = server.Get("/api/users/f1/events?limit=1000").Json();
  auto events = api::ParseEventsJson(stored["items"].dump(), 0);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->events.size(), 50u) << stored.dump();
  for (const char* when : {"2026-06-30T00:00:00Z", "2026-09-01T12:00:00Z"}) {
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::microseconds>(ParseRfc3339(when)->time_since_epoch()).count();
    const analytics::UserFeatures expected = analytics::ComputeFeatures(events->events, now, analytics::TimeUnit::kDays);
    EXPECT_EQ(state->Features(now, analytics::TimeUnit::kDays), expected);
    EXPECT_GT(expected.purchases, 1);
    EXPECT_GT(expected.events_90d, 0);
  }
}

// Events in MongoDB (the CongoDB wire-compatible peer of `make test`, not mongod): the event.ingested rows follow
// each insert in the relational outbox, so the consumer keeps user_event_counters; a batch sent again (all
// duplicates) causes messages again, and the counters, recomputed from the store, do not double.
TEST(MessagingServeTest, EventsInMongoDbCauseEventIngestedMessages) {
  const std::string mongo = TestMongoUrl();
  if (mongo.empty()) return;
  const std::string url = MongoUrlWithDatabase(mongo, UniqueMongoDatabaseName());
  ServerProcess server({.args = {}, .env = FastMessaging({{"COHORT_MONGO_URL", url}}), .data_dir = {}});
  constexpr int kUsers = 10;
  json events = json::array();
  for (int i = 0; i < kUsers; ++i) {
    ASSERT_EQ(server.Post("/api/users", UserBody(fmt::format("m{}", i)).dump()).status, 201);
    events.push_back({{"event_id", fmt::format("mv{}", i)}, {"user_id", fmt::format("m{}", i)}, {"type", "view"}});
    events.push_back({{"event_id", fmt::format("mb{}", i)},
                      {"user_id", fmt::format("m{}", i)},
                      {"type", "purchase"},
                      {"price", 10},
                      {"quantity", 2}});
  }
  ASSERT_EQ(server.Post("/api/events", events.dump()).Json()["accepted"], 2 * kUsers);
  ASSERT_EQ(server.Post("/api/events", events.dump()).Json()["duplicates"], 2 * kUsers);

  const std::string dir = server.data_dir();
  ASSERT_TRUE(Eventually([&] {
    return QueueEntry(server, "user-counters")["acked_total"] == 2 * kUsers &&
           QueryInt(dir, "SELECT COUNT(*) FROM outbox") == 0;
  })) << server.Log();
  EXPECT_EQ(QueryInt(dir, "SELECT COUNT(*) FROM user_event_counters"), kUsers);
  EXPECT_EQ(QueryInt(dir, "SELECT SUM(events) FROM user_event_counters"), 2 * kUsers);
  EXPECT_EQ(QueryInt(dir, "SELECT CAST(SUM(revenue) AS INTEGER) FROM user_event_counters"), 20 * kUsers);
  EXPECT_EQ(QueryInt(dir, "SELECT COUNT(*) FROM user_event_counters WHERE features IS NULL"), 0);
  auto store = store::OpenMongoEventStore(url, 1);
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE(dynamic_cast<store::MongoEventStore&>(**store).DropDatabase().ok());
}

TEST(MessagingServeTest, WebhookFailingThreeTimesIsRetriedUntilItSucceeds) {
  WebhookEndpoint endpoint(3);
  ServerProcess server(
      {.args = {},
       .env = FastMessaging({{"COHORT_WEBHOOK_URL", endpoint.url()}, {"COHORT_QUEUE_MAX_ATTEMPTS", "5"}}),
       .data_dir = {}});
  ASSERT_EQ(server.Post("/api/users", UserBody("w1").dump()).status, 201);
  ASSERT_TRUE(Eventually([&] { return endpoint.accepted().size() == 1; })) << server.Log();
  EXPECT_EQ(endpoint.requests(), 4);
  const json welcome = json::parse(endpoint.accepted()[0]);
  EXPECT_EQ(welcome["type"], "welcome");
  EXPECT_EQ(welcome["user_id"], "w1");
  ASSERT_TRUE(Eventually([&] { return QueueEntry(server, "notifications")["acked_total"] == 1; }));
  const json entry = QueueEntry(server, "notifications");
  EXPECT_EQ(entry["retried_total"], 3);
  EXPECT_EQ(entry["dead_lettered"], 0);
  EXPECT_EQ(server.Get("/api/admin/dead-letters?queue=notifications").Json()["items"].size(), 0u);
  // With a webhook, the notifications table is not used.
  EXPECT_EQ(QueryInt(server.data_dir(), "SELECT COUNT(*) FROM notifications"), 0);
}

TEST(MessagingServeTest, WebhookThatKeepsFailingIsDeadLetteredThenReplayedOrDropped) {
  WebhookEndpoint endpoint(0);
  endpoint.set_failing_forever(true);
  ServerProcess server(
      {.args = {},
       .env = FastMessaging({{"COHORT_WEBHOOK_URL", endpoint.url()}, {"COHORT_QUEUE_MAX_ATTEMPTS", "3"}}),
       .data_dir = {}});
  ASSERT_EQ(server.Post("/api/users", UserBody("d1").dump()).status, 201);
  ASSERT_EQ(server.Post("/api/users", UserBody("d2").dump()).status, 201);
  json items;
  ASSERT_TRUE(Eventually([&] {
    items = server.Get("/api/admin/dead-letters?queue=notifications").Json()["items"];
    return items.size() == 2;
  })) << server.Log();
  EXPECT_EQ(endpoint.requests(), 6);
  std::map<std::string, json> by_user;
  for (const auto& item : items) {
    EXPECT_EQ(item["queue"], "notifications");
    EXPECT_EQ(item["type"], "user.created");
    EXPECT_EQ(item["attempts"], 3);
    EXPECT_NE(item["error"].get<std::string>().find("500"), std::string::npos) << item.dump();
    EXPECT_TRUE(item["message_id"].get<std::string>().starts_with("outbox-"));
    by_user[item["payload"]["user_id"]] = item;
  }
  ASSERT_EQ(by_user.size(), 2u);
  EXPECT_EQ(QueueEntry(server, "notifications")["dead_lettered"], 2);
  EXPECT_EQ(server.Get("/api/admin/dead-letters?queue=user-counters").Json()["items"].size(), 0u);

  endpoint.set_failing_forever(false);
  const std::string replay_id = by_user["d1"]["id"];
  auto replayed = server.Post(fmt::format("/api/admin/dead-letters/{}/replay", replay_id), "");
  ASSERT_EQ(replayed.status, 200) << replayed.body;
  ASSERT_TRUE(Eventually([&] { return endpoint.accepted().size() == 1; })) << server.Log();
  EXPECT_EQ(UserIdsOf(endpoint.accepted()), std::set<std::string>{"d1"});

  const std::string drop_id = by_user["d2"]["id"];
  EXPECT_EQ(server.Delete(fmt::format("/api/admin/dead-letters/{}", drop_id)).status, 204);
  EXPECT_EQ(server.Get("/api/admin/dead-letters").Json()["items"].size(), 0u);
  EXPECT_EQ(server.Delete(fmt::format("/api/admin/dead-letters/{}", drop_id)).status, 404);
  EXPECT_EQ(server.Post(fmt::format("/api/admin/dead-letters/{}/replay", replay_id), "").status, 404);
  EXPECT_EQ(server.Post("/api/admin/dead-letters/not-a-number/replay", "").status, 404);
  EXPECT_EQ(server.Get("/api/admin/dead-letters?color=red").status, 400);
  EXPECT_EQ(endpoint.accepted().size(), 1u) << "a dropped dead letter is not delivered";
}

TEST(MessagingServeTest, SigkillMidRunLosesNoMessage) {
  // A slow webhook keeps messages leased and in the outbox when the process is killed.
  WebhookEndpoint endpoint(0, std::chrono::milliseconds(15));
  TempDir data;
  const NameValues env =
      FastMessaging({{"COHORT_WEBHOOK_URL", endpoint.url()}, {"COHORT_QUEUE_PREFETCH", "8"}});
  constexpr int kUsers = 120;
  std::set<std::string> expected;
  {
    ServerProcess server({.args = {}, .env = env, .data_dir = data.path()});
    for (int i = 0; i < kUsers; ++i) {
      const std::string id = fmt::format("k{}", i);
      ASSERT_EQ(server.Post("/api/users", UserBody(id).dump()).status, 201);
      expected.insert(id);
    }
    ASSERT_TRUE(Eventually([&] { return endpoint.accepted().size() >= 10; }));
    server.Kill();
  }
  const auto before_restart = endpoint.accepted().size();
  EXPECT_LT(before_restart, static_cast<std::size_t>(kUsers)) << "the kill came too late to test anything";
  ServerProcess server({.args = {}, .env = env, .data_dir = data.path()});
  ASSERT_TRUE(Eventually([&] { return UserIdsOf(endpoint.accepted()) == expected; })) << server.Log();
  ASSERT_TRUE(Eventually([&] {
    const json entry = QueueEntry(server, "notifications");
    return entry["ready"] == 0 && entry["in_flight"] == 0 && entry["retrying"] == 0;
  }));
  EXPECT_EQ(QueryInt(data.path(), "SELECT COUNT(*) FROM outbox"), 0);
  // At least once: a message that was being delivered at the kill may arrive twice, but no more than the
  // deliveries one consumer thread holds at a time.
  EXPECT_LE(endpoint.accepted().size(), static_cast<std::size_t>(kUsers + 8));
}

TEST(MessagingServeTest, WorkerRunsTheConsumersWhenServeDoesNot) {
  TempDir data;
  const NameValues env = FastMessaging({{"COHORT_QUEUE_SERVE_CONSUMERS", "off"}});
  ServerProcess server({.args = {}, .env = env, .data_dir = data.path()});
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(server.Post("/api/users", UserBody(fmt::format("c{}", i)).dump()).status, 201);
  // Relayed by serve, but nobody consumes them yet.
  ASSERT_TRUE(Eventually([&] { return QueueEntry(server, "notifications")["ready"] == 5; })) << server.Log();
  EXPECT_EQ(QueryInt(data.path(), "SELECT COUNT(*) FROM notifications"), 0);

  WorkerProcess worker(data.path(), env);
  ASSERT_TRUE(Eventually([&] { return QueryInt(data.path(), "SELECT COUNT(*) FROM notifications") == 5; }));
  EXPECT_EQ(worker.Stop(), 0);
  EXPECT_EQ(QueueEntry(server, "notifications")["ready"], 0);
}

}  // namespace
}  // namespace cohort::testing
