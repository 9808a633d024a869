#include "queue/amqp/amqp_queue.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>

#include "queue/amqp/amqp_connection.hpp"

namespace cohort::queue {
namespace amqp_names {

std::string WorkQueue(std::string_view queue) { return fmt::format("cohort.{}", queue); }
std::string RetryQueue(std::string_view queue, int attempt) {
  return fmt::format("cohort.{}.retry.{}", queue, attempt);
}
std::string DeadLetterQueue(std::string_view queue) { return fmt::format("cohort.{}.dlq", queue); }

}  // namespace amqp_names

namespace {

using amqp::Connection;
using amqp::ConnectionOptions;
using amqp::Properties;
using amqp::Received;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// What travels in the headers (README.md).
constexpr std::string_view kAttemptHeader = "x-cohort-attempt";
constexpr std::string_view kCreatedAtHeader = "x-cohort-created-at-ms";
constexpr std::string_view kLastErrorHeader = "x-cohort-last-error";
constexpr std::string_view kFirstAttemptAtHeader = "x-cohort-first-attempt-at-ms";
constexpr std::string_view kDeadLetteredAtHeader = "x-cohort-dead-lettered-at-ms";
constexpr std::string_view kDeadLetterIdHeader = "x-cohort-dead-letter-id";
constexpr std::string_view kContentType = "application/json";
// A header must fit in one frame with the rest of the properties; an error text longer than this is cut.
constexpr std::size_t kMaxErrorBytes = 4096;
constexpr milliseconds kFirstReconnectDelay{100};

std::int64_t ToMs(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}
Clock::time_point FromMs(std::int64_t ms) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(milliseconds(ms)));
}

std::optional<std::int64_t> IntHeader(const amqp::Headers& headers, std::string_view key) {
  auto it = headers.find(key);
  if (it == headers.end()) return std::nullopt;
  if (const auto* number = std::get_if<std::int64_t>(&it->second)) return *number;
  return std::nullopt;
}

std::string TextHeader(const amqp::Headers& headers, std::string_view key) {
  auto it = headers.find(key);
  if (it == headers.end()) return {};
  if (const auto* text = std::get_if<std::string>(&it->second)) return *text;
  return {};
}

std::string RandomId() {
  thread_local std::mt19937_64 random{(std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()};
  return fmt::format("{:016x}{:016x}", random(), random());
}

// Queue names become parts of broker names and of dead-letter ids ("<queue>/<key>").
Result<void> CheckQueueName(std::string_view name) {
  const bool valid = !name.empty() && name.size() <= 200 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
  if (!valid) {
    return Error::InvalidArgument(
        fmt::format("queue name '{}' must be 1 to 200 letters, digits, '_', '-' or '.'", name));
  }
  return {};
}

Properties MessageProperties(std::string_view id, std::string_view type, Clock::time_point created_at,
                             int attempt) {
  Properties p;
  p.message_id = id;
  p.type = type;
  p.content_type = kContentType;
  p.timestamp_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(created_at.time_since_epoch()).count();
  p.headers.emplace(kAttemptHeader, std::int64_t{attempt});
  p.headers.emplace(kCreatedAtHeader, ToMs(created_at));
  return p;
}

Clock::time_point CreatedAt(const Received& r) {
  if (auto ms = IntHeader(r.properties.headers, kCreatedAtHeader)) return FromMs(*ms);
  if (r.properties.timestamp_seconds > 0)
    return Clock::time_point(std::chrono::seconds(r.properties.timestamp_seconds));
  return Clock::now();
}

int Attempt(const Received& r) {
  return static_cast<int>(
      std::clamp<std::int64_t>(IntHeader(r.properties.headers, kAttemptHeader).value_or(1), 1, 1 << 30));
}

// Dead-letter ids are "<queue>/<key>": the key is the id the consumer gave it when it parked it, or, for a
// message the broker dead-lettered by itself (rejected, expired), its message id.
struct DeadLetterKey {
  std::string queue;
  std::string key;
};

std::optional<DeadLetterKey> ParseDeadLetterId(std::string_view id) {
  const std::size_t slash = id.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == id.size()) return std::nullopt;
  DeadLetterKey parsed{std::string(id.substr(0, slash)), std::string(id.substr(slash + 1))};
  if (!CheckQueueName(parsed.queue)) return std::nullopt;
  return parsed;
}

