// The MessageQueue contract (queue/message_queue.hpp) and the consumer runtime (queue/consumer_runtime.hpp),
// on every backend: round trip, topic routing, retry then success, retry exhaustion into the dead-letter
// queue, replay and drop, redelivery of what a dead consumer held, duplicates dropped by processed-message
// records, batches of the deliveries at hand, and batches gathered over a consumer's linger.

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "integration/queue/queue_backends.hpp"
#include "queue/consumer_runtime.hpp"

namespace cohort::testing {
namespace {

using queue::Delivery;
using queue::HandlerResult;

class QueueConformanceTest : public QueueBackendTest {
 protected:
  // Takes deliveries until `count` arrived (acking each) or nothing came for a while.
  std::vector<Delivery> Drain(queue::Subscription& sub, std::size_t count) {
    std::vector<Delivery> got;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (got.size() < count && std::chrono::steady_clock::now() < until) {
      auto next = sub.Next(std::chrono::milliseconds(200));
      if (!next) {
        ADD_FAILURE() << "Next: " << next.error().client_message << " " << next.error().internal_message;
        return got;
      }
      if (!next->has_value()) continue;
      EXPECT_TRUE(sub.Ack(**next));
      got.push_back(std::move(**next));
    }
    return got;
  }

  queue::RuntimeOptions FastRetries(int max_attempts) const {
    queue::RuntimeOptions options;
    options.retry = {.max_attempts = max_attempts,
                     .base_delay = std::chrono::milliseconds(20),
                     .max_delay = std::chrono::milliseconds(200)};
    options.poll = std::chrono::milliseconds(50);
    return options;
  }

  std::vector<queue::DeadLetter> DeadLetters(const std::string& queue_name) {
    auto letters = queue_->ListDeadLetters({.queue = queue_name, .limit = 100});
    EXPECT_TRUE(letters) << letters.error().internal_message;
    return letters ? *letters : std::vector<queue::DeadLetter>{};
  }
};

// A consumer whose behaviour the test sets; counts calls per message id and remembers each delivery.
class ScriptedConsumer final : public queue::Consumer {
 public:
  using Script = std::function<HandlerResult(const Delivery&, int call)>;
  ScriptedConsumer(std::string queue_name, std::vector<std::string> bindings, Script script)
      : spec_{std::move(queue_name), std::move(bindings)}, script_(std::move(script)) {}

