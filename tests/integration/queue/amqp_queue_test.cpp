// What only the RabbitMQ backend has: its topology on the broker, the headers and delay queues behind Retry
// and DeadLetter, failures when the broker is away or refuses the login, and recovery after a broker restart.
// Against the broker of scripts/test-services.sh; the behaviour both backends share is in the conformance
// suite.

#include "queue/amqp/amqp_queue.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <set>
#include <thread>

#include "integration/queue/amqp_broker.hpp"
#include "integration/queue/queue_backends.hpp"
#include "queue/amqp/amqp_connection.hpp"

namespace cohort::queue {
namespace {

using cohort::testing::BrokerLock;
using cohort::testing::TestAmqpUrl;
using cohort::testing::UniqueName;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// The error code of a failed call; nullopt when it succeeded.
template <typename T>
std::optional<ErrorCode> CodeOf(const Result<T>& result) {
  if (result) return std::nullopt;
  return result.error().code;
}

class AmqpQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (TestAmqpUrl().empty())
      GTEST_FAIL() << "COHORT_TEST_AMQP_URL is not set (scripts/test-services.sh env)";
    lock_ = std::make_unique<BrokerLock>(exclusive_);
    options_.url = TestAmqpUrl();
    // Delay queues: cohort.<q>.retry.1 with a TTL of 1 s, .retry.2 with 2 s.
    options_.retry = {.max_attempts = 3, .base_delay = milliseconds(1000), .max_delay = milliseconds(4000)};
    auto opened = OpenAmqpQueue(options_);
    ASSERT_TRUE(opened) << opened.error().internal_message;
    queue_ = std::move(opened).value();
    name_ = UniqueName("amqp_test_");
    type_ = fmt::format("{}.happened", name_);
    ASSERT_TRUE(queue_->DeclareQueue({name_, {type_}}));
  }

  OutgoingMessage Message(std::string id) { return {std::move(id), type_, R"({"n":1})"}; }

  std::optional<Delivery> NextWithin(Subscription& subscription, milliseconds total) {
    const auto until = SteadyClock::now() + total;
    while (SteadyClock::now() < until) {
      auto next = subscription.Next(milliseconds(200));
      if (!next) return std::nullopt;
      if (next->has_value()) return std::move(*next);
    }
    return std::nullopt;
  }

  // A raw connection, to look at the broker's side.
  std::unique_ptr<amqp::Connection> Raw() {
    auto endpoint = amqp::ParseAmqpUrl(TestAmqpUrl());
    EXPECT_TRUE(endpoint);
    auto conn = amqp::Connection::Open(*endpoint, {});
    EXPECT_TRUE(conn) << conn.error().internal_message;
    return std::move(conn).value();
  }

  bool exclusive_ = false;
  std::unique_ptr<BrokerLock> lock_;
  AmqpQueueOptions options_;
  std::unique_ptr<MessageQueue> queue_;
  std::string name_;
  std::string type_;
};

TEST_F(AmqpQueueTest, DeclaresTheDocumentedTopology) {
  auto raw = Raw();
  for (const std::string& queue : {amqp_names::WorkQueue(name_), amqp_names::RetryQueue(name_, 1),
                                   amqp_names::RetryQueue(name_, 2), amqp_names::DeadLetterQueue(name_)}) {
    EXPECT_TRUE(raw->InspectQueue(queue)) << queue;
  }
  // max_attempts 3: attempts 1 and 2 can be retried, the third one cannot.
  EXPECT_EQ(CodeOf(raw->InspectQueue(amqp_names::RetryQueue(name_, 3))), ErrorCode::kNotFound);
  // The refused passive declare closed the channel only: the connection goes on.
  EXPECT_TRUE(raw->InspectQueue(amqp_names::WorkQueue(name_)));
  // The delay queue's TTL is part of its declaration: declaring it with another one is refused.
  auto other_ttl = raw->DeclareQueue(amqp_names::RetryQueue(name_, 1),
                                     {{"x-message-ttl", std::int64_t{999}},
                                      {"x-dead-letter-exchange", std::string{}},
                                      {"x-dead-letter-routing-key", amqp_names::WorkQueue(name_)}});
  EXPECT_EQ(CodeOf(other_ttl), ErrorCode::kFailedPrecondition);
}

