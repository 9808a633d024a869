// The embedded queue's batched acks (queue/sqlite/sqlite_queue.hpp): an ack counts, and leaves the queue,
// only once its window has committed; a process killed before that commit has its acked messages delivered
// again, one killed after it has them gone. The kills are real: a forked child takes and acks, then SIGKILLs
// itself.

#include "queue/sqlite/sqlite_queue.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "integration/queue/queue_backends.hpp"

namespace cohort::testing {
namespace {

using queue::Delivery;

constexpr std::string_view kQueue = "batched";
constexpr std::string_view kType = "batched.thing";

class SqliteQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    queue_ = Open();
    ASSERT_TRUE(queue_);
    ASSERT_TRUE(queue_->DeclareQueue({std::string(kQueue), {std::string(kType)}}));
  }

  // Another handle on the same file, as another process has.
  std::unique_ptr<queue::MessageQueue> Open() const {
    auto opened = queue::OpenSqliteQueue({.path = dir_.path() + "/queue.db",
                                          .visibility_timeout = kVisibility,
                                          .poll_interval = std::chrono::milliseconds(20),
                                          .ack_commit_delay = std::chrono::hours(1)});
    EXPECT_TRUE(opened) << opened.error().internal_message;
    return opened ? std::move(opened).value() : nullptr;
  }

  std::vector<std::string> Publish(int count) {
    std::vector<queue::OutgoingMessage> batch;
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
      batch.push_back({fmt::format("m{}", next_id_++), std::string(kType), "{}"});
      ids.push_back(batch.back().id);
    }
    EXPECT_TRUE(queue_->Publish(batch));
    return ids;
  }

  // Takes `count` deliveries (failing the test when they do not come).
  static std::vector<Delivery> Take(queue::Subscription& sub, std::size_t count) {
    std::vector<Delivery> got;
    for (int tries = 0; got.size() < count && tries < 100; ++tries) {
      auto next = sub.Next(std::chrono::milliseconds(100));
      if (!next) {
        ADD_FAILURE() << next.error().internal_message;
        break;
      }
      if (next->has_value()) got.push_back(std::move(**next));
    }
    EXPECT_EQ(got.size(), count);
    return got;
  }

  // A subscription of `queue_` with prefetch `prefetch`, and the first `count` deliveries it took (null when it
  // could not subscribe, a failure already).
  std::pair<std::unique_ptr<queue::Subscription>, std::vector<Delivery>> Holding(std::size_t prefetch,
                                                                                 std::size_t count) {
    auto sub = queue_->Subscribe(kQueue, prefetch);
    EXPECT_TRUE(sub);
    if (!sub) return {};
    auto taken = Take(**sub, count);
    return {std::move(sub).value(), std::move(taken)};
  }

  static queue::QueueStats StatsOf(queue::MessageQueue& q) {
    auto stats = q.Stats();
    EXPECT_TRUE(stats);
    if (stats) {
      for (const auto& s : *stats)
        if (s.queue == kQueue) return s;
    }
    ADD_FAILURE() << "no stats for the queue";
    return {};
  }

  // Runs `body` in a forked child, which must end by calling Crash() while its queue and subscription are
  // still alive (their destructors would commit); a body that returns instead (a failing step) exits with
  // status 1, which the caller sees as a failure.
  static void InKilledChild(const std::function<void()>& body) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      body();
      ::_exit(1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child failed before its kill, status " << status;
  }

  // Every message delivered to a fresh subscription until nothing more comes for longer than the visibility
  // timeout (acked, so each counts once).
  std::set<std::string> Remaining() {
    auto sub = queue_->Subscribe(kQueue, 16);
    EXPECT_TRUE(sub);
    std::set<std::string> ids;
    if (!sub) return ids;
    for (;;) {
      auto next = (*sub)->Next(kVisibility * 3);
      EXPECT_TRUE(next) << next.error().internal_message;
      if (!next || !next->has_value()) break;
      EXPECT_TRUE(ids.insert((*next)->id).second) << "delivered twice: " << (*next)->id;
      EXPECT_TRUE((*sub)->Ack(**next));
    }
    return ids;
  }

  static void Crash() { ::raise(SIGKILL); }

  static constexpr std::chrono::milliseconds kVisibility{400};
  TempDir dir_;
  std::unique_ptr<queue::MessageQueue> queue_;
  int next_id_ = 0;
};