std::string KeyOf(const Received& r) {
  std::string key = TextHeader(r.properties.headers, kDeadLetterIdHeader);
  return key.empty() ? "m-" + r.properties.message_id : key;
}

DeadLetter ToDeadLetter(std::string_view queue, const Received& r) {
  DeadLetter letter;
  letter.id = fmt::format("{}/{}", queue, KeyOf(r));
  letter.queue = queue;
  letter.message_id = r.properties.message_id;
  letter.type = r.properties.type.empty() ? r.routing_key : r.properties.type;
  letter.payload = r.body;
  letter.error = TextHeader(r.properties.headers, kLastErrorHeader);
  if (TextHeader(r.properties.headers, kDeadLetterIdHeader).empty()) {
    letter.error = fmt::format("dead-lettered by the broker ({}){}{}",
                               r.death_reason.empty() ? "unknown reason" : r.death_reason,
                               letter.error.empty() ? "" : "; last error: ", letter.error);
  }
  letter.attempts = Attempt(r);
  letter.created_at = CreatedAt(r);
  const auto first = IntHeader(r.properties.headers, kFirstAttemptAtHeader);
  letter.first_attempt_at = first ? FromMs(*first) : letter.created_at;
  const auto parked = IntHeader(r.properties.headers, kDeadLetteredAtHeader);
  letter.dead_lettered_at = parked ? FromMs(*parked) : letter.created_at;
  return letter;
}

// Counters of one queue, shared by the queue object and its subscriptions.
struct QueueState {
  QueueSpec spec;
  std::atomic<std::uint64_t> published{0};
  std::atomic<std::uint64_t> acked{0};
  std::atomic<std::uint64_t> retried{0};
  std::atomic<std::uint64_t> dead_lettered{0};
};

class AmqpQueue;

class AmqpSubscription final : public Subscription {
 public:
  AmqpSubscription(const AmqpQueue& owner, std::shared_ptr<QueueState> state,
                   std::unique_ptr<Connection> conn)
      : owner_(owner), state_(std::move(state)), conn_(std::move(conn)) {}

  Result<std::optional<Delivery>> Next(milliseconds wait) override;
  Result<void> Ack(const Delivery& delivery) override;
  Result<void> Retry(const Delivery& delivery, milliseconds delay, std::string_view error) override;
  Result<void> DeadLetter(const Delivery& delivery, const DeadLetterInfo& info) override;

 private:
  // Publishes `properties` + the delivery's payload with a confirm, then acks the delivery.
  Result<void> Move(const Delivery& delivery, std::string_view exchange, std::string_view routing_key,
                    const Properties& properties);

  const AmqpQueue& owner_;
  std::shared_ptr<QueueState> state_;
  std::unique_ptr<Connection> conn_;
};

class AmqpQueue final : public MessageQueue {
 public:
  AmqpQueue(amqp::Endpoint endpoint, AmqpQueueOptions options)
      : endpoint_(std::move(endpoint)), options_(std::move(options)) {
    const int retried_attempts = std::max(1, options_.retry.max_attempts - 1);
    for (int attempt = 1; attempt <= retried_attempts; ++attempt) {
      retry_ttls_.push_back(BackoffCeiling(options_.retry, attempt));
    }
  }

