#pragma once
// One AMQP 0-9-1 connection through rabbitmq-c, with one channel (1), every network call bounded by a
// timeout. rabbitmq-c is synchronous and not thread-safe: a Connection belongs to one thread at a time.
// Frames arrive in one stream, so one pump (Pump) reads them all: publisher confirms (basic.ack / basic.nack,
// which rabbitmq-c 0.11 has no helper for), deliveries (buffered until NextDelivery takes them) and closes.
// Any transport or protocol failure marks the connection broken; its owner drops it and opens a new one (no
// in-place recovery: the broker requeues whatever the old channel held unacknowledged).

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.hpp"

struct amqp_rpc_reply_t_;  // <amqp.h>, kept out of this header

namespace cohort::queue::amqp {

// Where to connect, from an amqp:// URL (amqp://user:password@host:port/vhost).
struct Endpoint {
  std::string host;
  int port = 5672;
  std::string user;
  std::string password;
  std::string vhost;
};
Result<Endpoint> ParseAmqpUrl(std::string_view url);

struct ConnectionOptions {
  std::chrono::milliseconds connect_timeout{2000};  // TCP connect, then the AMQP handshake and login
  std::chrono::milliseconds rpc_timeout{5000};      // each synchronous method (declare, bind, qos, ...)
  int heartbeat_seconds = 0;                        // 0: none (a connection that is seldom pumped)
  bool confirms = false;                            // confirm.select on the channel
};

// Header values the queue writes and reads; other kinds are skipped when reading.
using HeaderValue = std::variant<std::int64_t, std::string>;
using Headers = std::map<std::string, HeaderValue, std::less<>>;

// A queue argument (x-message-ttl, x-dead-letter-exchange, ...).
using Arguments = Headers;

struct Properties {
  std::string message_id;
  std::string type;
  std::string content_type;
  std::optional<std::string>
      expiration;  // per-message TTL in milliseconds, as AMQP wants it: a decimal string
  std::int64_t timestamp_seconds = 0;
  bool persistent = true;
  Headers headers;
};

// A message taken from a queue (basic.deliver or basic.get-ok).
struct Received {
  std::uint64_t delivery_tag = 0;
  bool redelivered = false;
  std::string exchange;
  std::string routing_key;
  Properties properties;
  std::string body;
  // From the broker's x-death header (its first entry: the latest dead-lettering), when there is one.
  std::string death_reason;
  std::string death_queue;
};

struct QueueCounts {
  std::int64_t messages = 0;  // ready (not delivered, not unacknowledged)
  std::int64_t consumers = 0;
};

class Connection {
 public:
  // Connects, logs in and opens channel 1 (with confirms if asked); kUnavailable when the broker cannot be
  // reached within connect_timeout, kUnauthenticated when it refuses the login.
  static Result<std::unique_ptr<Connection>> Open(const Endpoint& endpoint, const ConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool broken() const { return broken_; }

  Result<void> DeclareExchange(std::string_view name, std::string_view type);
  // Durable queue. A queue that exists with other arguments fails with kFailedPrecondition (and the channel
  // is opened again, so the connection stays usable).
  Result<void> DeclareQueue(std::string_view name, const Arguments& arguments);
  // Passive declare: kNotFound when there is no such queue (the channel is opened again).
  Result<QueueCounts> InspectQueue(std::string_view name);
  Result<void> Bind(std::string_view queue, std::string_view exchange, std::string_view routing_key);
  Result<void> Qos(std::uint16_t prefetch);
  Result<void> Consume(std::string_view queue);

  // Sends one message. With confirms, it counts as unconfirmed until the broker acks it; WaitConfirms waits.
  Result<void> Publish(std::string_view exchange, std::string_view routing_key, const Properties& properties,
                       std::string_view body);
  std::size_t unconfirmed() const { return unconfirmed_.size(); }
  // Pumps frames until at most `max_unconfirmed` publishes are unconfirmed: kUnavailable if the broker nacked
  // one since the last call (the broker could not make it durable), kDeadlineExceeded at `deadline` (the
  // connection is then broken: which of them were confirmed is unknown).
  Result<void> WaitConfirms(std::size_t max_unconfirmed, std::chrono::steady_clock::time_point deadline);

  // The next delivery of the consumer (Consume), pumping frames until `deadline`; nullopt when none came.
  Result<std::optional<Received>> NextDelivery(std::chrono::steady_clock::time_point deadline);
  // basic.get without auto-ack; nullopt when the queue is empty.
  Result<std::optional<Received>> Get(std::string_view queue);

  Result<void> Ack(std::uint64_t delivery_tag);
  // Gives back every unacknowledged delivery up to `delivery_tag` (multiple), to be delivered again.
  Result<void> RequeueUpTo(std::uint64_t delivery_tag);
  // basic.reject without requeue: the broker dead-letters it (the queue's x-dead-letter-exchange) or drops
  // it.
  Result<void> Reject(std::uint64_t delivery_tag);

 private:
  Connection() = default;
  struct State;

  // Reads one frame (up to `deadline`) and acts on it; false when none came in time.
  Result<bool> Pump(std::chrono::steady_clock::time_point deadline);
  Result<Received> ReadContent(Received received);
  // The reply of the last synchronous method (or `reply`); a channel the broker closed is opened again.
  Result<void> CheckRpc(std::string_view what, const amqp_rpc_reply_t_* reply = nullptr);
  Result<void> OpenChannel();
  Error Broken(std::string message);

  std::unique_ptr<State> state_;
  ConnectionOptions options_;
  bool broken_ = false;
  std::string broken_reason_;
  std::uint64_t next_publish_seq_ = 1;
  std::set<std::uint64_t> unconfirmed_;
  bool nacked_ = false;
  std::deque<Received> deliveries_;
};

}  // namespace cohort::queue::amqp
