// The MongoDB event store against the server behind COHORT_TEST_MONGO_URL — in this project's runs CongoDB,
// a MongoDB-wire-compatible test peer, NOT mongod: idempotent batches, per-user history, counts, aggregate
// pipelines (as raw extended JSON), limits and error codes. Each test uses a database of its own, dropped
// at the end. Known differences of the peer: src/store/events/mongo/README.md.

#include "store/events/mongo/mongo_event_store.hpp"

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/time.hpp"
#include "store/events/pipeline.hpp"
#include "integration/store/mongo_test_database.hpp"

namespace cohort::store {
namespace {

using domain::Event;
using nlohmann::json;
using ojson = nlohmann::ordered_json;  // pipelines: key order matters in $sort

std::int64_t Micros(std::string_view rfc3339) {
  const auto t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return std::chrono::duration_cast<std::chrono::microseconds>(t.value_or(Clock::time_point{}).time_since_epoch())
      .count();
}

Event MakeEvent(std::string id, std::string user, std::string type, std::string_view ts,
                std::optional<std::string> product = std::nullopt, std::optional<std::string> category = std::nullopt,
                std::optional<double> price = std::nullopt, std::int64_t quantity = 1,
                std::string properties = "{}") {
  Event e;
  e.event_id = std::move(id);
  e.user_id = std::move(user);
  e.type = std::move(type);
  e.product_id = std::move(product);
  e.category = std::move(category);
  e.price = price;
  e.quantity = quantity;
  e.ts_micros = Micros(ts);
  e.properties = std::move(properties);
  return e;
}

std::vector<std::string> Ids(const std::vector<Event>& events) {
  std::vector<std::string> ids;
  for (const auto& e : events) ids.push_back(e.event_id);
  return ids;
}

class MongoEventStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(db_.store(), nullptr);
    store_ = db_.store().get();
    mongo_ = dynamic_cast<MongoEventStore*>(store_);
    ASSERT_NE(mongo_, nullptr);
    auto migrated = store_->Migrate();
    ASSERT_TRUE(migrated.ok()) << migrated.error().internal_message;
  }

  AppendCounts Append(const std::vector<Event>& events) {
    auto r = store_->Append(events);
    EXPECT_TRUE(r.ok()) << r.error().internal_message;
    return r.ok() ? *r : AppendCounts{};
  }
  std::vector<Event> History(EventQuery query) {
    auto r = store_->UserEvents(query);
    EXPECT_TRUE(r.ok()) << r.error().internal_message;
    return r.ok() ? *r : std::vector<Event>{};
  }
  std::vector<json> Run(const ojson& pipeline, events::PipelineLimits limits = {}) {
    auto r = mongo_->AggregateMongoPipeline(pipeline, limits);
    EXPECT_TRUE(r.ok()) << r.error().internal_message;
    return r.ok() ? *r : std::vector<json>{};
  }
  // A small shop: two users, views and purchases over three days.
  void SeedShop() {
    Append({MakeEvent("e1", "u1", "view", "2024-01-01T10:00:00Z", "p1", "books"),
            MakeEvent("e2", "u1", "purchase", "2024-01-01T11:00:00Z", "p1", "books", 10.0, 2),
            MakeEvent("e3", "u2", "view", "2024-01-02T09:00:00Z", "p2", "games"),
            MakeEvent("e4", "u2", "purchase", "2024-01-02T10:00:00Z", "p2", "games", 30.0, 1),
            MakeEvent("e5", "u1", "purchase", "2024-01-03T12:00:00Z", "p3", "books", 5.5, 1)});
  }

  testing::MongoTestDatabase db_;
  EventStore* store_ = nullptr;
  MongoEventStore* mongo_ = nullptr;
};

TEST_F(MongoEventStoreTest, MigrateIsIdempotentAndPingAnswers) {
  EXPECT_EQ(store_->backend(), "mongo");
  auto again = store_->Migrate();
  ASSERT_TRUE(again.ok()) << again.error().internal_message;
  EXPECT_EQ(*again, 1);
  auto ping = store_->Ping();
  EXPECT_TRUE(ping.ok()) << ping.error().internal_message;
}