  std::string_view backend() const override { return "rabbitmq"; }
  Result<void> DeclareQueue(const QueueSpec& spec) override;
  Result<void> Publish(std::span<const OutgoingMessage> messages) override;
  Result<std::unique_ptr<Subscription>> Subscribe(std::string_view queue, std::size_t prefetch) override;
  Result<std::vector<QueueStats>> Stats() override;
  Result<std::vector<DeadLetter>> ListDeadLetters(const DeadLetterQuery& query) override;
  Result<void> ReplayDeadLetter(std::string_view id) override { return TakeDeadLetter(id, /*replay=*/true); }
  Result<void> DropDeadLetter(std::string_view id) override { return TakeDeadLetter(id, /*replay=*/false); }
  Result<void> Ping() override;

  const AmqpQueueOptions& options() const { return options_; }
  // The delay queue a failed attempt goes to, and that queue's TTL.
  int RetryQueueFor(int attempt) const {
    return std::clamp(attempt, 1, static_cast<int>(retry_ttls_.size()));
  }
  milliseconds RetryTtl(int retry_queue) const {
    return retry_ttls_[static_cast<std::size_t>(retry_queue - 1)];
  }

 private:
  Result<std::unique_ptr<Connection>> Connect(bool confirms, int heartbeat_seconds) const;
  // The publisher connection, opened when missing and the backoff allows; publisher_mutex_ must be held.
  Result<Connection*> Publisher(bool& fresh);
  Result<void> DeclareTopology(Connection& conn, const QueueSpec& spec) const;
  Result<void> PublishBatch(Connection& conn, std::span<const OutgoingMessage> messages) const;
  Result<void> TakeDeadLetter(std::string_view id, bool replay);
  std::shared_ptr<QueueState> State(std::string_view name);
  std::vector<std::shared_ptr<QueueState>> States() const;

  const amqp::Endpoint endpoint_;
  const AmqpQueueOptions options_;
  std::vector<milliseconds> retry_ttls_;  // of cohort.<queue>.retry.<n>, n = 1..

  mutable std::mutex states_mutex_;
  std::map<std::string, std::shared_ptr<QueueState>, std::less<>> states_;

  std::mutex publisher_mutex_;
  std::unique_ptr<Connection> publisher_;
  SteadyClock::time_point next_connect_{};
  milliseconds reconnect_delay_ = kFirstReconnectDelay;
  std::string last_connect_error_;
};

// ---- AmqpQueue
// ---------------------------------------------------------------------------------------------------

Result<std::unique_ptr<Connection>> AmqpQueue::Connect(bool confirms, int heartbeat_seconds) const {
  ConnectionOptions connection;
  connection.connect_timeout = options_.connect_timeout;
  connection.rpc_timeout = options_.operation_timeout;
  connection.heartbeat_seconds = heartbeat_seconds;
  connection.confirms = confirms;
  return Connection::Open(endpoint_, connection);
}

std::shared_ptr<QueueState> AmqpQueue::State(std::string_view name) {
  std::lock_guard lock(states_mutex_);
  auto it = states_.find(name);
  if (it != states_.end()) return it->second;
  auto state = std::make_shared<QueueState>();
  state->spec.name = name;
  states_.emplace(std::string(name), state);
  return state;
}

std::vector<std::shared_ptr<QueueState>> AmqpQueue::States() const {
  std::lock_guard lock(states_mutex_);
  std::vector<std::shared_ptr<QueueState>> states;
  for (const auto& [name, state] : states_) states.push_back(state);
  return states;
}

