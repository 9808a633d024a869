#include "queue/amqp/amqp_connection.hpp"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <fmt/format.h>
#include <sys/time.h>

#include <algorithm>
#include <cstring>

namespace cohort::queue::amqp {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr amqp_channel_t kChannel = 1;
constexpr int kFrameMax = 131072;

// rabbitmq-c takes non-const buffers for data it only reads.
amqp_bytes_t Bytes(std::string_view text) { return {text.size(), const_cast<char*>(text.data())}; }
std::string Text(amqp_bytes_t bytes) { return {static_cast<const char*>(bytes.bytes), bytes.len}; }

timeval ToTimeval(std::chrono::milliseconds ms) {
  ms = std::max(ms, std::chrono::milliseconds{0});
  return {static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

timeval Remaining(SteadyClock::time_point deadline) {
  return ToTimeval(std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now()));
}

std::optional<std::int64_t> IntField(const amqp_field_value_t& value) {
  switch (value.kind) {
    case AMQP_FIELD_KIND_I8:
      return value.value.i8;
    case AMQP_FIELD_KIND_U8:
      return value.value.u8;
    case AMQP_FIELD_KIND_I16:
      return value.value.i16;
    case AMQP_FIELD_KIND_U16:
      return value.value.u16;
    case AMQP_FIELD_KIND_I32:
      return value.value.i32;
    case AMQP_FIELD_KIND_U32:
      return value.value.u32;
    case AMQP_FIELD_KIND_I64:
      return value.value.i64;
    case AMQP_FIELD_KIND_U64:
    case AMQP_FIELD_KIND_TIMESTAMP:
      return static_cast<std::int64_t>(value.value.u64);
    default:
      return std::nullopt;
  }
}

std::optional<std::string> TextField(const amqp_field_value_t& value) {
  if (value.kind == AMQP_FIELD_KIND_UTF8 || value.kind == AMQP_FIELD_KIND_BYTES)
    return Text(value.value.bytes);
  return std::nullopt;
}

// The table as the publish or declare call needs it; points into `source`, which must outlive it.
class EncodedTable {
 public:
  explicit EncodedTable(const Headers& source) {
    entries_.reserve(source.size());
    for (const auto& [key, value] : source) {
      amqp_table_entry_t entry{};
      entry.key = Bytes(key);
      if (const auto* number = std::get_if<std::int64_t>(&value)) {
        entry.value.kind = AMQP_FIELD_KIND_I64;
        entry.value.value.i64 = *number;
      } else {
        entry.value.kind = AMQP_FIELD_KIND_UTF8;
        entry.value.value.bytes = Bytes(std::get<std::string>(value));
      }
      entries_.push_back(entry);
    }
  }
  amqp_table_t table() {
    return {static_cast<int>(entries_.size()), entries_.empty() ? nullptr : entries_.data()};
  }

 private:
  std::vector<amqp_table_entry_t> entries_;
};

void DecodeProperties(const amqp_basic_properties_t& in, Received& out) {
  Properties& p = out.properties;
  if (in._flags & AMQP_BASIC_MESSAGE_ID_FLAG) p.message_id = Text(in.message_id);
  if (in._flags & AMQP_BASIC_TYPE_FLAG) p.type = Text(in.type);
  if (in._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) p.content_type = Text(in.content_type);
  if (in._flags & AMQP_BASIC_EXPIRATION_FLAG) p.expiration = Text(in.expiration);
  if (in._flags & AMQP_BASIC_TIMESTAMP_FLAG) p.timestamp_seconds = static_cast<std::int64_t>(in.timestamp);
  p.persistent = (in._flags & AMQP_BASIC_DELIVERY_MODE_FLAG) && in.delivery_mode == AMQP_DELIVERY_PERSISTENT;
  if (!(in._flags & AMQP_BASIC_HEADERS_FLAG)) return;
  for (int i = 0; i < in.headers.num_entries; ++i) {
    const amqp_table_entry_t& entry = in.headers.entries[i];
    std::string key = Text(entry.key);
    if (auto number = IntField(entry.value)) {
      p.headers.emplace(std::move(key), *number);
    } else if (auto text = TextField(entry.value)) {
      p.headers.emplace(std::move(key), std::move(*text));
    } else if (key == "x-death" && entry.value.kind == AMQP_FIELD_KIND_ARRAY &&
               entry.value.value.array.num_entries > 0 &&
               entry.value.value.array.entries[0].kind == AMQP_FIELD_KIND_TABLE) {
      // The broker puts its latest dead-lettering first.
      const amqp_table_t& death = entry.value.value.array.entries[0].value.table;
      for (int j = 0; j < death.num_entries; ++j) {
        std::string field = Text(death.entries[j].key);
        auto value = TextField(death.entries[j].value);
        if (!value) continue;
        if (field == "reason") out.death_reason = *value;
        if (field == "queue") out.death_queue = *value;
      }
    }
  }
}

}  // namespace

struct Connection::State {
  amqp_connection_state_t conn = nullptr;
  ~State() {
    if (conn != nullptr) amqp_destroy_connection(conn);
  }
};

Result<Endpoint> ParseAmqpUrl(std::string_view url) {
  std::string buffer(url);  // amqp_parse_url cuts the string in place and points into it
  amqp_connection_info info{};
  amqp_default_connection_info(&info);
  if (amqp_parse_url(buffer.data(), &info) != AMQP_STATUS_OK) {
    return Error::InvalidArgument(
        fmt::format("'{}' is not an amqp:// URL (amqp://user:password@host:port/vhost)", url));
  }
  if (info.ssl) return Error::InvalidArgument("amqps:// (TLS) is not supported; use amqp://");
  // "amqp://host:port/" names the default virtual host, as most clients read it.
  const bool default_vhost = info.vhost == nullptr || *info.vhost == '\0';
  return Endpoint{info.host, info.port, info.user, info.password,
                  default_vhost ? std::string(1, '/') : info.vhost};
}

Result<std::unique_ptr<Connection>> Connection::Open(const Endpoint& endpoint,
                                                     const ConnectionOptions& options) {
  std::unique_ptr<Connection> self(new Connection());
  self->options_ = options;
  self->state_ = std::make_unique<State>();
  amqp_connection_state_t conn = amqp_new_connection();
  if (conn == nullptr) return Error::Internal("amqp: cannot allocate a connection");
  self->state_->conn = conn;
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  if (socket == nullptr) return Error::Internal("amqp: cannot allocate a socket");

  const std::string where = fmt::format("{}:{}", endpoint.host, endpoint.port);
  timeval connect_timeout = ToTimeval(options.connect_timeout);
  if (int status = amqp_socket_open_noblock(socket, endpoint.host.c_str(), endpoint.port, &connect_timeout);
      status != AMQP_STATUS_OK) {
    return Error::Unavailable(
        fmt::format("amqp: cannot connect to {}: {}", where, amqp_error_string2(status)));
  }
  amqp_set_handshake_timeout(conn, &connect_timeout);
  timeval rpc_timeout = ToTimeval(options.rpc_timeout);
  amqp_set_rpc_timeout(conn, &rpc_timeout);

  amqp_rpc_reply_t login =
      amqp_login(conn, endpoint.vhost.c_str(), 0, kFrameMax, options.heartbeat_seconds,
                 AMQP_SASL_METHOD_PLAIN, endpoint.user.c_str(), endpoint.password.c_str());
  if (login.reply_type != AMQP_RESPONSE_NORMAL) {
    // RabbitMQ refuses a bad login by closing the connection: rabbitmq-c reports it as a closed socket.
    std::string why = login.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
                          ? amqp_error_string2(login.library_error)
                          : "refused by the broker";
    if (login.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION ||
        login.library_error == AMQP_STATUS_CONNECTION_CLOSED) {
      return Error{ErrorCode::kUnauthenticated, "the message broker refused the login",
                   fmt::format("amqp: login as '{}' on {} vhost '{}' failed: {}", endpoint.user, where,
                               endpoint.vhost, why)};
    }
    return Error::Unavailable(fmt::format("amqp: handshake with {} failed: {}", where, why));
  }
  COHORT_TRY(self->OpenChannel());
  return self;
}

Connection::~Connection() {
  if (state_ == nullptr || state_->conn == nullptr || broken_) return;
  // A polite close, bounded: the broker requeues what this connection held unacknowledged either way.
  timeval close_timeout = ToTimeval(std::chrono::milliseconds{1000});
  amqp_set_rpc_timeout(state_->conn, &close_timeout);
  amqp_connection_close(state_->conn, AMQP_REPLY_SUCCESS);
}

Error Connection::Broken(std::string message) {
  broken_ = true;
  broken_reason_ = message;
  return Error::Unavailable(std::move(message));
}

Result<void> Connection::OpenChannel() {
  amqp_channel_open(state_->conn, kChannel);
  COHORT_TRY(CheckRpc("channel.open"));
  if (options_.confirms) {
    amqp_confirm_select(state_->conn, kChannel);
    COHORT_TRY(CheckRpc("confirm.select"));
  }
  // Sequence numbers start again on a new channel; what the old one had not confirmed is lost.
  next_publish_seq_ = 1;
  if (!unconfirmed_.empty()) nacked_ = true;
  unconfirmed_.clear();
  return {};
}

Result<void> Connection::CheckRpc(std::string_view what, const amqp_rpc_reply_t_* reply) {
  if (broken_) return Error::Unavailable(fmt::format("amqp: connection broken earlier: {}", broken_reason_));
  amqp_rpc_reply_t r = reply != nullptr ? *reply : amqp_get_rpc_reply(state_->conn);
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return {};
    case AMQP_RESPONSE_NONE:
      return Broken(fmt::format("amqp: {}: no reply", what));
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return Broken(fmt::format("amqp: {}: {}", what, amqp_error_string2(r.library_error)));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      break;
  }
  if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
    const auto* close = static_cast<const amqp_connection_close_t*>(r.reply.decoded);
    std::string text = Text(close->reply_text);
    amqp_connection_close_ok_t ok{};
    amqp_send_method(state_->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    return Broken(fmt::format("amqp: {}: the broker closed the connection: {}", what, text));
  }
  if (r.reply.id != AMQP_CHANNEL_CLOSE_METHOD) {
    return Broken(fmt::format("amqp: {}: unexpected reply {:#x}", what, r.reply.id));
  }
  const auto* close = static_cast<const amqp_channel_close_t*>(r.reply.decoded);
  const int code = close->reply_code;
  const std::string text = Text(close->reply_text);
  amqp_channel_close_ok_t ok{};
  if (amqp_send_method(state_->conn, kChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) != AMQP_STATUS_OK) {
    return Broken(fmt::format("amqp: {}: {} (and the channel could not be closed)", what, text));
  }
  amqp_maybe_release_buffers(state_->conn);
  // The broker closed only the channel: open it again so that one refused declare does not cost the
  // connection.
  COHORT_TRY(OpenChannel());
  std::string message = fmt::format("amqp: {}: {}", what, text);
  switch (code) {
    case AMQP_NOT_FOUND:
      return Error::NotFound(std::move(message));
    case AMQP_PRECONDITION_FAILED:
      return Error{ErrorCode::kFailedPrecondition, "the message broker refused a declaration",
                   std::move(message)};
    case AMQP_ACCESS_REFUSED:
      return Error{ErrorCode::kPermissionDenied, "the message broker refused access", std::move(message)};
    default:
      return Error::Internal(std::move(message));
  }
}