TEST_F(MongoEventStoreTest, AppendIsIdempotentByEventId) {
  const std::vector<Event> batch = {MakeEvent("a", "u1", "view", "2024-01-01T00:00:00Z"),
                                    MakeEvent("b", "u1", "view", "2024-01-01T00:00:01Z"),
                                    MakeEvent("c", "u2", "view", "2024-01-01T00:00:02Z")};
  auto first = Append(batch);
  EXPECT_EQ(first.accepted, 3u);
  EXPECT_EQ(first.duplicates, 0u);

  // The same batch again (a retry) stores nothing new and is not an error.
  auto retry = Append(batch);
  EXPECT_EQ(retry.accepted, 0u);
  EXPECT_EQ(retry.duplicates, 3u);

  // Old and new mixed, and one event twice in the same batch.
  auto mixed = Append({batch[0], MakeEvent("d", "u3", "view", "2024-01-01T00:00:03Z"),
                       MakeEvent("d", "u3", "view", "2024-01-01T00:00:03Z")});
  EXPECT_EQ(mixed.accepted, 1u);
  EXPECT_EQ(mixed.duplicates, 2u);

  auto count = store_->Count();
  ASSERT_TRUE(count.ok()) << count.error().internal_message;
  EXPECT_EQ(*count, 4);
}

TEST_F(MongoEventStoreTest, EmptyBatchStoresNothing) {
  auto counts = Append({});
  EXPECT_EQ(counts.accepted, 0u);
  EXPECT_EQ(counts.duplicates, 0u);
  EXPECT_EQ(*store_->Count(), 0);
}

