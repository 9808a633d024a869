#pragma once
// Moves outbox rows (store/messaging/outbox.hpp) to the message queue: reads the oldest rows, publishes them
// in one batch (which returns once the queue has them durably), then deletes them. At-least-once: a relay
// that dies between publish and delete, or two relays (two serve processes on one PostgreSQL) reading the
// same rows, publish a row twice under the same message id, which the consumers' processed-message records
// drop. While the queue is away the rows wait in the outbox; the API that wrote them is not held up.

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "common/result.hpp"
#include "queue/message_queue.hpp"
#include "store/messaging/outbox.hpp"

namespace cohort::app {

struct RelayOptions {
  std::size_t batch = 500;
  std::chrono::milliseconds idle_interval{100};     // between looks at an empty outbox
  std::chrono::milliseconds max_error_delay{5000};  // cap of the backoff while the queue or database is away
  // Runs before the first publish, and again until it succeeds: declares the topology, so that a relay
  // started while its broker is down routes nothing to nowhere once the broker is up.
  std::function<Result<void>()> prepare;
};

class OutboxRelay {
 public:
  OutboxRelay(store::Outbox& outbox, queue::MessageQueue& queue, RelayOptions options)
      : outbox_(outbox), queue_(queue), options_(options) {}
  ~OutboxRelay() { Stop(); }
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  // Relays one batch; returns how many rows it published.
  Result<std::size_t> RelayOnce();

  void Start();
  void Stop();

  std::uint64_t relayed_total() const { return relayed_.load(); }

 private:
  void Run();

  store::Outbox& outbox_;
  queue::MessageQueue& queue_;
  RelayOptions options_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> relayed_{0};
  bool prepared_ = false;  // relay thread only
  std::thread thread_;
};

}  // namespace cohort::app
