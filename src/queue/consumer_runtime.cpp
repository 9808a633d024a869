#include "queue/consumer_runtime.hpp"

#include <spdlog/spdlog.h>
#include <sched.h>

#include <algorithm>
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
  if (options_.background) {
    const sched_param param{};
    if (::sched_setscheduler(0, SCHED_IDLE, &param) != 0)  // 0: this thread
      spdlog::warn("queue {}: cannot schedule a consumer thread as SCHED_IDLE", consumer.spec().name);
  }
  std::mt19937_64 random(seed);
  const RetryPolicy reconnect{.max_attempts = 1 << 30,
                              .base_delay = std::chrono::milliseconds(100),
                              .max_delay = options_.reconnect_max_delay};
  int failures = 0;
  std::unique_ptr<Subscription> subscription;
  const std::string& name = consumer.spec().name;
  const BatchPolicy policy = consumer.batch_policy();
  const std::size_t window = std::max<std::size_t>({1, options_.prefetch, policy.max});
  const std::size_t batch_max = policy.max > 0 ? policy.max : window;
  const auto linger = std::min(policy.linger, options_.max_linger);
  while (!stopping_) {
    if (!subscription) {
      if (auto declared = queue_.DeclareQueue(consumer.spec()); !declared) {
        spdlog::warn("queue {}: cannot declare it: {} {}", name, declared.error().client_message,
                     declared.error().internal_message);
        Sleep(BackoffDelay(reconnect, ++failures, random));
        continue;
      }
      auto opened = queue_.Subscribe(name, window);
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
    if (next->has_value()) {
      // The rest of what is at hand joins the first (and, for a consumer that lingers, what comes within its
      // linger): a backlog is handled a window at a time.
      std::vector<Delivery> batch;
      batch.push_back(std::move(**next));
      const auto gathered_by = std::chrono::steady_clock::now() + linger;
      while (batch.size() < batch_max && !stopping_) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(gathered_by -
                                                                                std::chrono::steady_clock::now());
        auto more = subscription->Next(std::clamp(left, std::chrono::milliseconds(0), options_.poll));
        if (!more) break;  // an error shows again at the next Next
        if (!more->has_value()) {
          if (left.count() > 0) continue;
          break;
        }
        batch.push_back(std::move(**more));
      }
      Process(*subscription, consumer, std::move(batch), random);
    }
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

void ConsumerRuntime::Process(Subscription& subscription, Consumer& consumer, std::vector<Delivery> batch,
                              std::mt19937_64& random) {
  const std::string& name = consumer.spec().name;
  auto count = [this](std::uint64_t RuntimeTotals::*field, std::uint64_t n = 1) {
    std::lock_guard lock(totals_mutex_);
    totals_.*field += n;
  };
  auto settled = [&](const Delivery& delivery, Result<void> result, std::string_view what) {
    if (result) return;
    count(&RuntimeTotals::settle_errors);
    spdlog::warn("queue {}: {} of message {} failed: {} {}", name, what, delivery.id,
                 result.error().client_message, result.error().internal_message);
  };
  auto ids_of = [](const std::vector<Delivery>& deliveries) {
    std::vector<std::string_view> ids;
    for (const Delivery& d : deliveries) ids.emplace_back(d.id);
    return ids;
  };

  if (processed_ != nullptr) {
    // When the records cannot be read, handle them anyway: handlers that need exactly-once claim it themselves.
    if (auto seen = processed_->ContainsEach(name, ids_of(batch))) {
      std::vector<Delivery> fresh;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!(*seen)[i]) {
          fresh.push_back(std::move(batch[i]));
          continue;
        }
        count(&RuntimeTotals::duplicates);
        settled(batch[i], subscription.Ack(batch[i]), "ack of a duplicate");
      }
      batch = std::move(fresh);
    }
  }
  if (batch.empty()) return;

  std::vector<HandlerResult> results;
  try {
    results = consumer.HandleBatch(batch);
  } catch (const std::exception& e) {
    results.assign(batch.size(), HandlerResult::Retry(e.what()));
  } catch (...) {
    results.assign(batch.size(), HandlerResult::Retry("unknown exception"));
  }
  if (results.size() != batch.size())
    results.assign(batch.size(), HandlerResult::Retry("the handler answered for another number of messages"));
  count(&RuntimeTotals::handled, batch.size());

  std::vector<Decision> decisions;
  std::vector<Delivery> to_record;  // acked, and not recorded by the handler already
  for (std::size_t i = 0; i < batch.size(); ++i) {
    decisions.push_back(Decide(options_.retry, batch[i].attempt, results[i], random));
    if (decisions.back().settlement == Settlement::kAck && !results[i].recorded) to_record.push_back(batch[i]);
  }
  // Recorded before the acks: a crash between the two redelivers messages that are then skipped.
  if (processed_ != nullptr && !to_record.empty()) {
    if (auto recorded = processed_->RecordAll(name, ids_of(to_record)); !recorded)
      spdlog::warn("queue {}: cannot record {} messages as processed: {}", name, to_record.size(),
                   recorded.error().internal_message);
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const Delivery& delivery = batch[i];
    const Decision& decision = decisions[i];
    const std::string& error = results[i].error;
    switch (decision.settlement) {
      case Settlement::kAck:
        count(&RuntimeTotals::acked);
        settled(delivery, subscription.Ack(delivery), "ack");
        break;
      case Settlement::kRetry:
        spdlog::info("queue {}: message {} attempt {} failed, retry in {} ms: {}", name, delivery.id,
                     delivery.attempt, decision.delay.count(), error);
        count(&RuntimeTotals::retried);
        settled(delivery, subscription.Retry(delivery, decision.delay, error), "retry");
        break;
      case Settlement::kDeadLetter:
        spdlog::warn("queue {}: message {} dead-lettered after attempt {}: {}", name, delivery.id,
                     delivery.attempt, error);
        count(&RuntimeTotals::dead_lettered);
        settled(delivery, subscription.DeadLetter(delivery, {error, delivery.created_at, Clock::now()}),
                "dead-lettering");
        break;
    }
  }
}

}  // namespace cohort::queue