TEST_F(SqliteQueueTest, AnAckCountsAndLeavesTheQueueOnlyOnceItsWindowCommitted) {
  Publish(4);
  auto [sub, window] = Holding(4, 4);
  ASSERT_EQ(window.size(), 4u);
  ASSERT_TRUE(sub->Ack(window[0]));
  ASSERT_TRUE(sub->Ack(window[1]));
  auto other = Open();  // what another process sees: the rows are still there, leased
  ASSERT_TRUE(other);
  EXPECT_EQ(StatsOf(*queue_).acked_total, 0u) << "an ack reported before it committed";
  EXPECT_EQ(StatsOf(*other).in_flight, 4);

  ASSERT_TRUE(sub->Ack(window[2]));
  ASSERT_TRUE(sub->Ack(window[3]));
  auto more = sub->Next(std::chrono::milliseconds(50));  // the window is used up: its acks commit
  ASSERT_TRUE(more);
  EXPECT_FALSE(more->has_value());
  EXPECT_EQ(StatsOf(*queue_).acked_total, 4u);
  EXPECT_EQ(StatsOf(*other).in_flight, 0);
  EXPECT_EQ(StatsOf(*other).ready, 0);
  auto again = sub->Ack(window[0]);
  ASSERT_FALSE(again) << "a delivery is settled once";
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(SqliteQueueTest, AcksNotCommittedAtACrashAreDeliveredAgainAndCommittedOnesAreNot) {
  Publish(6);
  // Prefetch 3: the first window is taken and acked, its acks commit when the second window is claimed; the
  // second window is taken and acked too (its ids written down), but the process dies before those acks
  // commit.
  const std::string second_window_file = dir_.path() + "/second-window";
  InKilledChild([&] {
    auto q = Open();
    if (!q) return;
    auto sub = q->Subscribe(kQueue, 3);
    if (!sub) return;
    std::ofstream second_window(second_window_file);
    for (int i = 0; i < 6; ++i) {
      auto next = (*sub)->Next(std::chrono::seconds(5));
      if (!next || !next->has_value() || !(*sub)->Ack(**next)) return;
      if (i >= 3) second_window << (*next)->id << "\n";
    }
    second_window.close();
    if (second_window.good()) Crash();
  });
  std::set<std::string> second_window;
  std::ifstream in(second_window_file);
  for (std::string id; std::getline(in, id);) second_window.insert(id);
  ASSERT_EQ(second_window.size(), 3u);
  EXPECT_EQ(Remaining(), second_window) << "exactly the window whose acks had not committed comes back";
}

TEST_F(SqliteQueueTest, AcksCommittedBeforeACrashStayDone) {
  Publish(3);
  InKilledChild([this] {
    auto q = Open();
    if (!q) return;
    auto sub = q->Subscribe(kQueue, 3);
    if (!sub) return;
    for (int i = 0; i < 3; ++i) {
      auto next = (*sub)->Next(std::chrono::seconds(5));
      if (!next || !next->has_value() || !(*sub)->Ack(**next)) return;
    }
    auto after = (*sub)->Next(std::chrono::milliseconds(10));  // commits the window's acks
    if (after && !after->has_value()) Crash();
  });
  EXPECT_TRUE(Remaining().empty());
}

// One commit deletes the acks of several claims (one statement per run of acks under the same lease, in any
// order), and an ack whose lease ran out, its row leased again by another consumer, deletes nothing.
TEST_F(SqliteQueueTest, AcksOfSeveralClaimsCommitTogetherAndOneWhoseLeaseRanOutDeletesNothing) {
  Publish(5);
  auto [sub, first] = Holding(4, 4);
  ASSERT_EQ(first.size(), 4u);
  ASSERT_TRUE(sub->Ack(first[0]));
  const auto second = Take(*sub, 1);  // commits that ack and leases the fifth message under a new token
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(StatsOf(*queue_).acked_total, 1u);

  std::this_thread::sleep_for(kVisibility + std::chrono::milliseconds(200));
  auto other = Open();
  ASSERT_TRUE(other);
  auto other_sub = other->Subscribe(kQueue, 1);
  ASSERT_TRUE(other_sub);
  const auto taken_over = Take(**other_sub, 1);  // the oldest lease that ran out: first[1]
  ASSERT_EQ(taken_over.size(), 1u);
  EXPECT_EQ(taken_over[0].id, first[1].id);

  for (const Delivery& d : {first[2], second[0], first[3], first[1]}) ASSERT_TRUE(sub->Ack(d));
  auto none = sub->Next(std::chrono::milliseconds(50));  // nothing left to hold: the acks commit
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(StatsOf(*queue_).acked_total, 4u) << "the ack of first[1] came after its lease was taken over";
  EXPECT_EQ(StatsOf(*other).in_flight, 1) << "first[1] is still leased to the other consumer";
  EXPECT_EQ(StatsOf(*other).ready, 0);

  ASSERT_TRUE((*other_sub)->Ack(taken_over[0]));
  ASSERT_TRUE((*other_sub)->Next(std::chrono::milliseconds(50)));
  EXPECT_EQ(StatsOf(*other).acked_total, 1u);
  EXPECT_TRUE(Remaining().empty());
}

TEST_F(SqliteQueueTest, ASlowHandlersAcksCommitAfterTheAckCommitDelay) {
  auto opened = queue::OpenSqliteQueue({.path = dir_.path() + "/queue.db",
                                        .visibility_timeout = std::chrono::seconds(30),
                                        .ack_commit_delay = std::chrono::milliseconds(0)});
  ASSERT_TRUE(opened);
  Publish(3);
  auto sub = (*opened)->Subscribe(kQueue, 3);
  ASSERT_TRUE(sub);
  auto first = Take(**sub, 1);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE((*sub)->Ack(first[0]));
  EXPECT_EQ(StatsOf(**opened).acked_total, 0u);
  ASSERT_EQ(Take(**sub, 1).size(), 1u);  // the window is not used up, but the ack is old enough
  EXPECT_EQ(StatsOf(**opened).acked_total, 1u);
  EXPECT_EQ(StatsOf(**opened).in_flight, 2);
}

}  // namespace
}  // namespace cohort::testing
