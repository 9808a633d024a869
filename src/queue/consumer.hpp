#pragma once
// The consumer contract, the same for every backend:
// - Handle returns Ack (done), Retry (failed for now: try again later) or Reject (will never succeed: park it
// in
//   the dead-letter queue at once). An exception thrown by Handle counts as Retry, with its what() as the
//   error.
// - A retried message comes back after an exponential backoff with jitter (queue.backoff_ms × 2^(attempt-1),
//   capped at queue.backoff_max_ms, drawn uniformly from its upper half); after queue.max_attempts attempts
//   it goes to the dead-letter queue with its last error, its attempt count and its first and last attempt
//   times.
// - Delivery is at-least-once: a message can arrive again after it was handled (a worker died before its ack,
// a
//   relay published it twice). The runtime skips messages already recorded as processed by this consumer
//   (ProcessedLog); a handler whose effect lives in the relational database records the message in the same
//   transaction as the effect (ProcessedLog::ClaimIn) and so applies it exactly once. Effects outside the
//   database (a webhook) happen at least once.
// - Ordering is not guaranteed.
// - Handle may run on several threads at once (one per worker thread of the consumer), so a consumer keeps no
//   unsynchronised state.

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "queue/message_queue.hpp"

namespace cohort::queue {

enum class Outcome { kAck, kRetry, kReject };

struct HandlerResult {
  Outcome outcome = Outcome::kAck;
  std::string error;  // why it failed; kept with the message for the next attempt and the dead-letter queue
  // The handler recorded the message as processed itself (ProcessedLog::ClaimIn, with its effect): the runtime
  // does not record it again.
  bool recorded = false;

  static HandlerResult Ack() { return {}; }
  static HandlerResult AckRecorded() { return {Outcome::kAck, {}, true}; }
  static HandlerResult Retry(std::string error) { return {Outcome::kRetry, std::move(error)}; }
  static HandlerResult Reject(std::string error) { return {Outcome::kReject, std::move(error)}; }
  // Unavailable, DeadlineExceeded, ResourceExhausted and Internal may pass: retry. Anything else (invalid
  // input, not found, ...) will not: reject.
  static HandlerResult FromError(const Error& error);
};

// How the runtime gathers a batch for HandleBatch. By default it takes what is at hand, up to the prefetch window,
// without waiting. A consumer whose effect is an aggregate (a counter) may ask for larger batches gathered over a
// while: fewer, larger transactions, and the database it writes changes less often, which keeps the page caches of
// the connections that read it warm (SQLite drops a connection's whole cache when another connection commits).
struct BatchPolicy {
  std::size_t max = 0;                  // deliveries per batch at most (0: the runtime's prefetch window)
  std::chrono::milliseconds linger{0};  // how long to keep gathering after the first delivery of a batch
};

class Consumer {
 public:
  virtual ~Consumer() = default;
  // The consumer's queue (its name) and the message types bound to it.
  virtual const QueueSpec& spec() const = 0;
  virtual HandlerResult Handle(const Delivery& delivery) = 0;
  // The deliveries the runtime took at once (up to the prefetch window, none already processed): one result
  // per delivery, in order; an exception out of it retries the whole batch. By default Handle for each (an
  // exception from Handle retries its delivery only); a consumer that can apply many messages in one
  // transaction does so here.
  virtual std::vector<HandlerResult> HandleBatch(std::span<const Delivery> batch);
  virtual BatchPolicy batch_policy() const { return {}; }
};

}  // namespace cohort::queue
