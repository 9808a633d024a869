#include "app/messaging.hpp"

#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "queue/amqp/amqp_queue.hpp"
#include "queue/sqlite/sqlite_queue.hpp"

namespace cohort::app {
namespace {

// The newest events of a user that their stored counters and features are computed from: every event of
// nearly every customer, bounded so that one refresh of a bot-like history stays a bounded read.
constexpr std::size_t kFeatureHistoryLimit = 100'000;

}  // namespace

Result<std::unique_ptr<queue::MessageQueue>> OpenMessageQueue(const Config& config) {
  if (!config.amqp_url.empty()) {
    queue::AmqpQueueOptions options;
    options.url = config.amqp_url;
    options.retry = RuntimeOptionsFrom(config).retry;  // its delay queues follow the runtime's backoff
    return queue::OpenAmqpQueue(options);
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(config.QueuePath()).parent_path(), ec);
  return queue::OpenSqliteQueue(
      {.path = config.QueuePath(),
       .visibility_timeout = std::chrono::milliseconds(config.queue_visibility_timeout_ms),
       .poll_interval = std::chrono::milliseconds(200),
       .connections = static_cast<std::size_t>(config.queue_worker_threads) * 3 + 4});
}

queue::RuntimeOptions RuntimeOptionsFrom(const Config& config) {
  queue::RuntimeOptions options;
  options.retry = {.max_attempts = config.queue_max_attempts,
                   .base_delay = std::chrono::milliseconds(config.queue_backoff_ms),
                   .max_delay = std::chrono::milliseconds(config.queue_backoff_max_ms)};
  options.threads_per_consumer = static_cast<std::size_t>(config.queue_worker_threads);
  options.prefetch = static_cast<std::size_t>(config.queue_prefetch);
  options.processed_retention = std::chrono::hours(config.queue_processed_retention_h);
  options.max_linger = std::chrono::milliseconds(config.queue_visibility_timeout_ms / 3);
  return options;
}

Result<std::unique_ptr<Messaging>> Messaging::Start(const Config& config, MessagingRole role,
                                                    store::EventStore& events, queue::InvalidateUser invalidate) {
  std::unique_ptr<Messaging> m(new Messaging());
  const std::size_t connections = static_cast<std::size_t>(config.queue_worker_threads) * 3 + 2;
  COHORT_ASSIGN_OR_RETURN(m->db_, store::sql::OpenDatabase(config.SqlitePath(), config.postgres_url, connections));
  m->outbox_ = std::make_unique<store::Outbox>(*m->db_);
  COHORT_TRY(m->outbox_->Migrate());
  COHORT_ASSIGN_OR_RETURN(m->queue_, OpenMessageQueue(config));
  m->processed_ = std::make_unique<queue::ProcessedLog>(*m->db_);

  const bool consume = role == MessagingRole::kWorker || config.queue_serve_consumers == "on" ||
                       (config.queue_serve_consumers == "auto" && config.amqp_url.empty());
  const std::vector<std::shared_ptr<queue::Consumer>> consumers = {
      queue::MakeWelcomeNotifier(*m->db_,
                                 {config.webhook_url, std::chrono::milliseconds(config.webhook_timeout_ms)}),
      queue::MakeUserCountersUpdater(
          *m->db_,
          [&events](std::string_view user) {
            return events.UserEvents({.user_id = std::string(user), .limit = kFeatureHistoryLimit, .details = false});
          },
          std::move(invalidate)),
      queue::MakeImpressionCounter(*m->db_),
  };
  if (consume) {
    m->runtime_ =
        std::make_unique<queue::ConsumerRuntime>(*m->queue_, m->processed_.get(), [&] {
          auto options = RuntimeOptionsFrom(config);
          // In serve, the answers come first: the consumers run as SCHED_IDLE, on the CPU the API's threads leave.
          // At nice 19 (about 1.5 % of a nice-0 thread's share where SCHED_IDLE has about 0.3 %) the impressions
          // consumer still took 7-8 us of CPU per answer served from the warm cache while wrk saturated both
          // cores, a third of what the answers took, and fell behind anyway; as SCHED_IDLE 1-3 us, and the same
          // server answered 8-31 % more requests (three runs each). Its messages wait on disk until the load drops.
          if (role == MessagingRole::kServe) options.background = true;
          return options;
        }());
    for (const auto& consumer : consumers) m->runtime_->Add(consumer);
  }
  queue::MessageQueue& q = *m->queue_;
  m->declare_topology_ = [&q, consumers]() -> Result<void> {
    for (const auto& consumer : consumers) COHORT_TRY(q.DeclareQueue(consumer->spec()));
    return {};
  };
  m->relay_ = std::make_unique<OutboxRelay>(
      *m->outbox_, *m->queue_,
      RelayOptions{.batch = static_cast<std::size_t>(config.queue_relay_batch),
                   .idle_interval = std::chrono::milliseconds(config.queue_relay_interval_ms),
                   .prepare = m->declare_topology_});
  // Declared now when the queue is reachable (so that the admin API lists every queue at once), else by the
  // relay before its first publish.
  if (auto declared = m->declare_topology_(); !declared) {
    spdlog::warn("messaging: cannot declare the queues yet: {} {}", declared.error().client_message,
                 declared.error().internal_message);
  } else {
    m->declared_ = true;
  }
  m->relay_->Start();
  if (m->runtime_) m->runtime_->Start();
  spdlog::info("messaging: queue={}, consumers {}, webhook {}", m->queue_->backend(),
               consume ? "running" : "elsewhere (cohort worker)", config.webhook_url.empty() ? "off" : "on");
  return m;
}

Messaging::~Messaging() { Stop(); }

Result<void> Messaging::PublishNow(std::span<const domain::MessageDraft> messages) {
  if (!declared_) {
    COHORT_TRY(declare_topology_());
    declared_ = true;
  }
  std::vector<queue::OutgoingMessage> outgoing;
  outgoing.reserve(messages.size());
  const auto now = Clock::now();
  for (const domain::MessageDraft& m : messages)
    outgoing.push_back({m.id, m.type, m.payload, now});
  return queue_->Publish(outgoing);
}

void Messaging::Stop() {
  // The relay first: nothing new is published while the consumers finish what they hold.
  if (relay_) relay_->Stop();
  if (runtime_) runtime_->Stop();
}

}  // namespace cohort::app
