#include "queue/consumer_runtime.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <random>

namespace cohort::queue {
namespace {

// Records deleted per turn: a few milliseconds of write lock, so that pruning never holds up the consumers.
constexpr std::size_t kPruneBatch = 1000;

}  // namespace

ConsumerRuntime::ConsumerRuntime(MessageQueue& queue, ProcessedLog* processed, RuntimeOptions options)
    : queue_(queue), processed_(processed), options_(std::move(options)) {}

ConsumerRuntime::~ConsumerRuntime() { Stop(); }

void ConsumerRuntime::Add(std::shared_ptr<Consumer> consumer) { consumers_.push_back(std::move(consumer)); }

void ConsumerRuntime::Start() {
  std::random_device seeds;
  for (const auto& consumer : consumers_) {
    for (std::size_t i = 0; i < std::max<std::size_t>(1, options_.threads_per_consumer); ++i) {
      const std::uint64_t seed = (std::uint64_t{seeds()} << 32) | seeds();
      threads_.emplace_back([this, c = consumer.get(), seed] { Work(*c, seed); });
    }
  }
}

void ConsumerRuntime::Stop() {
  stopping_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

RuntimeTotals ConsumerRuntime::totals() const {
  std::lock_guard lock(totals_mutex_);
  return totals_;
}

void ConsumerRuntime::Sleep(std::chrono::milliseconds delay) {
  // In slices, so that Stop is not held up by a long backoff.
  const auto until = std::chrono::steady_clock::now() + delay;
  while (!stopping_ && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(delay, std::chrono::milliseconds(50)));
}

void ConsumerRuntime::Work(Consumer& consumer, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  const RetryPolicy reconnect{.max_attempts = 1 << 30,
                              .base_delay = std::chrono::milliseconds(100),
                              .max_delay = options_.reconnect_max_delay};
  int failures = 0;
  std::unique_ptr<Subscription> subscription;
  const std::string& name = consumer.spec().name;
  while (!stopping_) {
    if (!subscription) {
      if (auto declared = queue_.DeclareQueue(consumer.spec()); !declared) {
        spdlog::warn("queue {}: cannot declare it: {} {}", name, declared.error().client_message,
                     declared.error().internal_message);
        Sleep(BackoffDelay(reconnect, ++failures, random));
        continue;
      }
      auto opened = queue_.Subscribe(name, options_.prefetch);
      if (!opened) {
        spdlog::warn("queue {}: cannot subscribe: {} {}", name, opened.error().client_message,
                     opened.error().internal_message);
        Sleep(BackoffDelay(reconnect, ++failures, random));
        continue;
      }
      subscription = std::move(opened).value();
    }
    auto next = subscription->Next(options_.poll);
    if (!next) {
      spdlog::warn("queue {}: receive failed: {} {}", name, next.error().client_message,
                   next.error().internal_message);
      subscription.reset();
      Sleep(BackoffDelay(reconnect, ++failures, random));
      continue;
    }
    failures = 0;
    if (next->has_value()) Process(*subscription, consumer, **next, random);
    PruneIfDue();
  }
}

void ConsumerRuntime::PruneIfDue() {
  if (processed_ == nullptr || options_.processed_retention.count() <= 0) return;
  std::unique_lock lock(prune_mutex_, std::try_to_lock);
  const auto now = std::chrono::steady_clock::now();
  if (!lock.owns_lock() || now < next_prune_) return;
  auto pruned = processed_->Prune(Clock::now() - options_.processed_retention, kPruneBatch);
  if (!pruned) {
    spdlog::warn("cannot prune processed-message records: {}", pruned.error().internal_message);
    next_prune_ = now + options_.prune_interval;
    return;
  }
  // A full batch leaves more behind: the next turn takes the next batch.
  next_prune_ = *pruned == kPruneBatch ? now : now + options_.prune_interval;
  std::lock_guard totals_lock(totals_mutex_);
  totals_.pruned += *pruned;
}

void ConsumerRuntime::Process(Subscription& subscription, Consumer& consumer, const Delivery& delivery,
                              std::mt19937_64& random) {
  const std::string& name = consumer.spec().name;
  auto count = [this](std::uint64_t RuntimeTotals::*field) {
    std::lock_guard lock(totals_mutex_);
    ++(totals_.*field);
  };
  auto settled = [&](Result<void> result, std::string_view what) {
    if (result) return;
    count(&RuntimeTotals::settle_errors);
    spdlog::warn("queue {}: {} of message {} failed: {} {}", name, what, delivery.id,
                 result.error().client_message, result.error().internal_message);
  };

  if (processed_ != nullptr) {
    auto seen = processed_->Contains(name, delivery.id);
    if (seen && *seen) {
      count(&RuntimeTotals::duplicates);
      settled(subscription.Ack(delivery), "ack of a duplicate");
      return;
    }
    // When the records cannot be read, handle it anyway: handlers that need exactly-once claim it themselves.
  }

  HandlerResult result;
  try {
    result = consumer.Handle(delivery);
  } catch (const std::exception& e) {
    result = HandlerResult::Retry(e.what());
  } catch (...) {
    result = HandlerResult::Retry("unknown exception");
  }
  count(&RuntimeTotals::handled);

  const Decision decision = Decide(options_.retry, delivery.attempt, result, random);
  switch (decision.settlement) {
    case Settlement::kAck:
      if (processed_ != nullptr) {
        if (auto recorded = processed_->Record(name, delivery.id); !recorded)
          spdlog::warn("queue {}: cannot record message {} as processed: {}", name, delivery.id,
                       recorded.error().internal_message);
      }
      count(&RuntimeTotals::acked);
      settled(subscription.Ack(delivery), "ack");
      return;
    case Settlement::kRetry:
      spdlog::info("queue {}: message {} attempt {} failed, retry in {} ms: {}", name, delivery.id,
                   delivery.attempt, decision.delay.count(), result.error);
      count(&RuntimeTotals::retried);
      settled(subscription.Retry(delivery, decision.delay, result.error), "retry");
      return;
    case Settlement::kDeadLetter:
      spdlog::warn("queue {}: message {} dead-lettered after attempt {}: {}", name, delivery.id,
                   delivery.attempt, result.error);
      count(&RuntimeTotals::dead_lettered);
      settled(subscription.DeadLetter(delivery, {result.error, delivery.created_at, Clock::now()}),
              "dead-lettering");
      return;
  }
}

}  // namespace cohort::queue