Result<Connection*> AmqpQueue::Publisher(bool& fresh) {
  fresh = false;
  if (publisher_ != nullptr && !publisher_->broken()) return publisher_.get();
  publisher_.reset();
  const auto now = SteadyClock::now();
  if (now < next_connect_) {
    return Error::Unavailable(fmt::format("amqp: broker unreachable, next attempt in {} ms: {}",
                                          std::chrono::ceil<milliseconds>(next_connect_ - now).count(),
                                          last_connect_error_));
  }
  auto opened = Connect(/*confirms=*/true, /*heartbeat_seconds=*/0);
  Result<void> declared;
  if (opened) {
    // The broker may have come back without its definitions (a new node): declare what this process uses.
    std::vector<QueueSpec> specs;
    {
      std::lock_guard lock(states_mutex_);
      for (const auto& [name, state] : states_) specs.push_back(state->spec);
    }
    for (const QueueSpec& spec : specs) {
      declared = DeclareTopology(**opened, spec);
      if (!declared) break;
    }
  }
  if (!opened || !declared) {
    const Error& error = !opened ? opened.error() : declared.error();
    last_connect_error_ = error.internal_message;
    next_connect_ = SteadyClock::now() + reconnect_delay_;
    reconnect_delay_ =
        std::min(reconnect_delay_ * 2, std::max(options_.reconnect_max_delay, kFirstReconnectDelay));
    return error;
  }
  reconnect_delay_ = kFirstReconnectDelay;
  publisher_ = std::move(opened).value();
  fresh = true;
  return publisher_.get();
}

Result<void> AmqpQueue::DeclareTopology(Connection& conn, const QueueSpec& spec) const {
  using namespace amqp_names;
  const std::string work = WorkQueue(spec.name);
  const std::string dead = DeadLetterQueue(spec.name);
  COHORT_TRY(conn.DeclareExchange(kExchange, "topic"));
  COHORT_TRY(conn.DeclareExchange(kDeadLetterExchange, "direct"));
  COHORT_TRY(conn.DeclareQueue(dead, {}));
  COHORT_TRY(conn.Bind(dead, kDeadLetterExchange, work));
  // What the broker dead-letters from the work queue by itself (a reject) lands in the same dead-letter
  // queue.
  COHORT_TRY(conn.DeclareQueue(work, {{"x-dead-letter-exchange", std::string(kDeadLetterExchange)},
                                      {"x-dead-letter-routing-key", work}}));
  for (std::size_t i = 0; i < retry_ttls_.size(); ++i) {
    const int attempt = static_cast<int>(i) + 1;
    auto declared = conn.DeclareQueue(RetryQueue(spec.name, attempt),
                                      {{"x-message-ttl", std::int64_t{retry_ttls_[i].count()}},
                                       {"x-dead-letter-exchange", std::string{}},  // the default exchange
                                       {"x-dead-letter-routing-key", work}});
    if (!declared && declared.error().code == ErrorCode::kFailedPrecondition) {
      return Error{
          ErrorCode::kFailedPrecondition, "the retry queues do not match the retry settings",
          fmt::format(
              "{} (its x-message-ttl must be {} ms: queue.backoff_ms or queue.backoff_max_ms changed; "
              "delete the queue once it is empty, it is declared again)",
              declared.error().internal_message, retry_ttls_[i].count())};
    }
    COHORT_TRY(std::move(declared));
  }
  for (const std::string& binding : spec.bindings) COHORT_TRY(conn.Bind(work, kExchange, binding));
  return {};
}

Result<void> AmqpQueue::DeclareQueue(const QueueSpec& spec) {
  COHORT_TRY(CheckQueueName(spec.name));
  for (const std::string& binding : spec.bindings) {
    if (binding.empty() || binding.size() > 255) {
      return Error::InvalidArgument(fmt::format("queue {}: a binding must be 1 to 255 bytes", spec.name));
    }
  }
  std::lock_guard lock(publisher_mutex_);
  bool fresh = false;
  COHORT_ASSIGN_OR_RETURN(Connection * conn, Publisher(fresh));
  COHORT_TRY(DeclareTopology(*conn, spec));
  std::shared_ptr<QueueState> state = State(spec.name);
  std::lock_guard states_lock(states_mutex_);
  for (const std::string& binding : spec.bindings) {
    if (std::find(state->spec.bindings.begin(), state->spec.bindings.end(), binding) ==
        state->spec.bindings.end()) {
      state->spec.bindings.push_back(binding);
    }
  }
  return {};
}

