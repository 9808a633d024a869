#pragma once
// Runs consumers on worker threads, whatever the backend: takes the deliveries at hand (up to the prefetch
// window, without waiting for more than the first, unless the consumer's BatchPolicy asks for a larger batch
// gathered over a while), skips those already processed, calls the handler with the
// rest (the contract is in consumer.hpp), and settles each delivery by the shared retry policy
// (retry_policy.hpp). A backend that is away (kUnavailable) is waited for with a capped exponential backoff;
// the subscription is then opened again. One object per process owns the threads; Stop (or the destructor)
// ends them within about one poll interval. Between deliveries, one worker thread at a time also prunes the
// processed-message records older than the retention, a batch per turn.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "queue/consumer.hpp"
#include "queue/message_queue.hpp"
#include "queue/processed_log.hpp"
#include "queue/retry_policy.hpp"

namespace cohort::queue {

struct RuntimeOptions {
  RetryPolicy retry;
  std::size_t threads_per_consumer = 1;
  std::size_t prefetch = 16;
  std::chrono::milliseconds poll{250};                  // longest wait in Subscription::Next, hence in Stop
  // A consumer's BatchPolicy::linger is cut to this: deliveries held while a batch gathers must not outlive
  // their lease (the embedded queue's visibility timeout).
  std::chrono::milliseconds max_linger{1000};
  std::chrono::milliseconds reconnect_max_delay{5000};  // cap of the wait for a backend that is away
  std::chrono::hours processed_retention{24 * 7};  // processed-message records kept this long (0: forever)
  std::chrono::milliseconds prune_interval{std::chrono::minutes(10)};  // pause once no old record is left
  // Worker threads scheduled as SCHED_IDLE (Linux schedules threads by their own policy): in a process that also
  // answers requests, consumers take the CPU the requests leave, and a backlog waits in the queue meanwhile.
  bool background = false;
};

struct RuntimeTotals {
  std::uint64_t handled = 0;  // handler calls
  std::uint64_t acked =
      0;  // acks handed to the backend, which may commit them a little later (message_queue.hpp)
  std::uint64_t retried = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t duplicates = 0;     // deliveries skipped as already processed
  std::uint64_t settle_errors = 0;  // settlements the backend refused (lease lost, connection lost)
  std::uint64_t pruned = 0;         // processed-message records deleted as older than the retention
};

class ConsumerRuntime {
 public:
  // `processed` may be null (no idempotency records: for benchmarks of the queue alone).
  ConsumerRuntime(MessageQueue& queue, ProcessedLog* processed, RuntimeOptions options);
  ~ConsumerRuntime();
  ConsumerRuntime(const ConsumerRuntime&) = delete;
  ConsumerRuntime& operator=(const ConsumerRuntime&) = delete;

  // Before Start only. Each worker thread declares its consumer's queue before it subscribes (again and again
  // while the backend is away), so a process can start while its broker is down.
  void Add(std::shared_ptr<Consumer> consumer);
  void Start();
  void Stop();

  RuntimeTotals totals() const;

 private:
  void Work(Consumer& consumer, std::uint64_t seed);
  void Process(Subscription& subscription, Consumer& consumer, std::vector<Delivery> batch,
               std::mt19937_64& random);
  void Sleep(std::chrono::milliseconds delay);
  void PruneIfDue();

  MessageQueue& queue_;
  ProcessedLog* processed_;
  RuntimeOptions options_;
  std::vector<std::shared_ptr<Consumer>> consumers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex totals_mutex_;
  RuntimeTotals totals_;

  std::mutex prune_mutex_;  // held by the thread that prunes; the others skip their turn
  std::chrono::steady_clock::time_point next_prune_;
};

}  // namespace cohort::queue