Result<void> Connection::DeclareExchange(std::string_view name, std::string_view type) {
  amqp_exchange_declare(state_->conn, kChannel, Bytes(name), Bytes(type), 0, 1, 0, 0, amqp_empty_table);
  return CheckRpc(fmt::format("exchange.declare {}", name));
}

Result<void> Connection::DeclareQueue(std::string_view name, const Arguments& arguments) {
  EncodedTable table(arguments);
  amqp_queue_declare(state_->conn, kChannel, Bytes(name), 0, 1, 0, 0, table.table());
  return CheckRpc(fmt::format("queue.declare {}", name));
}

Result<QueueCounts> Connection::InspectQueue(std::string_view name) {
  amqp_queue_declare_ok_t* ok =
      amqp_queue_declare(state_->conn, kChannel, Bytes(name), 1, 0, 0, 0, amqp_empty_table);
  COHORT_TRY(CheckRpc(fmt::format("queue.declare (passive) {}", name)));
  QueueCounts counts{ok->message_count, ok->consumer_count};
  amqp_maybe_release_buffers(state_->conn);
  return counts;
}

Result<void> Connection::Bind(std::string_view queue, std::string_view exchange,
                              std::string_view routing_key) {
  amqp_queue_bind(state_->conn, kChannel, Bytes(queue), Bytes(exchange), Bytes(routing_key),
                  amqp_empty_table);
  return CheckRpc(fmt::format("queue.bind {} to {} ({})", queue, exchange, routing_key));
}