Result<void> AmqpQueue::PublishBatch(Connection& conn, std::span<const OutgoingMessage> messages) const {
  const std::size_t window = std::max<std::size_t>(1, options_.publish_window);
  for (const OutgoingMessage& message : messages) {
    if (conn.unconfirmed() >= window) {
      COHORT_TRY(conn.WaitConfirms(window - 1, SteadyClock::now() + options_.operation_timeout));
    }
    COHORT_TRY(conn.Publish(amqp_names::kExchange, message.type,
                            MessageProperties(message.id, message.type, message.created_at, 1),
                            message.payload));
  }
  return conn.WaitConfirms(0, SteadyClock::now() + options_.operation_timeout);
}

Result<void> AmqpQueue::Publish(std::span<const OutgoingMessage> messages) {
  for (const OutgoingMessage& message : messages) {
    if (message.id.empty() || message.type.empty() || message.type.size() > 255) {
      return Error::InvalidArgument("a message needs an id and a type of 1 to 255 bytes");
    }
  }
  if (messages.empty()) return {};
  {
    std::lock_guard lock(publisher_mutex_);
    // A connection that went stale while idle (the broker restarted) fails only when used: then try once more
    // on a new one. Messages of the failed attempt may have been published; consumers drop duplicates by id.
    for (int round = 0;; ++round) {
      bool fresh = false;
      COHORT_ASSIGN_OR_RETURN(Connection * conn, Publisher(fresh));
      Result<void> published = PublishBatch(*conn, messages);
      if (published) break;
      if (!conn->broken() || fresh || round > 0) return published;
    }
  }
  std::lock_guard lock(states_mutex_);  // bindings change under it
  for (const auto& [name, state] : states_) {
    std::uint64_t routed = 0;
    for (const OutgoingMessage& message : messages) {
      const bool matches =
          std::any_of(state->spec.bindings.begin(), state->spec.bindings.end(),
                      [&](const std::string& binding) { return TopicMatches(binding, message.type); });
      routed += matches ? 1 : 0;
    }
    state->published += routed;
  }
  return {};
}

Result<std::unique_ptr<Subscription>> AmqpQueue::Subscribe(std::string_view queue, std::size_t prefetch) {
  COHORT_TRY(CheckQueueName(queue));
  COHORT_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn,
                          Connect(/*confirms=*/true, options_.consumer_heartbeat_seconds));
  COHORT_TRY(conn->Qos(static_cast<std::uint16_t>(std::clamp<std::size_t>(prefetch, 1, 65535))));
  COHORT_TRY(conn->Consume(amqp_names::WorkQueue(queue)));
  return std::unique_ptr<Subscription>(
      std::make_unique<AmqpSubscription>(*this, State(queue), std::move(conn)));
}

Result<std::vector<QueueStats>> AmqpQueue::Stats() {
  std::vector<QueueStats> stats;
  std::lock_guard lock(publisher_mutex_);
  bool fresh = false;
  COHORT_ASSIGN_OR_RETURN(Connection * conn, Publisher(fresh));
  for (const auto& state : States()) {
    const std::string& name = state->spec.name;
    QueueStats s;
    s.queue = name;
    COHORT_ASSIGN_OR_RETURN(amqp::QueueCounts work, conn->InspectQueue(amqp_names::WorkQueue(name)));
    s.ready = work.messages;
    s.in_flight = -1;  // AMQP tells ready messages only; unacknowledged ones need the management API
    for (std::size_t i = 1; i <= retry_ttls_.size(); ++i) {
      COHORT_ASSIGN_OR_RETURN(amqp::QueueCounts retry,
                              conn->InspectQueue(amqp_names::RetryQueue(name, static_cast<int>(i))));
      s.retrying += retry.messages;
    }
    COHORT_ASSIGN_OR_RETURN(amqp::QueueCounts dead, conn->InspectQueue(amqp_names::DeadLetterQueue(name)));
    s.dead_lettered = dead.messages;
    s.published_total = state->published;
    s.acked_total = state->acked;
    s.retried_total = state->retried;
    s.dead_lettered_total = state->dead_lettered;
    stats.push_back(std::move(s));
  }
  return stats;
}

