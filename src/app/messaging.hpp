#pragma once
// Which message queue runs is decided here and nowhere else: RabbitMQ when queue.amqp_url is set, else the
// embedded SQLite queue (config.QueuePath()). Messaging owns, for one process, the queue, the outbox relay
// and the consumer threads, and stops them on destruction.
//
// `serve` runs the relay, and the consumers too when queue.serve_consumers says so (auto: with the embedded
// queue only, whose consumers are threads of serve). `worker` runs the relay and the consumers, no HTTP; with
// RabbitMQ, several workers share the work. Every process declares the whole topology (every consumer's
// queue) before its relay publishes, so that no message is routed to nowhere.

#include <atomic>
#include <functional>
#include <memory>
#include <span>

#include "app/config.hpp"
#include "app/outbox_relay.hpp"
#include "queue/consumer_runtime.hpp"
#include "queue/consumers/consumers.hpp"
#include "queue/message_queue.hpp"
#include "queue/processed_log.hpp"
#include "store/events/event_store.hpp"
#include "store/messaging/outbox.hpp"
#include "store/sql/database.hpp"

namespace cohort::app {

Result<std::unique_ptr<queue::MessageQueue>> OpenMessageQueue(const Config& config);
queue::RuntimeOptions RuntimeOptionsFrom(const Config& config);

enum class MessagingRole { kServe, kWorker };

class Messaging {
 public:
  // Opens the queue and a connection pool of its own to the relational database (so that background work
  // never counts in the API's statement counter nor waits for its connections), declares the topology and
  // starts the threads. `invalidate` drops a user's cached answers (event.ingested); `events` is read by the
  // event.ingested consumer and must outlive this object.
  static Result<std::unique_ptr<Messaging>> Start(const Config& config, MessagingRole role,
                                                  store::EventStore& events, queue::InvalidateUser invalidate);
  ~Messaging();
  Messaging(const Messaging&) = delete;
  Messaging& operator=(const Messaging&) = delete;

  void Stop();

  queue::MessageQueue& queue() { return *queue_; }
  store::Outbox& outbox() { return *outbox_; }
  // The relational database the outbox lives in (this object's own pool).
  store::sql::Database& database() { return *db_; }
  bool consuming() const { return runtime_ != nullptr; }
  // Publishes to the queue at once, not through the outbox (for messages no transaction commits, which
  // OutboxBuffer gathers and names); declares the topology first if it is not yet. Fails when the broker is
  // away.
  Result<void> PublishNow(std::span<const domain::MessageDraft> messages);
  std::uint64_t relayed_total() const { return relay_->relayed_total(); }

 private:
  Messaging() = default;

  std::unique_ptr<store::sql::Database> db_;
  std::unique_ptr<queue::MessageQueue> queue_;
  std::unique_ptr<store::Outbox> outbox_;
  std::unique_ptr<queue::ProcessedLog> processed_;
  std::unique_ptr<OutboxRelay> relay_;
  std::unique_ptr<queue::ConsumerRuntime> runtime_;
  std::function<Result<void>()> declare_topology_;
  std::atomic<bool> declared_{false};
};

}  // namespace cohort::app