Result<void> Connection::Qos(std::uint16_t prefetch) {
  amqp_basic_qos(state_->conn, kChannel, 0, prefetch, 0);
  return CheckRpc("basic.qos");
}

Result<void> Connection::Consume(std::string_view queue) {
  amqp_basic_consume(state_->conn, kChannel, Bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  return CheckRpc(fmt::format("basic.consume {}", queue));
}

Result<void> Connection::Publish(std::string_view exchange, std::string_view routing_key,
                                 const Properties& properties, std::string_view body) {
  if (broken_) return Error::Unavailable(fmt::format("amqp: connection broken earlier: {}", broken_reason_));
  EncodedTable headers(properties.headers);
  amqp_basic_properties_t p{};
  p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG;
  p.delivery_mode = properties.persistent ? AMQP_DELIVERY_PERSISTENT : AMQP_DELIVERY_NONPERSISTENT;
  p.headers = headers.table();
  if (!properties.message_id.empty()) {
    p._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
    p.message_id = Bytes(properties.message_id);
  }
  if (!properties.type.empty()) {
    p._flags |= AMQP_BASIC_TYPE_FLAG;
    p.type = Bytes(properties.type);
  }
  if (!properties.content_type.empty()) {
    p._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
    p.content_type = Bytes(properties.content_type);
  }
  if (properties.expiration) {
    p._flags |= AMQP_BASIC_EXPIRATION_FLAG;
    p.expiration = Bytes(*properties.expiration);
  }
  if (properties.timestamp_seconds > 0) {
    p._flags |= AMQP_BASIC_TIMESTAMP_FLAG;
    p.timestamp = static_cast<std::uint64_t>(properties.timestamp_seconds);
  }
  int status =
      amqp_basic_publish(state_->conn, kChannel, Bytes(exchange), Bytes(routing_key), 0, 0, &p, Bytes(body));
  if (status != AMQP_STATUS_OK) {
    return Broken(fmt::format("amqp: basic.publish to {}: {}", exchange.empty() ? routing_key : exchange,
                              amqp_error_string2(status)));
  }
  if (options_.confirms) unconfirmed_.insert(next_publish_seq_++);
  return {};
}

Result<void> Connection::WaitConfirms(std::size_t max_unconfirmed, SteadyClock::time_point deadline) {
  while (unconfirmed_.size() > max_unconfirmed) {
    COHORT_ASSIGN_OR_RETURN(bool got_frame, Pump(deadline));
    if (!got_frame) {
      Broken(fmt::format("amqp: {} publishes not confirmed in time", unconfirmed_.size()));
      return Error{ErrorCode::kDeadlineExceeded, "the message broker did not confirm in time",
                   broken_reason_};
    }
  }
  if (nacked_) {
    nacked_ = false;
    return Error::Unavailable("amqp: the broker nacked a publish (it could not make it durable)");
  }
  return {};
}

Result<std::optional<Received>> Connection::NextDelivery(SteadyClock::time_point deadline) {
  while (deliveries_.empty()) {
    COHORT_ASSIGN_OR_RETURN(bool got_frame, Pump(deadline));
    if (!got_frame) return std::optional<Received>{};
  }
  Received next = std::move(deliveries_.front());
  deliveries_.pop_front();
  return std::optional<Received>{std::move(next)};
}

Result<std::optional<Received>> Connection::Get(std::string_view queue) {
  if (broken_) return Error::Unavailable(fmt::format("amqp: connection broken earlier: {}", broken_reason_));
  amqp_rpc_reply_t reply = amqp_basic_get(state_->conn, kChannel, Bytes(queue), 0);
  COHORT_TRY(CheckRpc(fmt::format("basic.get {}", queue), &reply));
  if (reply.reply.id == AMQP_BASIC_GET_EMPTY_METHOD) {
    amqp_maybe_release_buffers(state_->conn);
    return std::optional<Received>{};
  }
  const auto* ok = static_cast<const amqp_basic_get_ok_t*>(reply.reply.decoded);
  Received received;
  received.delivery_tag = ok->delivery_tag;
  received.redelivered = ok->redelivered != 0;
  received.exchange = Text(ok->exchange);
  received.routing_key = Text(ok->routing_key);
  COHORT_ASSIGN_OR_RETURN(Received full, ReadContent(std::move(received)));
  return std::optional<Received>{std::move(full)};
}

Result<void> Connection::Ack(std::uint64_t delivery_tag) {
  if (broken_) return Error::Unavailable(fmt::format("amqp: connection broken earlier: {}", broken_reason_));
  if (int status = amqp_basic_ack(state_->conn, kChannel, delivery_tag, 0); status != AMQP_STATUS_OK) {
    return Broken(fmt::format("amqp: basic.ack: {}", amqp_error_string2(status)));
  }
  return {};
}

Result<void> Connection::RequeueUpTo(std::uint64_t delivery_tag) {
  if (broken_) return Error::Unavailable(fmt::format("amqp: connection broken earlier: {}", broken_reason_));
  if (int status = amqp_basic_nack(state_->conn, kChannel, delivery_tag, 1, 1); status != AMQP_STATUS_OK) {
    return Broken(fmt::format("amqp: basic.nack: {}", amqp_error_string2(status)));
  }
  return {};
}

Result<void> Connection::Reject(std::uint64_t delivery_tag) {
  if (broken_) return Error::Unavailable(fmt::format("amqp: connection broken earlier: {}", broken_reason_));
  if (int status = amqp_basic_reject(state_->conn, kChannel, delivery_tag, 0); status != AMQP_STATUS_OK) {
    return Broken(fmt::format("amqp: basic.reject: {}", amqp_error_string2(status)));
  }
  return {};
}

Result<Received> Connection::ReadContent(Received received) {
  // The header and body frames follow their method at once; a broker that stalls half-way is given
  // rpc_timeout.
  const SteadyClock::time_point deadline = SteadyClock::now() + options_.rpc_timeout;
  std::uint64_t body_size = 0;
  bool have_header = false;
  while (!have_header || received.body.size() < body_size) {
    amqp_frame_t frame;
    timeval timeout = Remaining(deadline);
    int status = amqp_simple_wait_frame_noblock(state_->conn, &frame, &timeout);
    if (status != AMQP_STATUS_OK) {
      return Broken(fmt::format("amqp: reading a message: {}", amqp_error_string2(status)));
    }
    if (!have_header) {
      if (frame.frame_type != AMQP_FRAME_HEADER) return Broken("amqp: expected a content header frame");
      body_size = frame.payload.properties.body_size;
      DecodeProperties(*static_cast<const amqp_basic_properties_t*>(frame.payload.properties.decoded),
                       received);
      received.body.reserve(body_size);
      have_header = true;
    } else {
      if (frame.frame_type != AMQP_FRAME_BODY) return Broken("amqp: expected a content body frame");
      received.body.append(Text(frame.payload.body_fragment));
    }
  }
  amqp_maybe_release_buffers(state_->conn);
  return received;
}

Result<bool> Connection::Pump(SteadyClock::time_point deadline) {
  if (broken_) return Error::Unavailable(fmt::format("amqp: connection broken earlier: {}", broken_reason_));
  amqp_frame_t frame;
  timeval timeout = Remaining(deadline);
  int status = amqp_simple_wait_frame_noblock(state_->conn, &frame, &timeout);
  if (status == AMQP_STATUS_TIMEOUT) return false;
  if (status != AMQP_STATUS_OK)
    return Broken(fmt::format("amqp: connection lost: {}", amqp_error_string2(status)));
  if (frame.frame_type != AMQP_FRAME_METHOD) return true;  // stray content of a method we did not ask for

  const amqp_method_t& method = frame.payload.method;
  switch (method.id) {
    case AMQP_BASIC_ACK_METHOD:
    case AMQP_BASIC_NACK_METHOD: {
      std::uint64_t tag = 0;
      bool multiple = false;
      if (method.id == AMQP_BASIC_ACK_METHOD) {
        const auto* ack = static_cast<const amqp_basic_ack_t*>(method.decoded);
        tag = ack->delivery_tag;
        multiple = ack->multiple != 0;
      } else {
        const auto* nack = static_cast<const amqp_basic_nack_t*>(method.decoded);
        tag = nack->delivery_tag;
        multiple = nack->multiple != 0;
        nacked_ = true;
      }
      if (multiple) {
        unconfirmed_.erase(unconfirmed_.begin(), unconfirmed_.upper_bound(tag));
      } else {
        unconfirmed_.erase(tag);
      }
      break;
    }
    case AMQP_BASIC_DELIVER_METHOD: {
      const auto* deliver = static_cast<const amqp_basic_deliver_t*>(method.decoded);
      Received received;
      received.delivery_tag = deliver->delivery_tag;
      received.redelivered = deliver->redelivered != 0;
      received.exchange = Text(deliver->exchange);
      received.routing_key = Text(deliver->routing_key);
      COHORT_ASSIGN_OR_RETURN(Received full, ReadContent(std::move(received)));
      deliveries_.push_back(std::move(full));
      break;
    }
    case AMQP_BASIC_RETURN_METHOD: {
      // Nothing is published as mandatory; a return carries content all the same, which must be read past.
      COHORT_TRY(ReadContent(Received{}));
      break;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
      const auto* close = static_cast<const amqp_channel_close_t*>(method.decoded);
      std::string text = Text(close->reply_text);
      amqp_channel_close_ok_t ok{};
      amqp_send_method(state_->conn, kChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
      return Broken(fmt::format("amqp: the broker closed the channel: {}", text));
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
      const auto* close = static_cast<const amqp_connection_close_t*>(method.decoded);
      std::string text = Text(close->reply_text);
      amqp_connection_close_ok_t ok{};
      amqp_send_method(state_->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
      return Broken(fmt::format("amqp: the broker closed the connection: {}", text));
    }
    case AMQP_BASIC_CANCEL_METHOD:
      return Broken("amqp: the broker cancelled the consumer (its queue was deleted?)");
    default:
      break;
  }
  amqp_maybe_release_buffers(state_->conn);
  return true;
}

}  // namespace cohort::queue::amqp
