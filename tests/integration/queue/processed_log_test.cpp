// Pruning of processed-message records (queue/processed_log.hpp): ProcessedLog::Prune on SQLite and
// PostgreSQL (COHORT_TEST_POSTGRES_URL; the case fails without it), and the consumer runtime doing it on its
// own, batch after batch, with the retention it is given.

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "integration/backend_fixture.hpp"
#include "integration/queue/queue_backends.hpp"
#include "queue/consumer_runtime.hpp"
#include "queue/dead_letter_table.hpp"
#include "queue/sqlite/sqlite_queue.hpp"

namespace cohort::testing {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

// The test's own clock reading, so that every age is exact.
const Clock::time_point kNow = Clock::now();

class ProcessedLogTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      const std::string url = TestPostgresUrl();
      if (url.empty()) return;
      schema_ = std::make_unique<PostgresSchema>(url);
      auto db = store::sql::OpenPostgres(schema_->url(), 2);
      ASSERT_TRUE(db) << db.error().internal_message;
      db_ = std::move(db).value();
    } else {
      auto db = store::sql::OpenSqlite(dir_.path() + "/cohort.db", 2);
      ASSERT_TRUE(db) << db.error().internal_message;
      db_ = std::move(db).value();
    }
    ASSERT_TRUE(store::Outbox(*db_).Migrate());
    log_ = std::make_unique<queue::ProcessedLog>(*db_);
  }

  void RecordAt(const std::string& consumer, const std::string& id, Clock::time_point at) {
    auto lease = db_->Acquire();
    ASSERT_TRUE(lease);
    ASSERT_TRUE((*lease)->Execute(
        "INSERT INTO processed_messages (consumer, message_id, processed_at_ms) VALUES ($1, $2, $3)",
        std::vector<store::sql::Value>{consumer, id, queue::ToMillis(at)}));
  }

  std::set<std::string> Ids() {
    auto lease = db_->Acquire();
    EXPECT_TRUE(lease);
    std::set<std::string> ids;
    if (!lease) return ids;
    auto rows = (*lease)->Execute("SELECT consumer, message_id FROM processed_messages");
    EXPECT_TRUE(rows);
    for (std::size_t r = 0; rows && r < rows->size(); ++r)
      ids.insert(rows->Text(r, 0) + "/" + rows->Text(r, 1));
    return ids;
  }

  TempDir dir_;
  std::unique_ptr<PostgresSchema> schema_;
  std::unique_ptr<store::sql::Database> db_;
  std::unique_ptr<queue::ProcessedLog> log_;
};

TEST_P(ProcessedLogTest, PruneDeletesOnlyRecordsOlderThanTheCutoff) {
  ASSERT_TRUE(log_);
  RecordAt("a", "old", kNow - hours(3));
  RecordAt("b", "old", kNow - hours(2));
  RecordAt("a", "at-cutoff", kNow - hours(1));
  RecordAt("a", "young", kNow - minutes(30));
  auto pruned = log_->Prune(kNow - hours(1), 100);
  ASSERT_TRUE(pruned) << pruned.error().internal_message;
  EXPECT_EQ(*pruned, 2u);
  EXPECT_EQ(Ids(), (std::set<std::string>{"a/at-cutoff", "a/young"}));
  auto gone = log_->Contains("b", "old");
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone);
  auto again = log_->Prune(kNow - hours(1), 100);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0u);
}

TEST_P(ProcessedLogTest, PruneTakesAtMostTheLimitOldestFirst) {
  ASSERT_TRUE(log_);
  for (int i = 0; i < 5; ++i) RecordAt("c", fmt::format("m{}", i), kNow - hours(10 - i));
  auto first = log_->Prune(kNow, 2);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 2u);
  EXPECT_EQ(Ids(), (std::set<std::string>{"c/m2", "c/m3", "c/m4"}));
  auto second = log_->Prune(kNow, 2);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, 2u);
  auto third = log_->Prune(kNow, 2);
  ASSERT_TRUE(third);
  EXPECT_EQ(*third, 1u);
  EXPECT_TRUE(Ids().empty());
  auto none = log_->Prune(kNow, 0);
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);
}

// A batch claim answers per message: claimed now, recorded before (by any path), or a repeat within the batch;
// more messages than one statement holds (InsertRows splits them) keep their answers in order.
TEST_P(ProcessedLogTest, ClaimAllInAnswersForEachMessageInOrder) {
  ASSERT_TRUE(log_);
  ASSERT_TRUE(log_->Record("imp", "m3"));
  RecordAt("other", "m4", kNow);  // another consumer's record does not count
  std::vector<std::string> ids;
  for (int i = 0; i < 300; ++i) ids.push_back(fmt::format("m{}", i));
  ids.push_back("m7");  // a repeat of an id earlier in the batch
  const std::vector<std::string_view> views(ids.begin(), ids.end());
  auto claimed = db_->InTransaction<std::vector<bool>>([&](store::sql::Connection& conn) {
    return queue::ProcessedLog::ClaimAllIn(conn, "imp", views);
  });
  ASSERT_TRUE(claimed) << claimed.error().internal_message;
  ASSERT_EQ(claimed->size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i)
    EXPECT_EQ((*claimed)[i], i != 3 && i != 300) << ids[i] << " at " << i;
  auto again = db_->InTransaction<std::vector<bool>>([&](store::sql::Connection& conn) {
    return queue::ProcessedLog::ClaimAllIn(conn, "imp", std::span(views.data(), 2));
  });
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, (std::vector<bool>{false, false}));
  EXPECT_EQ(Ids().size(), 301u) << "299 claims, the earlier record of m3 and the other consumer's m4";
}

