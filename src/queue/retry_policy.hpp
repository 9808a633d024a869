#pragma once
// What happens to a delivery after its handler ran: a pure decision, shared by every backend.

#include <chrono>
#include <cstdint>
#include <random>

#include "queue/consumer.hpp"

namespace cohort::queue {

struct RetryPolicy {
  int max_attempts = 5;                             // attempts in all, the first included
  std::chrono::milliseconds base_delay{1000};       // before the second attempt (before jitter)
  std::chrono::milliseconds max_delay{5 * 60'000};  // cap of one delay
};

enum class Settlement { kAck, kRetry, kDeadLetter };

struct Decision {
  Settlement settlement = Settlement::kAck;
  std::chrono::milliseconds delay{0};  // for kRetry
};

// base × 2^(attempt-1), capped at max_delay, then drawn uniformly from [half, whole] so that messages that
// failed together do not all come back together.
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt, std::mt19937_64& random);
// The upper end of that draw: base × 2^(attempt-1), capped at max_delay. The RabbitMQ backend sizes the delay
// queue of each attempt with it (queue/amqp/README.md).
std::chrono::milliseconds BackoffCeiling(const RetryPolicy& policy, int attempt);

// Ack stays ack; Reject dead-letters; Retry retries until `attempt` reaches max_attempts, then dead-letters.
Decision Decide(const RetryPolicy& policy, int attempt, const HandlerResult& result, std::mt19937_64& random);

}  // namespace cohort::queue