TEST_F(AmqpQueueTest, RetriedCopyWaitsInItsDelayQueueThenReturnsWithHeaders) {
  const OutgoingMessage message = Message("m-retry");
  ASSERT_TRUE(queue_->Publish({&message, 1}));
  auto subscription = queue_->Subscribe(name_, 4);
  ASSERT_TRUE(subscription) << subscription.error().internal_message;
  auto first = NextWithin(**subscription, milliseconds(5000));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->attempt, 1);
  EXPECT_EQ(first->type, type_);

  const auto retried_at = SteadyClock::now();
  ASSERT_TRUE((*subscription)->Retry(*first, milliseconds(800), "backend busy"));
  // While it waits, it is in the first delay queue (unless this machine took 800 ms to get here).
  auto stats = queue_->Stats();
  ASSERT_TRUE(stats);
  bool seen = false;
  for (const QueueStats& s : *stats) {
    if (s.queue != name_) continue;
    seen = true;
    if (SteadyClock::now() - retried_at < milliseconds(800)) {
      EXPECT_EQ(s.retrying, 1);
    }
    EXPECT_EQ(s.published_total, 1U);
    EXPECT_EQ(s.retried_total, 1U);
    EXPECT_EQ(s.dead_lettered, 0);
    EXPECT_EQ(s.in_flight, -1);
  }
  EXPECT_TRUE(seen);

  auto second = NextWithin(**subscription, milliseconds(5000));
  ASSERT_TRUE(second);
  EXPECT_GE(SteadyClock::now() - retried_at, milliseconds(800));  // the expiration is a lower bound
  EXPECT_EQ(second->id, "m-retry");
  EXPECT_EQ(second->attempt, 2);
  EXPECT_EQ(second->last_error, "backend busy");
  EXPECT_EQ(second->payload, message.payload);
  EXPECT_EQ(std::chrono::floor<milliseconds>(second->created_at),
            std::chrono::floor<milliseconds>(message.created_at));
  ASSERT_TRUE((*subscription)->Ack(*second));
}

TEST_F(AmqpQueueTest, DeadLetterCarriesErrorAndTimesAndIsReplayedByName) {
  // A second consumer bound to the same type must not get the replayed copy.
  const std::string other = UniqueName("amqp_other_");
  ASSERT_TRUE(queue_->DeclareQueue({other, {type_}}));
  const OutgoingMessage message = Message("m-dead");
  ASSERT_TRUE(queue_->Publish({&message, 1}));
  auto subscription = queue_->Subscribe(name_, 4);
  ASSERT_TRUE(subscription);
  auto delivery = NextWithin(**subscription, milliseconds(5000));
  ASSERT_TRUE(delivery);
  const auto first_attempt = Clock::now() - std::chrono::seconds(5);
  ASSERT_TRUE((*subscription)->DeadLetter(*delivery, {"invalid payload", first_attempt, Clock::now()}));

  auto letters = queue_->ListDeadLetters({name_, 10});
  ASSERT_TRUE(letters) << letters.error().internal_message;
  ASSERT_EQ(letters->size(), 1U);
  const DeadLetter& letter = letters->front();
  EXPECT_EQ(letter.queue, name_);
  EXPECT_EQ(letter.message_id, "m-dead");
  EXPECT_EQ(letter.type, type_);
  EXPECT_EQ(letter.error, "invalid payload");
  EXPECT_EQ(letter.attempts, 1);
  EXPECT_EQ(std::chrono::floor<milliseconds>(letter.first_attempt_at),
            std::chrono::floor<milliseconds>(first_attempt));
  // Listing put it back: it is still there.
  auto again = queue_->ListDeadLetters({name_, 10});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->size(), 1U);

  EXPECT_EQ(CodeOf(queue_->ReplayDeadLetter(name_ + "/no-such-key")), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf(queue_->ReplayDeadLetter("not an id")), ErrorCode::kNotFound);
  ASSERT_TRUE(queue_->ReplayDeadLetter(letter.id));
  auto replayed = NextWithin(**subscription, milliseconds(5000));
  ASSERT_TRUE(replayed);
  EXPECT_EQ(replayed->id, "m-dead");
  EXPECT_EQ(replayed->attempt, 1);
  EXPECT_TRUE(replayed->last_error.empty());
  ASSERT_TRUE((*subscription)->Ack(*replayed));
  EXPECT_TRUE(queue_->ListDeadLetters({name_, 10})->empty());
  EXPECT_EQ(CodeOf(queue_->DropDeadLetter(letter.id)), ErrorCode::kNotFound);

  // The other consumer got the original publish only.
  auto other_subscription = queue_->Subscribe(other, 4);
  ASSERT_TRUE(other_subscription);
  auto original = NextWithin(**other_subscription, milliseconds(5000));
  ASSERT_TRUE(original);
  ASSERT_TRUE((*other_subscription)->Ack(*original));
  EXPECT_FALSE(NextWithin(**other_subscription, milliseconds(500)));
}