  const queue::QueueSpec& spec() const override { return spec_; }
  HandlerResult Handle(const Delivery& d) override {
    int call = 0;
    {
      std::lock_guard lock(mutex_);
      call = ++calls_[d.id];
      seen_.push_back(d);
    }
    return script_(d, call);
  }
  int Calls(const std::string& id) {
    std::lock_guard lock(mutex_);
    return calls_.count(id) ? calls_[id] : 0;
  }
  std::vector<Delivery> Seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  queue::QueueSpec spec_;
  Script script_;
  std::mutex mutex_;
  std::map<std::string, int> calls_;
  std::vector<Delivery> seen_;
};

TEST_P(QueueConformanceTest, RoundTripDeliversEveryMessageWithItsContent) {
  const std::string name = Queue("work");
  ASSERT_TRUE(queue_->DeclareQueue({name, {Type("thing")}}));
  std::vector<queue::OutgoingMessage> batch;
  for (int i = 0; i < 60; ++i) batch.push_back(Message(Type("thing"), i));
  ASSERT_TRUE(queue_->Publish(std::span(batch).first(30)));
  ASSERT_TRUE(queue_->Publish(std::span(batch).subspan(30)));

  auto sub = queue_->Subscribe(name, 8);
  ASSERT_TRUE(sub) << sub.error().internal_message;
  const auto got = Drain(**sub, batch.size());
  ASSERT_EQ(got.size(), batch.size());
  std::map<std::string, Delivery> by_id;
  for (const auto& d : got) EXPECT_TRUE(by_id.emplace(d.id, d).second) << "delivered twice: " << d.id;
  for (const auto& m : batch) {  // ordering is not part of the contract
    auto it = by_id.find(m.id);
    ASSERT_NE(it, by_id.end()) << m.id;
    EXPECT_EQ(it->second.type, m.type);
    EXPECT_EQ(it->second.payload, m.payload);
    EXPECT_EQ(it->second.queue, name);
    EXPECT_EQ(it->second.attempt, 1);
  }
  auto more = (*sub)->Next(std::chrono::milliseconds(300));
  ASSERT_TRUE(more);
  EXPECT_FALSE(more->has_value()) << "an acked message came back: " << (*more)->id;
}

TEST_P(QueueConformanceTest, RoutesByTopicPatternOneCopyPerQueue) {
  const std::string narrow = Queue("narrow");
  const std::string wide = Queue("wide");
  ASSERT_TRUE(queue_->DeclareQueue({narrow, {Type("a.*")}}));
  ASSERT_TRUE(
      queue_->DeclareQueue({wide, {prefix_ + ".#", Type("a.x")}}));  // two matching patterns: one copy
  const std::vector<queue::OutgoingMessage> batch = {Message(Type("a.x"), 1), Message(Type("b.y"), 2),
                                                     Message(Type("a.x.deeper"), 3)};
  ASSERT_TRUE(queue_->Publish(batch));

  auto narrow_sub = queue_->Subscribe(narrow, 8);
  auto wide_sub = queue_->Subscribe(wide, 8);
  ASSERT_TRUE(narrow_sub && wide_sub);
  auto wide_got = Drain(**wide_sub, 3);
  std::multiset<std::string> wide_ids;
  for (const auto& d : wide_got) wide_ids.insert(d.id);
  EXPECT_EQ(wide_ids, (std::multiset<std::string>{batch[0].id, batch[1].id, batch[2].id}));
  auto narrow_got = Drain(**narrow_sub, 1);
  ASSERT_EQ(narrow_got.size(), 1u);
  EXPECT_EQ(narrow_got[0].id, batch[0].id);
  for (auto* sub : {&**narrow_sub, &**wide_sub}) {
    auto more = sub->Next(std::chrono::milliseconds(300));
    ASSERT_TRUE(more);
    EXPECT_FALSE(more->has_value()) << "unexpected copy of " << (*more)->id;
  }
}

TEST_P(QueueConformanceTest, HandlerFailingTwiceSucceedsOnTheThirdAttempt) {
  auto consumer = std::make_shared<ScriptedConsumer>(
      Queue("flaky"), std::vector<std::string>{Type("flaky")}, [](const Delivery&, int call) {
        if (call == 1) return HandlerResult::Retry("flaky failure 1");
        if (call == 2) throw std::runtime_error("flaky failure 2");  // an exception counts as retry
        return HandlerResult::Ack();
      });
  queue::ConsumerRuntime runtime(*queue_, processed_.get(), FastRetries(5));
  runtime.Add(consumer);
  runtime.Start();
  std::vector<queue::OutgoingMessage> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(Message(Type("flaky"), i));
  ASSERT_TRUE(Eventually([&] { return queue_->DeclareQueue(consumer->spec()).ok(); }));
  ASSERT_TRUE(queue_->Publish(batch));
  ASSERT_TRUE(Eventually([&] { return runtime.totals().acked == batch.size(); }));
  runtime.Stop();

  const auto totals = runtime.totals();
  EXPECT_EQ(totals.retried, 2 * batch.size());
  EXPECT_EQ(totals.dead_lettered, 0u);
  for (const auto& m : batch) EXPECT_EQ(consumer->Calls(m.id), 3) << m.id;
  for (const auto& d : consumer->Seen()) {
    const std::map<int, std::string> expected_error = {
        {1, ""}, {2, "flaky failure 1"}, {3, "flaky failure 2"}};
    ASSERT_TRUE(expected_error.count(d.attempt)) << d.attempt;
    EXPECT_EQ(d.last_error, expected_error.at(d.attempt)) << "attempt " << d.attempt;
  }
  EXPECT_TRUE(DeadLetters(consumer->spec().name).empty());
  for (const auto& m : batch) {
    auto recorded = processed_->Contains(consumer->spec().name, m.id);
    ASSERT_TRUE(recorded);
    EXPECT_TRUE(*recorded) << m.id;
  }
}

// Takes whole batches (Consumer::HandleBatch); the script decides per delivery. Remembers the batch sizes.
class BatchConsumer final : public queue::Consumer {
 public:
  BatchConsumer(std::string queue_name, std::vector<std::string> bindings,
                std::function<HandlerResult(const Delivery&, int call)> script, queue::BatchPolicy policy = {})
      : spec_{std::move(queue_name), std::move(bindings)}, script_(std::move(script)), policy_(policy) {}
  // Acks every delivery; batches are gathered by `policy`.
  BatchConsumer(std::string queue_name, std::vector<std::string> bindings, queue::BatchPolicy policy)
      : BatchConsumer(std::move(queue_name), std::move(bindings),
                      [](const Delivery&, int) { return HandlerResult::Ack(); }, policy) {}

