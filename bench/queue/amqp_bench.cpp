// Publish-with-confirm and consume rates through Cohort's RabbitMQ backend (queue/amqp/), next to a plain
// rabbitmq-c loop doing the same work on the same broker in the same run: the same exchange and queue,
// message body and properties (Cohort's headers included), persistent delivery, confirm window, publish
// batch, prefetch and one ack per message. Rounds alternate which side goes first; the ratios (Cohort /
// plain) are the result. See bench/queue/README.md.

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <fmt/format.h>
#include <sys/time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "queue/amqp/amqp_queue.hpp"

namespace {

using cohort::queue::OutgoingMessage;
using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kQueue = "bench_amqp";
constexpr std::string_view kType = "bench.amqp";

struct Settings {
  std::string url;
  std::size_t messages = 20'000;
  std::size_t size = 256;
  std::size_t window = 256;
  std::size_t prefetch = 256;
  std::size_t batch = 1'000;
  int rounds = 3;
};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "amqp_bench: %s\n", what.c_str());
  std::exit(1);
}

double Seconds(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

amqp_bytes_t Bytes(std::string_view text) { return {text.size(), const_cast<char*>(text.data())}; }

// ---- the plain rabbitmq-c side: what an application would write without Cohort
// -------------------------------
class Plain {
 public:
  explicit Plain(const std::string& url) {
    std::string buffer = url;
    amqp_connection_info info{};
    if (amqp_parse_url(buffer.data(), &info) != AMQP_STATUS_OK) Fail("bad URL " + url);
    conn_ = amqp_new_connection();
    amqp_socket_t* socket = amqp_tcp_socket_new(conn_);
    timeval timeout{5, 0};
    if (amqp_socket_open_noblock(socket, info.host, info.port, &timeout) != AMQP_STATUS_OK)
      Fail("cannot connect");
    std::string vhost = *info.vhost != '\0' ? info.vhost : "/";
    Check(amqp_login(conn_, vhost.c_str(), 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, info.user, info.password),
          "login");
    amqp_channel_open(conn_, 1);
    Check(amqp_get_rpc_reply(conn_), "channel.open");
  }
  ~Plain() {
    amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn_);
  }

  void Purge(const std::string& queue) {
    amqp_queue_purge(conn_, 1, Bytes(queue));
    Check(amqp_get_rpc_reply(conn_), "queue.purge");
  }

  // Publishes `count` persistent messages to the exchange with at most `window` awaiting their confirm, and
  // waits for every confirm at the end of each batch of `batch` (as one Publish call of Cohort's does).
  void Publish(const Settings& s, const std::string& payload) {
    amqp_confirm_select(conn_, 1);
    Check(amqp_get_rpc_reply(conn_), "confirm.select");
    std::uint64_t seq = 0;
    std::set<std::uint64_t> unconfirmed;
    const std::string content_type = "application/json";
    for (std::size_t i = 0; i < s.messages; ++i) {
      while (unconfirmed.size() >= s.window) ReadConfirm(unconfirmed);
      const std::string id = fmt::format("plain-{}", i);
      const auto now = std::chrono::system_clock::now().time_since_epoch();
      // The same properties as Cohort's messages (queue/amqp/README.md), so that both move the same bytes.
      amqp_table_entry_t headers[2] = {};
      headers[0].key = amqp_cstring_bytes("x-cohort-attempt");
      headers[0].value.kind = AMQP_FIELD_KIND_I64;
      headers[0].value.value.i64 = 1;
      headers[1].key = amqp_cstring_bytes("x-cohort-created-at-ms");
      headers[1].value.kind = AMQP_FIELD_KIND_I64;
      headers[1].value.value.i64 = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
      amqp_basic_properties_t p{};
      p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG |
                 AMQP_BASIC_TYPE_FLAG | AMQP_BASIC_TIMESTAMP_FLAG | AMQP_BASIC_HEADERS_FLAG;
      p.delivery_mode = AMQP_DELIVERY_PERSISTENT;
      p.content_type = Bytes(content_type);
      p.message_id = Bytes(id);
      p.type = Bytes(kType);
      p.timestamp = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(now).count());
      p.headers = {2, headers};
      if (amqp_basic_publish(conn_, 1, Bytes(cohort::queue::amqp_names::kExchange), Bytes(kType), 0, 0, &p,
                             Bytes(payload)) != AMQP_STATUS_OK) {
        Fail("plain publish failed");
      }
      unconfirmed.insert(++seq);
      if ((i + 1) % s.batch == 0 || i + 1 == s.messages) {
        while (!unconfirmed.empty()) ReadConfirm(unconfirmed);
      }
    }
  }

  // Consumes `count` messages with basic.qos(prefetch) and one basic.ack each.
  void Consume(const Settings& s, const std::string& queue) {
    amqp_basic_qos(conn_, 1, 0, static_cast<std::uint16_t>(s.prefetch), 0);
    Check(amqp_get_rpc_reply(conn_), "basic.qos");
    amqp_basic_consume_ok_t* ok =
        amqp_basic_consume(conn_, 1, Bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    Check(amqp_get_rpc_reply(conn_), "basic.consume");
    const std::string tag(static_cast<const char*>(ok->consumer_tag.bytes), ok->consumer_tag.len);
    for (std::size_t received = 0; received < s.messages;) {
      amqp_envelope_t envelope;
      timeval timeout{10, 0};
      amqp_maybe_release_buffers(conn_);
      amqp_rpc_reply_t reply = amqp_consume_message(conn_, &envelope, &timeout, 0);
      if (reply.reply_type != AMQP_RESPONSE_NORMAL) Fail("plain consume failed");
      if (amqp_basic_ack(conn_, 1, envelope.delivery_tag, 0) != AMQP_STATUS_OK) Fail("plain ack failed");
      amqp_destroy_envelope(&envelope);
      ++received;
    }
    amqp_basic_cancel(conn_, 1, Bytes(tag));
    Check(amqp_get_rpc_reply(conn_), "basic.cancel");
  }

 private:
  void Check(amqp_rpc_reply_t reply, const char* what) {
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) Fail(fmt::format("plain: {} failed", what));
  }

  void ReadConfirm(std::set<std::uint64_t>& unconfirmed) {
    amqp_frame_t frame;
    timeval timeout{10, 0};
    if (amqp_simple_wait_frame_noblock(conn_, &frame, &timeout) != AMQP_STATUS_OK) Fail("plain: no confirm");
    if (frame.frame_type != AMQP_FRAME_METHOD) return;
    if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) Fail("plain: the broker nacked a publish");
    if (frame.payload.method.id != AMQP_BASIC_ACK_METHOD) return;
    const auto* ack = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
    if (ack->multiple) {
      unconfirmed.erase(unconfirmed.begin(), unconfirmed.upper_bound(ack->delivery_tag));
    } else {
      unconfirmed.erase(ack->delivery_tag);
    }
    amqp_maybe_release_buffers(conn_);
  }

  amqp_connection_state_t conn_ = nullptr;
};