TEST_F(AmqpQueueTest, WhatTheBrokerDeadLettersByItselfIsListedWithItsReason) {
  const OutgoingMessage message = Message("m-rejected");
  ASSERT_TRUE(queue_->Publish({&message, 1}));
  auto raw = Raw();
  auto got = raw->Get(amqp_names::WorkQueue(name_));
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->has_value());
  // basic.reject without requeue: the broker dead-letters it through the work queue's x-dead-letter-exchange.
  ASSERT_TRUE(raw->Reject((*got)->delivery_tag));

  std::optional<DeadLetter> letter;
  for (int i = 0; i < 50 && !letter; ++i) {  // the broker routes it asynchronously
    auto letters = queue_->ListDeadLetters({name_, 10});
    ASSERT_TRUE(letters);
    if (!letters->empty()) letter = letters->front();
    if (!letter) std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_TRUE(letter);
  EXPECT_EQ(letter->message_id, "m-rejected");
  EXPECT_EQ(letter->error, "dead-lettered by the broker (rejected)");
  EXPECT_EQ(letter->id, name_ + "/m-m-rejected");
  ASSERT_TRUE(queue_->DropDeadLetter(letter->id));
  EXPECT_TRUE(queue_->ListDeadLetters({name_, 10})->empty());
}

TEST_F(AmqpQueueTest, RefusedLoginAndBadUrlAreReportedAsSuch) {
  auto endpoint = amqp::ParseAmqpUrl(TestAmqpUrl());
  ASSERT_TRUE(endpoint);
  AmqpQueueOptions wrong = options_;
  wrong.url = fmt::format("amqp://guest:wrong-password@{}:{}/", endpoint->host, endpoint->port);
  auto opened = OpenAmqpQueue(wrong);
  ASSERT_TRUE(opened);
  EXPECT_EQ(CodeOf((*opened)->Ping()), ErrorCode::kUnauthenticated);

  AmqpQueueOptions bad = options_;
  bad.url = "http://example.com/";
  EXPECT_EQ(CodeOf(OpenAmqpQueue(bad)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(queue_->DeclareQueue({"bad name/with slash", {"x"}})), ErrorCode::kInvalidArgument);
}

// Stops and starts the broker: holds the broker lock exclusively.
class AmqpBrokerRestartTest : public AmqpQueueTest {
 protected:
  void SetUp() override {
    if (std::getenv("COHORT_TEST_RABBITMQ_CTL") == nullptr) {
      GTEST_FAIL() << "COHORT_TEST_RABBITMQ_CTL is not set (scripts/test-services.sh env)";
    }
    exclusive_ = true;
    AmqpQueueTest::SetUp();
  }
  void TearDown() override {
    if (stopped_) StartBroker();
  }
  void Stop() {
    ASSERT_TRUE(cohort::testing::StopBroker());
    stopped_ = true;
  }
  void Start() {
    ASSERT_TRUE(cohort::testing::StartBroker());
    stopped_ = false;
  }
  static bool StartBroker() { return cohort::testing::StartBroker(); }
  bool stopped_ = false;
};

TEST_F(AmqpBrokerRestartTest, PublishFailsAsUnavailableWhileTheBrokerIsAwayAndRecoversAfter) {
  const OutgoingMessage before = Message("m-before");
  ASSERT_TRUE(queue_->Publish({&before, 1}));
  auto subscription = queue_->Subscribe(name_, 4);
  ASSERT_TRUE(subscription);
  auto delivery = NextWithin(**subscription, milliseconds(5000));
  ASSERT_TRUE(delivery);  // held, not acked, when the broker goes away

  Stop();
  const OutgoingMessage during = Message("m-during");
  for (int i = 0; i < 3; ++i) {  // the stale connection, then the failed reconnect, then the backoff
    EXPECT_EQ(CodeOf(queue_->Publish({&during, 1})), ErrorCode::kUnavailable);
  }
  EXPECT_EQ(CodeOf(queue_->Ping()), ErrorCode::kUnavailable);
  // The subscription notices; its unsettled delivery cannot be acked any more.
  EXPECT_EQ(CodeOf((*subscription)->Next(milliseconds(2000))), ErrorCode::kUnavailable);
  EXPECT_FALSE((*subscription)->Ack(*delivery));
  subscription->reset();

  Start();
  // The publisher reconnects once its backoff (at most reconnect_max_delay) has passed.
  Result<void> published = Error::Unavailable("not tried");
  for (int i = 0; i < 100 && !published; ++i) {
    published = queue_->Publish({&during, 1});
    if (!published) std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_TRUE(published) << published.error().internal_message;

  // The unacked message survived the restart (durable queue, persistent message) and comes again, attempt 1.
  auto resubscribed = queue_->Subscribe(name_, 4);
  ASSERT_TRUE(resubscribed) << resubscribed.error().internal_message;
  std::set<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    auto got = NextWithin(**resubscribed, milliseconds(5000));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->attempt, 1);
    ids.insert(got->id);
    ASSERT_TRUE((*resubscribed)->Ack(*got));
  }
  EXPECT_EQ(ids, (std::set<std::string>{"m-before", "m-during"}));
}

}  // namespace
}  // namespace cohort::queue
