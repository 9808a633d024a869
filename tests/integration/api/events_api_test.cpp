// The event API against the real binary, with events on SQLite, PostgreSQL and MongoDB (the CongoDB
// wire-compatible test peer, not mongod): ingestion answers, idempotency, mixed batches, NDJSON, history,
// aggregation (good and bad pipelines) and the named analytics.

#include <fmt/format.h>

#include "integration/backend_fixture.hpp"
#include "integration/store/mongo_test_database.hpp"

namespace cohort::testing {
namespace {

using nlohmann::json;

class EventsApiTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (HasFatalFailure()) return;
    NameValues env = ServerEnv();
    if (GetParam() == "mongo") {
      mongo_ = std::make_unique<MongoTestDatabase>();
      ASSERT_FALSE(mongo_->url().empty());
      mongo_->store().reset();
      env.emplace_back("COHORT_MONGO_URL", mongo_->url());
    }
    server_ = std::make_unique<ServerProcess>(ServerProcess::Options{.args = {}, .env = env, .data_dir = {}});
    auto user = server_->Post("/api/users", R"({"id":"u1","name":"Olena","email":"o@x.io","address":{"street":"1 A St",
        "postal_code":"01001","city":"Kyiv","country":"UA","country_name":"Ukraine"}})");
    ASSERT_EQ(user.status, 201) << user.body;
  }
  void TearDown() override {
    server_.reset();  // the server closes its connections before the database is dropped
    mongo_.reset();
  }
  HttpResult Ingest(const std::string& body, NameValues headers = {}) {
    return server_->Post("/api/events", body, std::move(headers));
  }

  std::unique_ptr<MongoTestDatabase> mongo_;
  std::unique_ptr<ServerProcess> server_;
};

const char* kBatch = R"([
  {"event_id":"e1","user_id":"u1","type":"view","product_id":"p1","category":"books","price":10,"ts":"2026-03-01T10:00:00Z"},
  {"event_id":"e2","user_id":"u1","type":"purchase","product_id":"p1","category":"books","price":10,"quantity":2,"ts":"2026-03-01T10:05:00Z"},
  {"event_id":"e3","user_id":"u1","type":"purchase","product_id":"p2","category":"kitchen","price":30,"ts":"2026-03-02T09:00:00Z","properties":{"coupon":"SPRING","device":{"os":"android"}}},
  {"event_id":"e4","user_id":"ghost","type":"purchase","product_id":"p3","category":"kitchen","price":5,"ts":"2026-03-03T09:00:00+02:00"},
  {"event_id":"e5","user_id":"u1","type":"purchase","product_id":"p1","category":"books","price":10,"ts":"2026-01-15T00:00:00Z"}
])";

TEST_P(EventsApiTest, IngestIsIdempotentAndCountsUnknownUsers) {
  auto first = Ingest(kBatch);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.Json(), json::parse(R"({"accepted":5,"duplicates":0,"unknown_users":1,"rejected":[]})"));
  auto second = Ingest(kBatch);
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(second.Json()["accepted"], 0);
  EXPECT_EQ(second.Json()["duplicates"], 5);
  // Without an event_id, the same content is the same event.
  const std::string anonymous = R"({"user_id":"u1","type":"view","product_id":"p9","ts":"2026-03-05T00:00:00Z"})";
  EXPECT_EQ(Ingest(anonymous).Json()["accepted"], 1);
  EXPECT_EQ(Ingest(anonymous).Json()["duplicates"], 1);
}