// ---- Cohort's backend
// ------------------------------------------------------------------------------------------
void CohortPublish(cohort::queue::MessageQueue& queue, const Settings& s,
                   const std::vector<OutgoingMessage>& all) {
  for (std::size_t begin = 0; begin < all.size(); begin += s.batch) {
    const std::size_t count = std::min(s.batch, all.size() - begin);
    if (auto published = queue.Publish(std::span(all).subspan(begin, count)); !published) {
      Fail("cohort publish: " + published.error().internal_message);
    }
  }
}

double CohortConsume(cohort::queue::MessageQueue& queue, const Settings& s) {
  auto subscription = queue.Subscribe(kQueue, s.prefetch);
  if (!subscription) Fail("cohort subscribe: " + subscription.error().internal_message);
  const auto start = SteadyClock::now();
  for (std::size_t received = 0; received < s.messages;) {
    auto next = (*subscription)->Next(std::chrono::seconds(10));
    if (!next || !next->has_value()) Fail("cohort consume: no message within 10 s");
    if (auto acked = (*subscription)->Ack(**next); !acked)
      Fail("cohort ack: " + acked.error().internal_message);
    ++received;
  }
  return Seconds(start);
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  CLI::App app{"Cohort's RabbitMQ backend next to a plain rabbitmq-c loop (bench/queue/README.md)"};
  app.add_option("--url", s.url, "amqp:// URL (default: $COHORT_BENCH_AMQP_URL, then $COHORT_TEST_AMQP_URL)");
  app.add_option("--messages", s.messages, "messages per measurement")->check(CLI::Range(1, 10'000'000));
  app.add_option("--size", s.size, "payload bytes")->check(CLI::Range(2, 1'000'000));
  app.add_option("--window", s.window, "publishes awaiting their confirm at a time")
      ->check(CLI::Range(1, 65535));
  app.add_option("--prefetch", s.prefetch, "basic.qos prefetch of the consumers")
      ->check(CLI::Range(1, 65535));
  app.add_option("--batch", s.batch,
                 "messages per Publish call (the plain loop waits for its confirms as often)")
      ->check(CLI::Range(1, 10'000'000));
  app.add_option("--rounds", s.rounds, "rounds (alternating which side goes first)")
      ->check(CLI::Range(1, 100));
  CLI11_PARSE(app, argc, argv);
  if (s.url.empty()) {
    for (const char* name : {"COHORT_BENCH_AMQP_URL", "COHORT_TEST_AMQP_URL"}) {
      if (const char* value = std::getenv(name); value != nullptr && *value != '\0') {
        s.url = value;
        break;
      }
    }
  }
  if (s.url.empty()) Fail("no broker: pass --url or set COHORT_TEST_AMQP_URL (scripts/test-services.sh env)");

  cohort::queue::AmqpQueueOptions options;
  options.url = s.url;
  options.publish_window = s.window;
  auto opened = cohort::queue::OpenAmqpQueue(options);
  if (!opened) Fail(opened.error().internal_message);
  cohort::queue::MessageQueue& queue = **opened;
  if (auto declared = queue.DeclareQueue({std::string(kQueue), {std::string(kType)}}); !declared) {
    Fail("declare: " + declared.error().internal_message);
  }
  const std::string work_queue = cohort::queue::amqp_names::WorkQueue(kQueue);
  const std::string payload =
      "{\"p\":\"" + std::string(s.size - std::min<std::size_t>(s.size, 8), 'x') + "\"}";

  std::printf(
      "amqp_bench: %zu messages of %zu bytes, confirm window %zu, batch %zu, prefetch %zu, %d rounds\n",
      s.messages, payload.size(), s.window, s.batch, s.prefetch, s.rounds);
  std::printf("%-6s %-7s %14s %14s\n", "round", "side", "publish msg/s", "consume msg/s");
  std::vector<double> publish_ratio, consume_ratio, cohort_pub, cohort_con, plain_pub, plain_con;
  for (int round = 1; round <= s.rounds; ++round) {
    double rates[2][2] = {};  // [cohort, plain][publish, consume]
    for (int turn = 0; turn < 2; ++turn) {
      const bool cohort_side = (turn == 0) == (round % 2 == 1);
      Plain plain(s.url);
      plain.Purge(work_queue);
      if (cohort_side) {
        std::vector<OutgoingMessage> messages;
        messages.reserve(s.messages);
        for (std::size_t i = 0; i < s.messages; ++i) {
          messages.push_back({fmt::format("cohort-{}-{}", round, i), std::string(kType), payload});
        }
        const auto start = SteadyClock::now();
        CohortPublish(queue, s, messages);
        rates[0][0] = static_cast<double>(s.messages) / Seconds(start);
        rates[0][1] = static_cast<double>(s.messages) / CohortConsume(queue, s);
      } else {
        auto start = SteadyClock::now();
        plain.Publish(s, payload);
        rates[1][0] = static_cast<double>(s.messages) / Seconds(start);
        Plain consumer(s.url);
        start = SteadyClock::now();
        consumer.Consume(s, work_queue);
        rates[1][1] = static_cast<double>(s.messages) / Seconds(start);
      }
    }
    std::printf("%-6d %-7s %14.0f %14.0f\n", round, "cohort", rates[0][0], rates[0][1]);
    std::printf("%-6d %-7s %14.0f %14.0f\n", round, "plain", rates[1][0], rates[1][1]);
    cohort_pub.push_back(rates[0][0]);
    cohort_con.push_back(rates[0][1]);
    plain_pub.push_back(rates[1][0]);
    plain_con.push_back(rates[1][1]);
    publish_ratio.push_back(rates[0][0] / rates[1][0]);
    consume_ratio.push_back(rates[0][1] / rates[1][1]);
  }
  const double pub = Median(publish_ratio);
  const double con = Median(consume_ratio);
  std::printf("median  cohort  %14.0f %14.0f\n", Median(cohort_pub), Median(cohort_con));
  std::printf("median  plain   %14.0f %14.0f\n", Median(plain_pub), Median(plain_con));
  std::printf(
      "ratio cohort/plain (median of the rounds' ratios): publish %.2f, consume %.2f (target >= 0.8: %s)\n",
      pub, con, pub >= 0.8 && con >= 0.8 ? "met" : "NOT met");
  return 0;
}