INSTANTIATE_TEST_SUITE_P(Databases, ProcessedLogTest, ::testing::Values("sqlite", "postgres"),
                         BackendName);

// The runtime prunes while it consumes: records older than its retention go, batch after batch (more than one
// batch here), younger ones stay, and a retention of 0 keeps everything.
class RuntimePruningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::sql::OpenSqlite(dir_.path() + "/cohort.db", 4);
    ASSERT_TRUE(db) << db.error().internal_message;
    db_ = std::move(db).value();
    ASSERT_TRUE(store::Outbox(*db_).Migrate());
    log_ = std::make_unique<queue::ProcessedLog>(*db_);
    auto q = queue::OpenSqliteQueue({.path = dir_.path() + "/queue.db"});
    ASSERT_TRUE(q) << q.error().internal_message;
    queue_ = std::move(q).value();
    // Old records, in one transaction (a row each would take long on a shared machine).
    ASSERT_TRUE(db_->InTransaction<void>([](store::sql::Connection& conn) -> Result<void> {
      for (int i = 0; i < kOld; ++i) {
        COHORT_TRY(conn.Execute(
            "INSERT INTO processed_messages (consumer, message_id, processed_at_ms) VALUES ('x', $1, $2)",
            std::vector<store::sql::Value>{fmt::format("old{}", i),
                                           queue::ToMillis(kNow - hours(48) + std::chrono::seconds(i))}));
      }
      return {};
    }));
    ASSERT_TRUE(log_->Record("x", "fresh"));
  }

  std::int64_t Count() {
    auto lease = db_->Acquire();
    EXPECT_TRUE(lease);
    if (!lease) return -1;
    auto rows = (*lease)->Execute("SELECT COUNT(*) FROM processed_messages");
    EXPECT_TRUE(rows);
    return rows ? rows->Int(0, 0) : -1;
  }

  // Runs a runtime with `retention` over one consumer until it has handled one message, and returns its
  // totals.
  queue::RuntimeTotals RunUntilOneIsHandled(hours retention) {
    class Acker final : public queue::Consumer {
     public:
      const queue::QueueSpec& spec() const override { return spec_; }
      queue::HandlerResult Handle(const queue::Delivery&) override { return queue::HandlerResult::Ack(); }

     private:
      queue::QueueSpec spec_{"pruning", {"pruning.thing"}};
    };
    auto consumer = std::make_shared<Acker>();
    EXPECT_TRUE(queue_->DeclareQueue(consumer->spec()));
    const queue::OutgoingMessage message{"p1", "pruning.thing", "{}"};
    EXPECT_TRUE(queue_->Publish(std::span(&message, 1)));
    queue::RuntimeOptions options;
    options.poll = std::chrono::milliseconds(20);
    options.processed_retention = retention;
    options.prune_interval = std::chrono::hours(1);  // so that only full batches bring the next turn soon
    queue::ConsumerRuntime runtime(*queue_, log_.get(), options);
    runtime.Add(consumer);
    runtime.Start();
    EXPECT_TRUE(Eventually([&] { return runtime.totals().acked == 1; }));
    if (retention.count() > 0) {
      EXPECT_TRUE(Eventually([&] { return runtime.totals().pruned == kOld; }));
    }
    runtime.Stop();  // joins the threads: every turn that started has finished
    return runtime.totals();
  }

  static constexpr int kOld = 2500;  // more than one batch of the runtime
  TempDir dir_;
  std::unique_ptr<store::sql::Database> db_;
  std::unique_ptr<queue::ProcessedLog> log_;
  std::unique_ptr<queue::MessageQueue> queue_;
};

TEST_F(RuntimePruningTest, PrunesRecordsOlderThanTheRetentionBatchAfterBatch) {
  const auto totals = RunUntilOneIsHandled(hours(24));
  EXPECT_EQ(totals.pruned, static_cast<std::uint64_t>(kOld));
  EXPECT_EQ(Count(), 2) << "the fresh record and the handled message's stay";
  auto fresh = log_->Contains("x", "fresh");
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(*fresh);
  auto handled = log_->Contains("pruning", "p1");
  ASSERT_TRUE(handled);
  EXPECT_TRUE(*handled);
}

TEST_F(RuntimePruningTest, RetentionZeroKeepsEveryRecord) {
  const auto totals = RunUntilOneIsHandled(hours(0));
  EXPECT_EQ(totals.pruned, 0u);
  EXPECT_EQ(Count(), kOld + 2);
}

}  // namespace
}  // namespace cohort::testing