TEST_P(EventsApiTest, MixedBatchStoresTheGoodAndReportsTheBadByIndex) {
  auto r = Ingest(R"([
    {"event_id":"g1","user_id":"u1","type":"view"},
    {"event_id":"b1","type":"view"},
    {"event_id":"g2","user_id":"u1","type":"purchase","price":3.5},
    {"event_id":"b2","user_id":"u1","type":"purchase","price":-3},
    {"event_id":"b3","user_id":"u1","type":"view","ts":"yesterday"},
    {"event_id":"b4","user_id":"u1","type":"view","quantity":0},
    {"event_id":"b5","user_id":"u1","type":"view","colour":"red"},
    "not an object",
    {"event_id":"b6","user_id":"u1","type":"view","properties":[1,2]}
  ])");
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = r.Json();
  EXPECT_EQ(body["accepted"], 2);
  std::vector<int> indexes;
  for (const auto& rejected : body["rejected"]) {
    indexes.push_back(rejected["index"]);
    EXPECT_EQ(rejected["error"]["code"], "invalid_argument");
  }
  EXPECT_EQ(indexes, (std::vector<int>{1, 3, 4, 5, 6, 7, 8}));
  EXPECT_NE(body["rejected"][0]["error"]["message"].get<std::string>().find("user_id"), std::string::npos);
  EXPECT_NE(body["rejected"][4]["error"]["message"].get<std::string>().find("colour"), std::string::npos);
  auto history = server_->Get("/api/users/u1/events").Json()["items"];
  EXPECT_EQ(history.size(), 2u);

  auto none = Ingest(R"([{"type":"view"}])");
  EXPECT_EQ(none.status, 400);
  EXPECT_EQ(none.Json()["error"]["code"], "invalid_argument");
  EXPECT_EQ(none.Json()["rejected"].size(), 1u);
  EXPECT_EQ(Ingest("{").status, 400);
  EXPECT_EQ(Ingest("42").status, 400);
  EXPECT_EQ(Ingest("[]").status, 400);
  const std::string big(33 * 1024, 'x');
  auto too_big = Ingest(fmt::format(R"({{"user_id":"u1","type":"view","properties":{{"blob":"{}"}}}})", big));
  EXPECT_EQ(too_big.status, 400);
}

TEST_P(EventsApiTest, NdjsonLinesAreIndexedByLine) {
  auto r = Ingest("{\"event_id\":\"n1\",\"user_id\":\"u1\",\"type\":\"view\"}\n"
                  "\n"
                  "{broken\n"
                  "{\"event_id\":\"n2\",\"user_id\":\"u1\",\"type\":\"add_to_cart\"}\n",
                  {{"Content-Type", "application/x-ndjson"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["accepted"], 2);
  ASSERT_EQ(r.Json()["rejected"].size(), 1u);
  EXPECT_EQ(r.Json()["rejected"][0]["index"], 2);
}

TEST_P(EventsApiTest, HistoryIsNewestFirstWithFilters) {
  ASSERT_EQ(Ingest(kBatch).status, 200);
  auto all = server_->Get("/api/users/u1/events").Json()["items"];
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0]["event_id"], "e3");
  EXPECT_EQ(all[0]["ts"], "2026-03-02T09:00:00Z");
  EXPECT_EQ(all[0]["properties"]["device"]["os"], "android");
  EXPECT_EQ(all[3]["event_id"], "e5");
  auto purchases = server_->Get("/api/users/u1/events?type=purchase&since=2026-02-01T00:00:00Z").Json()["items"];
  ASSERT_EQ(purchases.size(), 2u);
  EXPECT_EQ(purchases[1]["event_id"], "e2");
  EXPECT_EQ(purchases[1]["quantity"], 2);
  EXPECT_EQ(server_->Get("/api/users/u1/events?limit=1").Json()["items"].size(), 1u);
  EXPECT_EQ(server_->Get("/api/users/ghost/events").Json()["items"][0]["ts"], "2026-03-03T07:00:00Z");
  EXPECT_EQ(server_->Get("/api/users/u1/events?since=last-week").status, 400);
}

