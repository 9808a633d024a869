// The impressions consumer (queue/consumers/consumers.hpp) on a real SQLite database: a batch of
// recommendation.served deliveries counts each served product, and each segment by its products, once; a
// delivery handled before counts nothing again; a payload that is not such a message is rejected and counts
// nothing.

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "integration/server_harness.hpp"
#include "queue/consumers/consumers.hpp"
#include "store/messaging/outbox.hpp"
#include "store/sql/database.hpp"

namespace cohort::testing {
namespace {

queue::Delivery Served(std::string id, std::string payload) {
  queue::Delivery d;
  d.id = std::move(id);
  d.type = "recommendation.served";
  d.payload = std::move(payload);
  d.queue = "impressions";
  return d;
}

// "scope:key" -> impressions.
std::map<std::string, std::int64_t> Counters(store::sql::Database& db) {
  std::map<std::string, std::int64_t> out;
  auto lease = db.Acquire();
  EXPECT_TRUE(lease);
  if (!lease) return out;
  auto rows = (*lease)->Execute("SELECT scope, key, impressions FROM impression_counters");
  EXPECT_TRUE(rows);
  if (!rows) return out;
  for (std::size_t r = 0; r < rows->size(); ++r) out[rows->Text(r, 0) + ":" + rows->Text(r, 1)] = rows->Int(r, 2);
  return out;
}

TEST(ImpressionCounterTest, CountsEachServedMessageOnceAndRejectsPayloadsThatAreNotOne) {
  TempDir dir;
  auto db = store::sql::OpenSqlite(dir.path() + "/cohort.db", 2);
  ASSERT_TRUE(db) << db.error().internal_message;
  ASSERT_TRUE(store::Outbox(**db).Migrate());
  auto counter = queue::MakeImpressionCounter(**db);

  const std::string first = R"({"user_id":"u1","segment":"VIP","product_ids":["p1","p2"]})";
  const std::vector<queue::Delivery> batch{
      Served("m1", first),
      Served("m2", R"({"user_id":"u2","product_ids":["p1"]})"),  // no segment: its products count
      Served("m3", "not JSON"),
      Served("m4", R"({"user_id":"","segment":"VIP","product_ids":["p1"]})"),
      Served("m5", R"({"user_id":"u3","segment":"VIP","product_ids":["p1",7]})"),
      Served("m6", R"({"user_id":"u3","segment":"VIP"})"),
      Served("m7", R"(["u3","VIP",["p1"]])"),
  };
  const auto results = counter->HandleBatch(batch);
  ASSERT_EQ(results.size(), batch.size());
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(results[i].outcome, queue::Outcome::kAck) << batch[i].payload << ": " << results[i].error;
    EXPECT_TRUE(results[i].recorded) << batch[i].payload;
  }
  for (std::size_t i = 2; i < batch.size(); ++i)
    EXPECT_EQ(results[i].outcome, queue::Outcome::kReject) << batch[i].payload;
  const std::map<std::string, std::int64_t> counted{{"product:p1", 2}, {"product:p2", 1}, {"segment:VIP", 2}};
  EXPECT_EQ(Counters(**db), counted);

  // m1 again, as a redelivery brings it, beside a new message.
  const auto again = counter->HandleBatch(
      std::vector<queue::Delivery>{Served("m1", first),
                                   Served("m8", R"({"user_id":"u4","segment":"ACTIVE","product_ids":["p2"]})")});
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].outcome, queue::Outcome::kAck);
  EXPECT_EQ(again[1].outcome, queue::Outcome::kAck);
  const std::map<std::string, std::int64_t> recounted{
      {"product:p1", 2}, {"product:p2", 2}, {"segment:VIP", 2}, {"segment:ACTIVE", 1}};
  EXPECT_EQ(Counters(**db), recounted);
}

}  // namespace
}  // namespace cohort::testing