TEST_F(MongoEventStoreTest, InvalidPropertiesAreRefusedBeforeAnythingIsStored) {
  auto bad = MakeEvent("x2", "u1", "view", "2024-01-01T00:00:00Z");
  bad.properties = "[1, 2]";
  const std::vector<Event> batch = {MakeEvent("x1", "u1", "view", "2024-01-01T00:00:00Z"), bad};
  auto r = store_->Append(batch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(*store_->Count(), 0);
}

TEST_F(MongoEventStoreTest, EventRoundTripsWithMillisecondTimes) {
  const std::string properties =
      R"({"source":"app","nested":{"depth":2,"list":[1,"two",3.5,true,null,{"k":"v"}]},"big":9007199254740993,)"
      R"("ratio":0.25,"unicode":"Київ ✓"})";
  auto full = MakeEvent("full", "u1", "purchase", "2024-03-04T05:06:07.123456Z", "p9", "garden", 12.5, 3,
                        properties);
  auto bare = MakeEvent("bare", "u1", "view", "2024-03-04T05:06:06Z");
  Append({full, bare});

  auto events = History({.user_id = "u1"});
  ASSERT_EQ(events.size(), 2u);
  const Event& got = events[0];
  EXPECT_EQ(got.event_id, "full");
  EXPECT_EQ(got.user_id, "u1");
  EXPECT_EQ(got.type, "purchase");
  EXPECT_EQ(got.product_id, "p9");
  EXPECT_EQ(got.category, "garden");
  EXPECT_EQ(got.price, 12.5);
  EXPECT_EQ(got.quantity, 3);
  // BSON dates hold milliseconds: the microseconds are floored.
  EXPECT_EQ(got.ts_micros, Micros("2024-03-04T05:06:07.123Z"));
  EXPECT_EQ(json::parse(got.properties), json::parse(properties));

  const Event& plain = events[1];
  EXPECT_EQ(plain.event_id, "bare");
  EXPECT_FALSE(plain.product_id.has_value());
  EXPECT_FALSE(plain.category.has_value());
  EXPECT_FALSE(plain.price.has_value());
  EXPECT_EQ(plain.quantity, 1);
  EXPECT_EQ(plain.properties, "{}");
}

TEST_F(MongoEventStoreTest, UserEventsAreNewestFirstAndFiltered) {
  Append({MakeEvent("a1", "u1", "view", "2024-01-01T00:00:00Z"),
          MakeEvent("a2", "u1", "purchase", "2024-01-02T00:00:00Z"),
          MakeEvent("a3", "u1", "view", "2024-01-03T00:00:00Z"),
          MakeEvent("a4", "u1", "view", "2024-01-04T00:00:00Z"),
          MakeEvent("b1", "u2", "view", "2024-01-05T00:00:00Z")});

  EXPECT_EQ(Ids(History({.user_id = "u1"})), (std::vector<std::string>{"a4", "a3", "a2", "a1"}));
  EXPECT_EQ(Ids(History({.user_id = "u1", .limit = 2})), (std::vector<std::string>{"a4", "a3"}));
  EXPECT_EQ(Ids(History({.user_id = "u1", .type = "view"})), (std::vector<std::string>{"a4", "a3", "a1"}));
  // `since` is inclusive.
  EXPECT_EQ(Ids(History({.user_id = "u1", .since_micros = Micros("2024-01-03T00:00:00Z")})),
            (std::vector<std::string>{"a4", "a3"}));
  EXPECT_EQ(Ids(History({.user_id = "u1", .type = "purchase", .since_micros = Micros("2024-01-03T00:00:00Z")})),
            (std::vector<std::string>{}));
  EXPECT_TRUE(History({.user_id = "nobody"}).empty());
  EXPECT_TRUE(History({.user_id = "u1", .limit = 0}).empty());
}

TEST_F(MongoEventStoreTest, UserEventsBreakTimeTiesByEventIdDescending) {
  Append({MakeEvent("t-b", "u1", "view", "2024-01-01T00:00:00Z"),
          MakeEvent("t-c", "u1", "view", "2024-01-01T00:00:00Z"),
          MakeEvent("t-a", "u1", "view", "2024-01-01T00:00:00Z")});
  EXPECT_EQ(Ids(History({.user_id = "u1"})), (std::vector<std::string>{"t-c", "t-b", "t-a"}));
}

TEST_F(MongoEventStoreTest, UserEventsBreakTimeTiesInBinaryOrderOfEventId) {
  COHORT_SKIP_ON_CONGODB("find sorts strings with JavaScript's localeCompare, not by bytes (\"a\" < \"B\")");
  Append({MakeEvent("B", "u1", "view", "2024-01-01T00:00:00Z"), MakeEvent("a", "u1", "view", "2024-01-01T00:00:00Z"),
          MakeEvent("_x", "u1", "view", "2024-01-01T00:00:00Z")});
  EXPECT_EQ(Ids(History({.user_id = "u1"})), (std::vector<std::string>{"a", "_x", "B"}));
}

TEST_F(MongoEventStoreTest, SinceBetweenMillisecondsKeepsWhatIsReturnedAtOrAfterIt) {
  // Stored at .001000; asked since .000500: the stored time is after it.
  Append({MakeEvent("m1", "u1", "view", "2024-01-01T00:00:00.001900Z")});
  EXPECT_EQ(Ids(History({.user_id = "u1", .since_micros = Micros("2024-01-01T00:00:00.000500Z")})),
            (std::vector<std::string>{"m1"}));
  // Asked since .001500: the stored time (.001000) is before it.
  EXPECT_TRUE(History({.user_id = "u1", .since_micros = Micros("2024-01-01T00:00:00.001500Z")}).empty());
}

TEST_F(MongoEventStoreTest, AggregateGroupsAndSorts) {
  SeedShop();
  auto rows = Run(ojson::parse(R"([
    {"$match": {"type": "purchase"}},
    {"$group": {"_id": "$category", "orders": {"$sum": 1}, "units": {"$sum": "$quantity"},
                "revenue": {"$sum": {"$multiply": ["$price", "$quantity"]}}}},
    {"$sort": {"_id": 1}}
  ])"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], json::parse(R"({"_id": "books", "orders": 2, "units": 3, "revenue": 25.5})"));
  EXPECT_EQ(rows[1], json::parse(R"({"_id": "games", "orders": 1, "units": 1, "revenue": 30.0})"));
  EXPECT_TRUE(rows[0]["orders"].is_number_integer());
}

TEST_F(MongoEventStoreTest, AggregateOfWholeEventsNamesTheirIdEventIdAndFormatsDates) {
  SeedShop();
  auto rows = Run(ojson::parse(R"([{"$match": {"user_id": "u2"}}, {"$sort": {"ts": 1}}])"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], json::parse(R"({"event_id": "e3", "user_id": "u2", "type": "view", "product_id": "p2",
                                     "category": "games", "quantity": 1, "ts": "2024-01-02T09:00:00Z",
                                     "properties": {}})"));
  EXPECT_EQ(rows[1]["event_id"], "e4");
  EXPECT_EQ(rows[1]["price"], 30.0);

  auto projected = Run(ojson::parse(R"([{"$match": {"type": "purchase"}}, {"$sort": {"ts": -1}},
                                        {"$project": {"user_id": 1, "ts": 1}}])"));
  ASSERT_EQ(projected.size(), 3u);
  EXPECT_EQ(projected[0], json::parse(R"({"event_id": "e5", "user_id": "u1", "ts": "2024-01-03T12:00:00Z"})"));
}

TEST_F(MongoEventStoreTest, AggregateComparesDatesGivenAsExtendedJson) {
  SeedShop();
  auto rows = Run(ojson::parse(R"([
    {"$match": {"ts": {"$gte": {"$date": "2024-01-02T00:00:00Z"}, "$lt": {"$date": "2024-01-03T00:00:00Z"}}}},
    {"$group": {"_id": null, "n": {"$sum": 1}, "first": {"$min": "$ts"}}}
  ])"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["n"], 2);
  EXPECT_EQ(rows[0]["first"], "2024-01-02T09:00:00Z");
  EXPECT_TRUE(rows[0]["_id"].is_null());
}

TEST_F(MongoEventStoreTest, AggregateDateBoundsFinerThanMillisecondsAndWithOffsets) {
  SeedShop();  // e3 at 2024-01-02T09:00:00.000Z
  auto count = [&](std::string_view condition) {
    auto rows = Run(ojson::parse(fmt::format(R"([{{"$match": {{"user_id": "u2", "type": "view", "ts": {}}}}},
                                                {{"$count": "n"}}])",
                                            condition)));
    return rows.empty() ? 0 : rows[0]["n"].get<int>();
  };
  EXPECT_EQ(count(R"({"$gte": {"$date": "2024-01-02T09:00:00.000001Z"}})"), 0);
  EXPECT_EQ(count(R"({"$gte": {"$date": "2024-01-02T09:00:00Z"}})"), 1);
  EXPECT_EQ(count(R"({"$gt": {"$date": "2024-01-02T08:59:59.999999Z"}})"), 1);
  EXPECT_EQ(count(R"({"$lt": {"$date": "2024-01-02T09:00:00.000001Z"}})"), 1);
  EXPECT_EQ(count(R"({"$lte": {"$date": "2024-01-02T08:59:59.999999Z"}})"), 0);
  EXPECT_EQ(count(R"({"$gte": {"$date": "2024-01-02T11:00:00+02:00"}, "$lte": {"$date": "2024-01-02T11:00:00+02:00"}})"), 1);
}