TEST_P(EventsApiTest, AggregateAndNamedAnalytics) {
  ASSERT_EQ(Ingest(kBatch).status, 200);
  auto revenue = server_->Get("/api/analytics/revenue-by-category");
  ASSERT_EQ(revenue.status, 200) << revenue.body;
  EXPECT_EQ(revenue.Json(), json::parse(R"([{"category":"kitchen","count":2,"total":35.0},
                                            {"category":"books","count":2,"total":30.0}])"));
  auto since = server_->Get("/api/analytics/revenue-by-category?since=2026-02-01T00:00:00Z").Json();
  ASSERT_EQ(since.size(), 2u);
  EXPECT_EQ(since[0]["category"], "kitchen");
  EXPECT_DOUBLE_EQ(since[0]["total"].get<double>(), 35.0);
  EXPECT_DOUBLE_EQ(since[1]["total"].get<double>(), 20.0);

  auto top = server_->Get("/api/analytics/top-products?limit=2").Json();
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0]["product_id"], "p1");
  EXPECT_EQ(top[0]["events"], 2);
  EXPECT_EQ(top[0]["quantity"], 3);
  auto kitchen_views = server_->Get("/api/analytics/top-products?type=view&category=books").Json();
  ASSERT_EQ(kitchen_views.size(), 1u);
  EXPECT_EQ(kitchen_views[0]["product_id"], "p1");

  auto agg = server_->Post("/api/analytics/aggregate", R"({"pipeline":[
      {"$match":{"type":"purchase","properties.coupon":{"$exists":false}}},
      {"$group":{"_id":"$user_id","n":{"$sum":1},"spent":{"$sum":{"$multiply":["$price","$quantity"]}}}},
      {"$sort":{"spent":-1,"_id":1}}]})");
  ASSERT_EQ(agg.status, 200) << agg.body;
  EXPECT_EQ(agg.Json()["results"], json::parse(R"([{"_id":"u1","n":2,"spent":30.0},{"_id":"ghost","n":1,"spent":5.0}])"));
}

TEST_P(EventsApiTest, BadPipelinesAre400AndNothingRuns) {
  ASSERT_EQ(Ingest(kBatch).status, 200);
  const std::vector<std::string> bad = {
      R"x({"pipeline":[{"$where":"sleep(1000)"}]})x",
      R"({"pipeline":[{"$lookup":{"from":"users","localField":"user_id","foreignField":"_id","as":"u"}}]})",
      R"({"pipeline":[{"$out":"stolen"}]})",
      R"({"pipeline":[{"$merge":{"into":"x"}}]})",
      R"({"pipeline":[{"$match":{"$where":"1"}}]})",
      R"({"pipeline":[{"$group":{"_id":null,"x":{"$function":{"body":"","args":[],"lang":"js"}}}}]})",
      R"({"pipeline":[{"$match":{"price":{"$regex":"1"}}}]})",
      R"({"pipeline":[{"$limit":0}]})",
      R"({"pipeline":{"$match":{}}})",
      R"({"pipeline":[{"$match":{"a;drop table events":1}}]})",
      R"({"pipelines":[]})",
  };
  for (const auto& body : bad) {
    auto r = server_->Post("/api/analytics/aggregate", body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    EXPECT_EQ(r.Json()["error"]["code"], "invalid_argument") << body;
  }
  auto named = server_->Post("/api/analytics/aggregate", R"({"pipeline":[{"$match":{}},{"$bogus":1}]})");
  EXPECT_NE(named.Json()["error"]["message"].get<std::string>().find("stage 1"), std::string::npos) << named.body;
  // The events are still all there.
  EXPECT_EQ(server_->Get("/api/users/u1/events").Json()["items"].size(), 4u);
}

INSTANTIATE_TEST_SUITE_P(Backends, EventsApiTest, ::testing::Values("sqlite", "postgres", "mongo"), BackendName);

// The result limit: a pipeline whose result is larger than pipeline.max_rows is refused, not cut short.
TEST(EventsApiLimitsTest, ResultLargerThanTheLimitIs422) {
  ServerProcess server({.args = {}, .env = {{"COHORT_PIPELINE_MAX_ROWS", "3"}}, .data_dir = {}});
  std::string batch = "[";
  for (int i = 0; i < 5; ++i)
    batch += fmt::format(R"({}{{"event_id":"x{}","user_id":"u{}","type":"view"}})", i ? "," : "", i, i);
  batch += "]";
  ASSERT_EQ(server.Post("/api/events", batch).status, 200);
  auto over = server.Post("/api/analytics/aggregate", R"({"pipeline":[{"$match":{}}]})");
  EXPECT_EQ(over.status, 422) << over.body;
  EXPECT_EQ(over.Json()["error"]["code"], "resource_exhausted");
  auto under = server.Post("/api/analytics/aggregate", R"({"pipeline":[{"$limit":3}]})");
  EXPECT_EQ(under.status, 200) << under.body;
  EXPECT_EQ(under.Json()["results"].size(), 3u);
}

}  // namespace
}  // namespace cohort::testing
