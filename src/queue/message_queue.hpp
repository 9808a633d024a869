#pragma once
// The message queue behind one interface, implemented by the embedded SQLite queue (queue/sqlite/) and by
// RabbitMQ (queue/amqp/). Only app/ decides which one runs.
//
// Model (the same for both backends, so that one conformance suite covers them):
// - A message has a type ("user.created", "event.ingested", ...): its routing key.
// - Every consumer owns one durable queue, named after the consumer, bound to one or more type patterns
//   (topic syntax: words separated by '.', '*' matches one word, '#' matches zero or more). Publish copies a
//   message into every queue whose binding matches; a message published while no queue matches is dropped, as
//   on a topic exchange, which is why every process declares the whole topology (DeclareQueue) before it
//   publishes.
// - Publish returns only once the messages are durable (SQLite: committed; RabbitMQ: confirmed).
// - A consumer takes messages through a Subscription, one thread per Subscription, and settles each delivery
//   exactly once: Ack (done), Retry (deliver again after a delay, attempt + 1) or DeadLetter (park it, with
//   the error, in the dead-letter queue of its queue). A delivery that is never settled (the consumer died)
//   is delivered again: SQLite after the visibility timeout, RabbitMQ when the channel closes. Its attempt
//   number is not increased then, because nobody decided that it failed.
// - Delivery is at-least-once. The retry decision (how many attempts, which delay) is not the backend's: the
//   consumer runtime (queue/consumer_runtime.hpp) makes it and calls Retry or DeadLetter; a backend only
//   carries it out faithfully.
// - Dead letters are listed, replayed (sent back to their queue as attempt 1) and dropped through this
//   interface, whatever the backend keeps them in: the embedded queue in a table (dead_letter_table.hpp), the
//   RabbitMQ backend in its dead-letter queues (queue/amqp/README.md).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/time.hpp"

namespace cohort::queue {

// A message to publish. `id` is the idempotency key that consumers record once processed: the outbox row id
// for messages from the outbox, a fresh unique id otherwise. It must be unique per logical message and is
// kept unchanged across retries and replays.
struct OutgoingMessage {
  std::string id;
  std::string type;     // routing key
  std::string payload;  // JSON text, opaque to the queue
  Clock::time_point created_at = Clock::now();
};

// A message as a consumer receives it.
struct Delivery {
  std::string id;
  std::string type;
  std::string payload;
  std::string queue;             // the queue it was taken from
  int attempt = 1;               // 1 on the first delivery, n on the n-th decided attempt
  Clock::time_point created_at;  // when it was first published
  std::string last_error;        // the error of the previous attempt; empty on the first
  std::uint64_t tag = 0;         // the backend's handle for settling it; opaque to consumers
};

// One durable queue and the type patterns bound to it.
struct QueueSpec {
  std::string name;
  std::vector<std::string> bindings;
};

// Why and when a message was parked.
struct DeadLetterInfo {
  std::string error;
  Clock::time_point first_attempt_at;  // as the runtime knows it (the delivery's created_at); a backend that
                                       // keeps the time of the first attempt itself records that instead
  Clock::time_point last_attempt_at;
};

struct DeadLetter {
  std::string id;  // the dead letter's own id, used to replay or drop it (not the message id)
  std::string queue;
  std::string message_id;
  std::string type;
  std::string payload;
  std::string error;
  int attempts = 0;
  Clock::time_point created_at;        // first published
  Clock::time_point first_attempt_at;  // first handled
  Clock::time_point dead_lettered_at;  // last attempt, when it was parked
};

struct DeadLetterQuery {
  std::optional<std::string> queue;  // all queues when absent
  std::size_t limit = 100;
};

// What one queue holds now, and what this MessageQueue object counted since it was opened (rates are derived
// from those totals by whoever samples them).
struct QueueStats {
  std::string queue;
  std::int64_t ready = 0;          // waiting to be delivered
  std::int64_t in_flight = 0;      // delivered, not settled yet (-1: the backend cannot tell)
  std::int64_t retrying = 0;       // waiting out a retry delay (-1: the backend cannot tell)
  std::int64_t dead_lettered = 0;  // parked in the dead-letter queue
  std::uint64_t published_total = 0;
  std::uint64_t acked_total = 0;
  std::uint64_t retried_total = 0;
  std::uint64_t dead_lettered_total = 0;
};

// Takes messages from one queue. Not thread-safe: one thread uses it, and settles on it the deliveries it got
// from it. Destroying it gives every unsettled delivery back to the queue.
class Subscription {
 public:
  virtual ~Subscription() = default;

  // Waits up to `wait` for a delivery; nullopt when none came in time. kUnavailable when the backend is away
  // (the runtime waits and calls again; the backend reconnects on its own).
  virtual Result<std::optional<Delivery>> Next(std::chrono::milliseconds wait) = 0;
  // It may return before the ack is durable (RabbitMQ does not confirm a basic.ack; the embedded queue commits
  // the acks of a prefetch window together, by the next Next that finds its window used up): a crash before
  // then delivers the message again, never loses it. The embedded queue counts it in acked_total once committed.
  virtual Result<void> Ack(const Delivery& delivery) = 0;
  // Delivers it again, no sooner than `delay` from now (the RabbitMQ backend may round the delay to the one
  // of its delay queue for that attempt), with attempt + 1 and `error` as last_error.
  virtual Result<void> Retry(const Delivery& delivery, std::chrono::milliseconds delay,
                             std::string_view error) = 0;
  // Parks it in the dead-letter queue of its queue, with `info`, and removes it from the work queue.
  virtual Result<void> DeadLetter(const Delivery& delivery, const DeadLetterInfo& info) = 0;
};

class MessageQueue {
 public:
  virtual ~MessageQueue() = default;

  virtual std::string_view backend() const = 0;  // "sqlite" or "rabbitmq"

  // Declares a durable queue with its bindings (and, for RabbitMQ, its delay and dead-letter queues).
  // Idempotent; bindings are added, never removed.
  virtual Result<void> DeclareQueue(const QueueSpec& spec) = 0;

  // Publishes every message, in one batch, and returns once all are durable. On error, any of them may have
  // been published (the caller publishes them again; consumers drop duplicates by message id).
  virtual Result<void> Publish(std::span<const OutgoingMessage> messages) = 0;

  // `prefetch` bounds the deliveries held unsettled at a time.
  virtual Result<std::unique_ptr<Subscription>> Subscribe(std::string_view queue, std::size_t prefetch) = 0;

  virtual Result<std::vector<QueueStats>> Stats() = 0;

  virtual Result<std::vector<DeadLetter>> ListDeadLetters(const DeadLetterQuery& query) = 0;
  // Sends the dead letter back to its queue as a fresh delivery (attempt 1, same message id) and removes it
  // from the dead letters. kNotFound when there is no such dead letter.
  virtual Result<void> ReplayDeadLetter(std::string_view id) = 0;
  // kNotFound when there is no such dead letter.
  virtual Result<void> DropDeadLetter(std::string_view id) = 0;

  // Whether the backend is reachable now (readiness, admin API).
  virtual Result<void> Ping() = 0;
};

// True when the topic `pattern` matches the routing key `type` ("event.*" matches "event.ingested";
// "#" matches everything). Shared so that the embedded queue routes exactly as a RabbitMQ topic exchange.
bool TopicMatches(std::string_view pattern, std::string_view type);

}  // namespace cohort::queue