Result<std::vector<DeadLetter>> AmqpQueue::ListDeadLetters(const DeadLetterQuery& query) {
  std::vector<std::string> queues;
  if (query.queue) {
    COHORT_TRY(CheckQueueName(*query.queue));
    queues.push_back(*query.queue);
  } else {
    for (const auto& state : States()) queues.push_back(state->spec.name);
  }
  std::vector<DeadLetter> letters;
  if (queues.empty() || query.limit == 0) return letters;
  // A connection of its own: whatever it holds is requeued when it closes, whatever happens here.
  COHORT_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, Connect(/*confirms=*/false, 0));
  for (const std::string& queue : queues) {
    std::uint64_t last_tag = 0;
    while (letters.size() < query.limit) {
      auto got = conn->Get(amqp_names::DeadLetterQueue(queue));
      if (!got && got.error().code == ErrorCode::kNotFound) break;  // never declared: no dead letters
      COHORT_TRY(got);
      if (!got->has_value()) break;
      last_tag = (*got)->delivery_tag;
      letters.push_back(ToDeadLetter(queue, **got));
    }
    if (last_tag != 0) COHORT_TRY(conn->RequeueUpTo(last_tag));
  }
  return letters;
}

Result<void> AmqpQueue::TakeDeadLetter(std::string_view id, bool replay) {
  std::optional<DeadLetterKey> key = ParseDeadLetterId(id);
  if (!key) return Error::NotFound(fmt::format("no dead letter '{}'", id));
  COHORT_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, Connect(/*confirms=*/true, 0));
  const std::string dead_queue = amqp_names::DeadLetterQueue(key->queue);
  std::uint64_t last_tag = 0;
  std::optional<Received> found;
  for (std::size_t scanned = 0; scanned < options_.dead_letter_scan_limit && !found; ++scanned) {
    auto got = conn->Get(dead_queue);
    if (!got && got.error().code == ErrorCode::kNotFound) break;
    COHORT_TRY(got);
    if (!got->has_value()) break;
    if (KeyOf(**got) == key->key) {
      found = std::move(**got);
    } else {
      last_tag = (*got)->delivery_tag;
    }
  }
  if (!found) return Error::NotFound(fmt::format("no dead letter '{}'", id));
  if (replay) {
    // Straight into its own work queue (not through the topic exchange, which would copy it to other queues).
    const Properties properties = MessageProperties(
        found->properties.message_id,
        found->properties.type.empty() ? found->routing_key : found->properties.type, CreatedAt(*found), 1);
    COHORT_TRY(conn->Publish("", amqp_names::WorkQueue(key->queue), properties, found->body));
    COHORT_TRY(conn->WaitConfirms(0, SteadyClock::now() + options_.operation_timeout));
  }
  COHORT_TRY(conn->Ack(found->delivery_tag));
  // The others go back in place (they would when the connection closes; this way before the caller goes on).
  if (last_tag != 0) COHORT_TRY(conn->RequeueUpTo(last_tag));
  return {};
}

Result<void> AmqpQueue::Ping() {
  std::lock_guard lock(publisher_mutex_);
  bool fresh = false;
  COHORT_ASSIGN_OR_RETURN(Connection * conn, Publisher(fresh));
  return conn->DeclareExchange(amqp_names::kExchange, "topic");
}

// ---- AmqpSubscription
// --------------------------------------------------------------------------------------------

