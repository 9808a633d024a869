#pragma once
// The message queue on RabbitMQ (AMQP 0-9-1 through rabbitmq-c). The topology, the headers a message carries
// and how retries, jitter and dead letters map onto the broker are in queue/amqp/README.md. In short:
// - Publish goes to the topic exchange `cohort` (routing key = message type) on one connection with publisher
//   confirms, at most `publish_window` unconfirmed at a time, and returns once the broker confirmed them all.
// - Each consumer queue `cohort.<name>` is consumed on a connection of its own (basic.qos prefetch, manual
// ack);
//   Retry republishes (confirmed) into the attempt's delay queue `cohort.<name>.retry.<n>`, whose TTL hands
//   the message back to the work queue by dead-lettering; DeadLetter republishes (confirmed) into
//   `cohort.dlx`, which routes to `cohort.<name>.dlq`; then the delivery is acked.
// - Dead letters stay in their dead-letter queues: listed by basic.get and requeue, replayed or dropped by
//   scanning the queue for the id (dead_letter_scan_limit messages at most).
// - A broker that is away costs a publisher little: after a failed connect, further calls fail at once with
//   kUnavailable until the backoff (doubling, capped at reconnect_max_delay) allows the next attempt.
// Every network call is bounded by connect_timeout or operation_timeout.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "queue/message_queue.hpp"
#include "queue/retry_policy.hpp"

namespace cohort::queue {

struct AmqpQueueOptions {
  std::string url;  // amqp://user:password@host:port/vhost
  RetryPolicy
      retry;  // the consumer runtime's policy: one delay queue per retried attempt, its TTL the ceiling
  std::size_t publish_window = 256;                     // publishes awaiting their confirm at a time
  std::chrono::milliseconds connect_timeout{2000};      // TCP connect, handshake and login
  std::chrono::milliseconds operation_timeout{5000};    // each declare, get, confirm wait, ...
  std::chrono::milliseconds reconnect_max_delay{5000};  // cap of the publisher's reconnect backoff
  int consumer_heartbeat_seconds = 30;          // consumers' connections (a dead broker is noticed within 2x)
  std::size_t dead_letter_scan_limit = 10'000;  // messages of one dead-letter queue a replay or drop looks at
};

// Checks the options and the URL; connects lazily (the first call that needs the broker), so that a process
// can start while the broker is away. The returned queue must outlive its subscriptions.
Result<std::unique_ptr<MessageQueue>> OpenAmqpQueue(const AmqpQueueOptions& options);

// The broker-side names of a consumer queue (README.md).
namespace amqp_names {
inline constexpr std::string_view kExchange = "cohort";                // topic
inline constexpr std::string_view kDeadLetterExchange = "cohort.dlx";  // direct
std::string WorkQueue(std::string_view queue);                         // cohort.<queue>
std::string RetryQueue(std::string_view queue, int attempt);           // cohort.<queue>.retry.<attempt>
std::string DeadLetterQueue(std::string_view queue);                   // cohort.<queue>.dlq
}  // namespace amqp_names

}  // namespace cohort::queue
