// The retry decision shared by every backend, topic matching as a RabbitMQ topic exchange does it, and the
// messages that domain writes cause.

#include "queue/retry_policy.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "domain/messages.hpp"
#include "queue/message_queue.hpp"

namespace cohort::queue {
namespace {

using std::chrono::milliseconds;

TEST(RetryPolicyTest, BackoffDoublesWithJitterInTheUpperHalfAndStopsAtTheCap) {
  const RetryPolicy policy{
      .max_attempts = 10, .base_delay = milliseconds(100), .max_delay = milliseconds(1000)};
  std::mt19937_64 random(42);
  for (int attempt = 1; attempt <= 8; ++attempt) {
    const std::int64_t whole = std::min<std::int64_t>(100LL << (attempt - 1), 1000);
    std::int64_t low = whole, high = 0;
    for (int i = 0; i < 500; ++i) {
      const auto d = BackoffDelay(policy, attempt, random).count();
      low = std::min(low, d);
      high = std::max(high, d);
    }
    EXPECT_GE(low, whole / 2) << "attempt " << attempt;
    EXPECT_LE(high, whole) << "attempt " << attempt;
    EXPECT_LT(low, high) << "no jitter at attempt " << attempt;
  }
}

TEST(RetryPolicyTest, ZeroBaseMeansNoDelay) {
  std::mt19937_64 random(1);
  EXPECT_EQ(BackoffDelay({.max_attempts = 3, .base_delay = milliseconds(0), .max_delay = milliseconds(0)}, 3,
                         random),
            milliseconds(0));
}

TEST(RetryPolicyTest, DecisionFollowsTheOutcomeAndTheAttemptCount) {
  const RetryPolicy policy{.max_attempts = 3, .base_delay = milliseconds(10), .max_delay = milliseconds(100)};
  std::mt19937_64 random(7);
  EXPECT_EQ(Decide(policy, 1, HandlerResult::Ack(), random).settlement, Settlement::kAck);
  EXPECT_EQ(Decide(policy, 1, HandlerResult::Reject("bad"), random).settlement, Settlement::kDeadLetter);
  const Decision first = Decide(policy, 1, HandlerResult::Retry("later"), random);
  EXPECT_EQ(first.settlement, Settlement::kRetry);
  EXPECT_GE(first.delay, milliseconds(5));
  EXPECT_LE(first.delay, milliseconds(10));
  EXPECT_EQ(Decide(policy, 2, HandlerResult::Retry("later"), random).settlement, Settlement::kRetry);
  EXPECT_EQ(Decide(policy, 3, HandlerResult::Retry("later"), random).settlement, Settlement::kDeadLetter);
}

TEST(RetryPolicyTest, ErrorsThatMayPassAreRetriedTheOthersRejected) {
  EXPECT_EQ(HandlerResult::FromError(Error::Unavailable("down")).outcome, Outcome::kRetry);
  EXPECT_EQ(HandlerResult::FromError({ErrorCode::kDeadlineExceeded, "slow", {}}).outcome, Outcome::kRetry);
  EXPECT_EQ(HandlerResult::FromError(Error::Internal("bug")).outcome, Outcome::kRetry);
  EXPECT_EQ(HandlerResult::FromError(Error::InvalidArgument("bad")).outcome, Outcome::kReject);
  EXPECT_EQ(
      HandlerResult::FromError({ErrorCode::kFailedPrecondition, "the webhook answered 404", {}}).outcome,
      Outcome::kReject);
  EXPECT_EQ(HandlerResult::FromError(Error::Unavailable("socket closed")).error,
            "a backing store is unavailable: socket closed");
}

TEST(TopicMatchesTest, WordsStarAndHashAsOnATopicExchange) {
  EXPECT_TRUE(TopicMatches("user.created", "user.created"));
  EXPECT_FALSE(TopicMatches("user.created", "user.deleted"));
  EXPECT_TRUE(TopicMatches("user.*", "user.created"));
  EXPECT_FALSE(TopicMatches("user.*", "user.created.late"));
  EXPECT_FALSE(TopicMatches("user.*", "user"));
  EXPECT_TRUE(TopicMatches("#", "anything.at.all"));
  EXPECT_TRUE(TopicMatches("user.#", "user"));
  EXPECT_TRUE(TopicMatches("user.#", "user.a.b"));
  EXPECT_TRUE(TopicMatches("#.served", "recommendation.served"));
  EXPECT_TRUE(TopicMatches("*.*.x", "a.b.x"));
  EXPECT_FALSE(TopicMatches("*.x", "a.b.x"));
  EXPECT_FALSE(TopicMatches("user.created", "user.createdx"));
}

TEST(DomainMessagesTest, EventIngestedSumsTheStoredEventsPerUser) {
  std::vector<domain::Event> events(4);
  events[0] = {.event_id = "1", .user_id = "a", .type = "view", .ts_micros = 5};
  events[1] = {
      .event_id = "2", .user_id = "b", .type = "purchase", .price = 2.5, .quantity = 2, .ts_micros = 9};
  events[2] = {.event_id = "3", .user_id = "a", .type = "purchase", .price = 10, .ts_micros = 3};
  events[3] = {.event_id = "4", .user_id = "a", .type = "purchase", .ts_micros = 7};  // no price
  const auto messages = domain::EventIngestedMessages(events);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].type, "event.ingested");
  EXPECT_EQ(
      nlohmann::json::parse(messages[0].payload),
      nlohmann::json::parse(R"({"user_id":"a","events":3,"purchases":2,"revenue":10.0,"last_ts_micros":7})"));
  EXPECT_EQ(
      nlohmann::json::parse(messages[1].payload),
      nlohmann::json::parse(R"({"user_id":"b","events":1,"purchases":1,"revenue":5.0,"last_ts_micros":9})"));
  EXPECT_TRUE(domain::EventIngestedMessages({}).empty());
}

}  // namespace
}  // namespace cohort::queue