Result<std::optional<Delivery>> AmqpSubscription::Next(milliseconds wait) {
  COHORT_ASSIGN_OR_RETURN(std::optional<Received> received, conn_->NextDelivery(SteadyClock::now() + wait));
  if (!received) return std::optional<Delivery>{};
  Delivery delivery;
  // A message published by something else than Cohort may lack an id: it gets one, which is not stable.
  delivery.id =
      received->properties.message_id.empty() ? "amqp-" + RandomId() : received->properties.message_id;
  delivery.type = received->properties.type.empty() ? received->routing_key : received->properties.type;
  delivery.payload = std::move(received->body);
  delivery.queue = state_->spec.name;
  delivery.attempt = Attempt(*received);
  delivery.created_at = CreatedAt(*received);
  delivery.last_error = TextHeader(received->properties.headers, kLastErrorHeader);
  delivery.tag = received->delivery_tag;
  return std::optional<Delivery>{std::move(delivery)};
}

Result<void> AmqpSubscription::Ack(const Delivery& delivery) {
  COHORT_TRY(conn_->Ack(delivery.tag));
  ++state_->acked;
  return {};
}

Result<void> AmqpSubscription::Move(const Delivery& delivery, std::string_view exchange,
                                    std::string_view routing_key, const Properties& properties) {
  // Published and confirmed before the ack: a crash in between leaves a duplicate, never a loss.
  COHORT_TRY(conn_->Publish(exchange, routing_key, properties, delivery.payload));
  COHORT_TRY(conn_->WaitConfirms(0, SteadyClock::now() + owner_.options().operation_timeout));
  return conn_->Ack(delivery.tag);
}

Result<void> AmqpSubscription::Retry(const Delivery& delivery, milliseconds delay, std::string_view error) {
  const int retry_queue = owner_.RetryQueueFor(delivery.attempt);
  const milliseconds ttl = owner_.RetryTtl(retry_queue);
  Properties properties =
      MessageProperties(delivery.id, delivery.type, delivery.created_at, delivery.attempt + 1);
  properties.headers.emplace(kLastErrorHeader, std::string(error.substr(0, kMaxErrorBytes)));
  // The jitter: the delay queue's TTL is the attempt's ceiling, the message's own expiration the drawn delay.
  properties.expiration = std::to_string(std::clamp(delay, milliseconds{0}, ttl).count());
  COHORT_TRY(Move(delivery, "", amqp_names::RetryQueue(state_->spec.name, retry_queue), properties));
  ++state_->retried;
  return {};
}

Result<void> AmqpSubscription::DeadLetter(const Delivery& delivery, const DeadLetterInfo& info) {
  Properties properties =
      MessageProperties(delivery.id, delivery.type, delivery.created_at, delivery.attempt);
  properties.headers.emplace(kLastErrorHeader, info.error.substr(0, kMaxErrorBytes));
  properties.headers.emplace(kFirstAttemptAtHeader, ToMs(info.first_attempt_at));
  properties.headers.emplace(kDeadLetteredAtHeader, ToMs(info.last_attempt_at));
  properties.headers.emplace(kDeadLetterIdHeader, RandomId());
  COHORT_TRY(
      Move(delivery, amqp_names::kDeadLetterExchange, amqp_names::WorkQueue(state_->spec.name), properties));
  ++state_->dead_lettered;
  return {};
}

}  // namespace

Result<std::unique_ptr<MessageQueue>> OpenAmqpQueue(const AmqpQueueOptions& options) {
  COHORT_ASSIGN_OR_RETURN(amqp::Endpoint endpoint, amqp::ParseAmqpUrl(options.url));
  if (options.retry.max_attempts < 1) return Error::InvalidArgument("queue.max_attempts must be at least 1");
  if (options.retry.max_attempts > 100) {
    return Error::InvalidArgument(
        "queue.max_attempts above 100 would need as many delay queues per consumer");
  }
  if (options.publish_window == 0) return Error::InvalidArgument("the publish window must be at least 1");
  return std::unique_ptr<MessageQueue>(std::make_unique<AmqpQueue>(std::move(endpoint), options));
}

}  // namespace cohort::queue