  const queue::QueueSpec& spec() const override { return spec_; }
  queue::BatchPolicy batch_policy() const override { return policy_; }
  HandlerResult Handle(const Delivery&) override { throw std::logic_error("the runtime hands batches"); }
  std::vector<HandlerResult> HandleBatch(std::span<const Delivery> batch) override {
    std::lock_guard lock(mutex_);
    sizes_.push_back(batch.size());
    std::vector<HandlerResult> results;
    for (const Delivery& d : batch) results.push_back(script_(d, ++calls_[d.id]));
    return results;
  }
  std::vector<std::size_t> Sizes() {
    std::lock_guard lock(mutex_);
    return sizes_;
  }
  int Calls(const std::string& id) {
    std::lock_guard lock(mutex_);
    return calls_.count(id) ? calls_[id] : 0;
  }

 private:
  queue::QueueSpec spec_;
  std::function<HandlerResult(const Delivery&, int call)> script_;
  queue::BatchPolicy policy_;
  std::mutex mutex_;
  std::vector<std::size_t> sizes_;
  std::map<std::string, int> calls_;
};

TEST_P(QueueConformanceTest, DeliveriesAtHandAreHandledTogetherAndSettledOneByOne) {
  const std::string name = Queue("batched");
  const std::string flaky = Message(Type("batched"), 7).id;
  auto consumer = std::make_shared<BatchConsumer>(
      name, std::vector<std::string>{Type("batched")}, [&flaky](const Delivery& d, int call) {
        return d.id == flaky && call == 1 ? HandlerResult::Retry("once") : HandlerResult::Ack();
      });
  ASSERT_TRUE(queue_->DeclareQueue(consumer->spec()));
  std::vector<queue::OutgoingMessage> batch;
  for (int i = 0; i < 40; ++i) batch.push_back(Message(Type("batched"), i));
  ASSERT_TRUE(queue_->Publish(batch));  // all waiting before the consumer starts
  auto options = FastRetries(3);
  options.prefetch = 16;
  queue::ConsumerRuntime runtime(*queue_, processed_.get(), options);
  runtime.Add(consumer);
  runtime.Start();
  ASSERT_TRUE(Eventually([&] { return runtime.totals().acked == batch.size(); }));
  runtime.Stop();

  const auto sizes = consumer->Sizes();
  ASSERT_FALSE(sizes.empty());
  EXPECT_GT(*std::max_element(sizes.begin(), sizes.end()), 1u) << "the waiting messages came one at a time";
  EXPECT_LE(*std::max_element(sizes.begin(), sizes.end()), options.prefetch);
  const auto totals = runtime.totals();
  EXPECT_EQ(totals.retried, 1u) << "only the failing delivery of its batch is retried";
  EXPECT_EQ(totals.handled, batch.size() + 1);
  for (const auto& m : batch) {
    EXPECT_EQ(consumer->Calls(m.id), m.id == flaky ? 2 : 1) << m.id;
    auto recorded = processed_->Contains(name, m.id);
    ASSERT_TRUE(recorded);
    EXPECT_TRUE(*recorded) << m.id;
  }
}

// A consumer with a BatchPolicy gets what arrives within its linger as one batch, up to its max, which may be
// more than the runtime's prefetch window; what is left over starts the next batch.
TEST_P(QueueConformanceTest, ALingeringConsumerGathersWhatArrivesWithinItsLingerUpToItsMax) {
  const std::string name = Queue("lingering");
  auto consumer = std::make_shared<BatchConsumer>(
      name, std::vector<std::string>{Type("lingering")},
      queue::BatchPolicy{.max = 25, .linger = std::chrono::milliseconds(800)});
  ASSERT_TRUE(queue_->DeclareQueue(consumer->spec()));
  auto options = FastRetries(3);
  options.prefetch = 4;  // max_linger stays at its default, 1 s: well within the embedded queue's 2 s leases here
  queue::ConsumerRuntime runtime(*queue_, processed_.get(), options);
  runtime.Add(consumer);
  runtime.Start();
  // One at a time, well within the linger: a consumer that did not linger would take them one by one.
  for (int i = 0; i < 10; ++i) {
    const queue::OutgoingMessage message = Message(Type("lingering"), i);
    ASSERT_TRUE(queue_->Publish(std::span(&message, 1)));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(Eventually([&] { return runtime.totals().acked == 10; }));
  EXPECT_EQ(consumer->Sizes(), std::vector<std::size_t>{10});

  std::vector<queue::OutgoingMessage> burst;
  for (int i = 10; i < 50; ++i) burst.push_back(Message(Type("lingering"), i));
  ASSERT_TRUE(queue_->Publish(burst));
  ASSERT_TRUE(Eventually([&] { return runtime.totals().acked == 50; }));
  runtime.Stop();
  EXPECT_EQ(consumer->Sizes(), (std::vector<std::size_t>{10, 25, 15}));
}

// A lingering consumer's linger is cut to RuntimeOptions::max_linger (a lease must outlive it), and Stop does
// not wait it out: what was gathered is handled at once.
TEST_P(QueueConformanceTest, ALingerIsCutToTheRuntimesMaxAndStopEndsIt) {
  const std::string name = Queue("cut-linger");
  auto consumer = std::make_shared<BatchConsumer>(name, std::vector<std::string>{Type("cut-linger")},
                                                  queue::BatchPolicy{.max = 100, .linger = std::chrono::hours(1)});
  ASSERT_TRUE(queue_->DeclareQueue(consumer->spec()));
  const queue::OutgoingMessage first = Message(Type("cut-linger"), 0);
  const queue::OutgoingMessage second = Message(Type("cut-linger"), 1);
  auto options = FastRetries(3);
  options.max_linger = std::chrono::milliseconds(300);
  {
    queue::ConsumerRuntime runtime(*queue_, processed_.get(), options);
    runtime.Add(consumer);
    runtime.Start();
    ASSERT_TRUE(queue_->Publish(std::span(&first, 1)));
    ASSERT_TRUE(Eventually([&] { return runtime.totals().acked == 1; }, std::chrono::seconds(30)))
        << "the hour-long linger was not cut to max_linger";
  }
  options.max_linger = std::chrono::hours(2);  // only Stop ends this runtime's linger
  queue::ConsumerRuntime runtime(*queue_, processed_.get(), options);
  runtime.Add(consumer);
  runtime.Start();
  ASSERT_TRUE(queue_->Publish(std::span(&second, 1)));
  // Taken within a poll (50 ms), then lingering, for less than its 2 s lease here.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto stopping = std::chrono::steady_clock::now();
  runtime.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, std::chrono::seconds(10)) << "Stop waited out the linger";
  EXPECT_EQ(consumer->Sizes(), (std::vector<std::size_t>{1, 1})) << "what was gathered was not handled";
  EXPECT_EQ(consumer->Calls(second.id), 1);
}

// A handler that records its messages with its own effect (ProcessedLog::ClaimIn) says so, and the runtime does
// not write the record a second time. This one says so of the even messages without recording them, which shows
// whose records the runtime wrote.
TEST_P(QueueConformanceTest, MessagesTheHandlerRecordedAreNotRecordedAgain) {
  const std::string name = Queue("self-recorded");
  std::vector<queue::OutgoingMessage> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(Message(Type("self-recorded"), i));
  std::set<std::string> self_recorded;
  for (std::size_t i = 0; i < batch.size(); i += 2) self_recorded.insert(batch[i].id);
  auto consumer = std::make_shared<BatchConsumer>(
      name, std::vector<std::string>{Type("self-recorded")}, [&self_recorded](const Delivery& d, int) {
        return self_recorded.count(d.id) ? HandlerResult::AckRecorded() : HandlerResult::Ack();
      });
  ASSERT_TRUE(queue_->DeclareQueue(consumer->spec()));
  ASSERT_TRUE(queue_->Publish(batch));
  queue::ConsumerRuntime runtime(*queue_, processed_.get(), FastRetries(3));
  runtime.Add(consumer);
  runtime.Start();
  ASSERT_TRUE(Eventually([&] { return runtime.totals().acked == batch.size(); }));
  runtime.Stop();

  for (const auto& m : batch) {
    auto recorded = processed_->Contains(name, m.id);
    ASSERT_TRUE(recorded);
    EXPECT_EQ(*recorded, self_recorded.count(m.id) == 0) << m.id;
  }
}

TEST_P(QueueConformanceTest, ExhaustedRetriesDeadLetterWithTheErrorAndReplayIsProcessed) {
  std::atomic<bool> healthy{false};
  auto consumer = std::make_shared<ScriptedConsumer>(
      Queue("doomed"), std::vector<std::string>{Type("doomed")}, [&healthy](const Delivery&, int call) {
        if (healthy) return HandlerResult::Ack();
        throw std::runtime_error(fmt::format("boom {}", call));
      });
  queue::ConsumerRuntime runtime(*queue_, processed_.get(), FastRetries(3));
  runtime.Add(consumer);
  runtime.Start();
  ASSERT_TRUE(Eventually([&] { return queue_->DeclareQueue(consumer->spec()).ok(); }));
  const queue::OutgoingMessage message = Message(Type("doomed"), 7);
  const auto before_publish = Clock::now() - std::chrono::seconds(1);
  ASSERT_TRUE(queue_->Publish(std::span(&message, 1)));

  ASSERT_TRUE(Eventually([&] { return DeadLetters(consumer->spec().name).size() == 1; }));
  const queue::DeadLetter letter = DeadLetters(consumer->spec().name)[0];
  EXPECT_EQ(letter.message_id, message.id);
  EXPECT_EQ(letter.queue, consumer->spec().name);
  EXPECT_EQ(letter.type, message.type);
  EXPECT_EQ(letter.payload, message.payload);
  EXPECT_EQ(letter.attempts, 3);
  EXPECT_EQ(letter.error, "boom 3");
  EXPECT_GE(letter.created_at, before_publish);
  EXPECT_LE(letter.first_attempt_at, letter.dead_lettered_at);
  EXPECT_EQ(consumer->Calls(message.id), 3);
  auto stats = queue_->Stats();
  ASSERT_TRUE(stats);
  bool listed = false;
  for (const auto& s : *stats) {
    if (s.queue != consumer->spec().name) continue;
    listed = true;
    EXPECT_EQ(s.dead_lettered, 1);
  }
  EXPECT_TRUE(listed);

  healthy = true;
  ASSERT_TRUE(queue_->ReplayDeadLetter(letter.id));
  ASSERT_TRUE(Eventually([&] { return runtime.totals().acked == 1; }));
  EXPECT_EQ(consumer->Calls(message.id), 4);
  EXPECT_EQ(consumer->Seen().back().attempt, 1) << "a replay starts again at attempt 1";
  EXPECT_TRUE(DeadLetters(consumer->spec().name).empty());
  auto again = queue_->ReplayDeadLetter(letter.id);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
  runtime.Stop();
}

TEST_P(QueueConformanceTest, RejectDeadLettersAtOnceAndDropRemovesIt) {
  auto consumer =
      std::make_shared<ScriptedConsumer>(Queue("picky"), std::vector<std::string>{Type("picky")},
                                         [](const Delivery&, int) { return HandlerResult::Reject("bad"); });
  queue::ConsumerRuntime runtime(*queue_, processed_.get(), FastRetries(5));
  runtime.Add(consumer);
  runtime.Start();
  ASSERT_TRUE(Eventually([&] { return queue_->DeclareQueue(consumer->spec()).ok(); }));
  const queue::OutgoingMessage message = Message(Type("picky"), 1);
  ASSERT_TRUE(queue_->Publish(std::span(&message, 1)));
  ASSERT_TRUE(Eventually([&] { return DeadLetters(consumer->spec().name).size() == 1; }));
  runtime.Stop();
  const queue::DeadLetter letter = DeadLetters(consumer->spec().name)[0];
  EXPECT_EQ(letter.attempts, 1);
  EXPECT_EQ(letter.error, "bad");
  EXPECT_EQ(consumer->Calls(message.id), 1);

  ASSERT_TRUE(queue_->DropDeadLetter(letter.id));
  EXPECT_TRUE(DeadLetters(consumer->spec().name).empty());
  auto again = queue_->DropDeadLetter(letter.id);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
  auto bogus = queue_->DropDeadLetter("no-such-letter");
  ASSERT_FALSE(bogus);
  EXPECT_EQ(bogus.error().code, ErrorCode::kNotFound);
}

TEST_P(QueueConformanceTest, DeliveryHeldByADeadConsumerIsDeliveredAgainAndProcessedOnce) {
  const std::string name = Queue("fragile");
  ASSERT_TRUE(queue_->DeclareQueue({name, {Type("fragile")}}));
  const std::vector<queue::OutgoingMessage> batch = {Message(Type("fragile"), 1),
                                                     Message(Type("fragile"), 2)};
  ASSERT_TRUE(queue_->Publish(batch));

  // A consumer takes both and dies before settling either; it had finished the work of the first (its
  // processed-message record committed) but not of the second.
  {
    auto doomed = queue_->Subscribe(name, 2);
    ASSERT_TRUE(doomed);
    std::set<std::string> taken;
    ASSERT_TRUE(Eventually([&] {
      auto next = (*doomed)->Next(std::chrono::milliseconds(100));
      if (next && next->has_value()) taken.insert((*next)->id);
      return taken.size() == 2;
    }));
    ASSERT_TRUE(processed_->Record(name, batch[0].id));
  }

  auto consumer =
      std::make_shared<ScriptedConsumer>(name, std::vector<std::string>{Type("fragile")},
                                         [](const Delivery&, int) { return HandlerResult::Ack(); });
  queue::ConsumerRuntime runtime(*queue_, processed_.get(), FastRetries(5));
  runtime.Add(consumer);
  runtime.Start();
  ASSERT_TRUE(Eventually([&] {
    const auto t = runtime.totals();
    return t.acked == 1 && t.duplicates == 1;
  }));
  runtime.Stop();
  EXPECT_EQ(consumer->Calls(batch[0].id), 0) << "processed before the crash: skipped";
  EXPECT_EQ(consumer->Calls(batch[1].id), 1);
  EXPECT_EQ(consumer->Seen().at(0).attempt, 1) << "nobody decided it failed: still the first attempt";

  auto sub = queue_->Subscribe(name, 2);
  ASSERT_TRUE(sub);
  auto more = (*sub)->Next(std::chrono::milliseconds(300));
  ASSERT_TRUE(more);
  EXPECT_FALSE(more->has_value()) << "left in the queue: " << (*more)->id;
}

TEST_P(QueueConformanceTest, StatsShowWhatWaits) {
  const std::string name = Queue("idle");
  ASSERT_TRUE(queue_->DeclareQueue({name, {Type("idle")}}));
  std::vector<queue::OutgoingMessage> batch;
  for (int i = 0; i < 4; ++i) batch.push_back(Message(Type("idle"), i));
  ASSERT_TRUE(queue_->Publish(batch));
  auto ready = [&]() -> std::int64_t {
    auto stats = queue_->Stats();
    if (!stats) return -1;
    for (const auto& s : *stats)
      if (s.queue == name) return s.ready;
    return -2;
  };
  ASSERT_TRUE(Eventually([&] { return ready() == 4; })) << ready();
  auto sub = queue_->Subscribe(name, 8);
  ASSERT_TRUE(sub);
  ASSERT_EQ(Drain(**sub, 4).size(), 4u);
  EXPECT_TRUE(Eventually([&] { return ready() == 0; })) << ready();
  EXPECT_TRUE(queue_->Ping());
}

COHORT_INSTANTIATE_FOR_QUEUES(QueueConformanceTest);

}  // namespace
}  // namespace cohort::testing