TEST_F(MongoEventStoreTest, AggregatePastItsTimeLimitIsDeadlineExceeded) {
  COHORT_SKIP_ON_CONGODB("maxTimeMS is accepted and ignored: no operation ever exceeds its time limit");
  std::vector<Event> many;
  for (int i = 0; i < 20'000; ++i)
    many.push_back(MakeEvent(fmt::format("d{:05}", i), fmt::format("u{}", i % 997), "view", "2024-01-01T00:00:00Z"));
  Append(many);
  auto r = mongo_->AggregateMongoPipeline(
      ojson::parse(R"([{"$group": {"_id": "$_id", "n": {"$sum": 1}}}, {"$sort": {"n": -1, "_id": 1}}])"),
      {.max_rows = 100'000, .timeout = std::chrono::milliseconds(1)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDeadlineExceeded) << r.error().internal_message;
}

TEST_F(MongoEventStoreTest, AggregateReadsNestedProperties) {
  Append({MakeEvent("p1", "u1", "view", "2024-01-01T00:00:00Z", {}, {}, {}, 1, R"({"device": {"os": "ios"}})"),
          MakeEvent("p2", "u2", "view", "2024-01-01T00:00:00Z", {}, {}, {}, 1, R"({"device": {"os": "android"}})"),
          MakeEvent("p3", "u3", "view", "2024-01-01T00:00:00Z", {}, {}, {}, 1, R"({"device": {"os": "ios"}})")});
  auto rows = Run(ojson::parse(R"([{"$match": {"properties.device.os": "ios"}}, {"$count": "n"}])"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], json::parse(R"({"n": 2})"));
}

// Through the checked plan: Pipeline::ParseText → ToMongoOrdered → the aggregate command.
TEST_F(MongoEventStoreTest, CheckedPipelinesRunAsTheAggregateCommand) {
  SeedShop();
  auto run = [&](std::string_view text) {
    auto pipeline = events::Pipeline::ParseText(text);
    EXPECT_TRUE(pipeline.ok()) << pipeline.error().client_message;
    if (!pipeline.ok()) return std::vector<json>{};
    auto rows = store_->Aggregate(*pipeline, {});
    EXPECT_TRUE(rows.ok()) << rows.error().internal_message;
    return rows.ok() ? *rows : std::vector<json>{};
  };
  // Several sort keys: their written order decides ({total: -1} first).
  auto totals = run(R"([{"$match": {"type": "purchase", "ts": {"$gte": "2024-01-01T11:00:00Z"}}},
                        {"$group": {"_id": "$user_id", "total": {"$sum": "$price"}, "n": {"$sum": 1}}},
                        {"$sort": {"total": -1, "_id": 1}}])");
  ASSERT_EQ(totals.size(), 2u);
  EXPECT_EQ(totals[0], json::parse(R"({"_id": "u2", "total": 30.0, "n": 1})"));
  EXPECT_EQ(totals[1], json::parse(R"({"_id": "u1", "total": 15.5, "n": 2})"));

  auto latest = run(R"([{"$match": {"user_id": "u1"}}, {"$sort": {"ts": -1}}, {"$limit": 2}])");
  ASSERT_EQ(latest.size(), 2u);
  EXPECT_EQ(latest[0]["event_id"], "e5");
  EXPECT_EQ(latest[0]["ts"], "2024-01-03T12:00:00Z");
  EXPECT_FALSE(latest[0].contains("_id"));
  EXPECT_EQ(latest[1]["event_id"], "e2");

  auto projected = run(R"([{"$match": {"event_id": "e4"}}, {"$project": {"event_id": 1, "price": 1}}])");
  ASSERT_EQ(projected.size(), 1u);
  EXPECT_EQ(projected[0], json::parse(R"({"event_id": "e4", "price": 30.0})"));

  auto counted = run(R"([{"$match": {"category": {"$in": ["books", "games"]}, "price": {"$exists": true}}},
                         {"$count": "n"}])");
  ASSERT_EQ(counted.size(), 1u);
  EXPECT_EQ(counted[0], json::parse(R"({"n": 3})"));
}

TEST_F(MongoEventStoreTest, AggregatePastMaxRowsIsResourceExhausted) {
  SeedShop();
  EXPECT_EQ(Run(ojson::parse(R"([{"$sort": {"_id": 1}}])"), {.max_rows = 5}).size(), 5u);
  auto r = mongo_->AggregateMongoPipeline(ojson::parse(R"([{"$sort": {"_id": 1}}])"), {.max_rows = 4});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
}

TEST_F(MongoEventStoreTest, ConcurrentAppendsAndReadsShareThePool) {
  constexpr int kThreads = 6, kBatches = 10, kPerBatch = 25;
  std::vector<std::thread> threads;
  std::atomic<std::size_t> accepted{0}, failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<Event> batch;
        for (int i = 0; i < kPerBatch; ++i)
          batch.push_back(MakeEvent(fmt::format("c-{}-{}", b, i), fmt::format("u{}", i % 5), "view",
                                    "2024-01-01T00:00:00Z"));
        // Every thread sends the same events: each is stored once.
        auto r = store_->Append(batch);
        if (!r.ok()) {
          ++failures;
          continue;
        }
        accepted += r->accepted;
        if (!store_->UserEvents({.user_id = fmt::format("u{}", t % 5)}).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(accepted.load(), static_cast<std::size_t>(kBatches * kPerBatch));
  EXPECT_EQ(*store_->Count(), kBatches * kPerBatch);
}

// ---- without a server --------------------------------------------------------------------------------------

TEST(MongoEventStoreOpenTest, MalformedUrlIsInvalidArgument) {
  auto r = OpenMongoEventStore("postgres://nope", 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST(MongoEventStoreOpenTest, DeadServerIsUnavailableWithinTheDefaultSelectionTimeout) {
  // Port 1 on the loopback: nothing listens, connections are refused.
  auto opened = OpenMongoEventStore("mongodb://127.0.0.1:1/cohort?directConnection=true", 2);
  ASSERT_TRUE(opened.ok()) << opened.error().internal_message;  // connecting is lazy
  const auto start = std::chrono::steady_clock::now();
  auto ping = (*opened)->Ping();
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(ping.ok());
  EXPECT_EQ(ping.error().code, ErrorCode::kUnavailable) << ping.error().internal_message;
  const std::vector<Event> batch = {MakeEvent("z", "u", "view", "2024-01-01T00:00:00Z")};
  auto appended = (*opened)->Append(batch);
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().code, ErrorCode::kUnavailable);
  // The store's 3 s default, not libmongoc's 30 s: a functional check of the default, with a wide margin.
  EXPECT_LT(waited, std::chrono::seconds(20));
}

}  // namespace
}  // namespace cohort::store
