#include "queue/consumers/consumers.hpp"

#include <map>
#include <span>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "domain/messages.hpp"
#include "queue/dead_letter_table.hpp"
#include "queue/processed_log.hpp"

namespace cohort::queue {
namespace {

using store::sql::Connection;
using store::sql::Value;
using Params = std::vector<Value>;
using nlohmann::json;

// The payload as a JSON object with a non-empty string user_id, or nullopt.
std::optional<json> ParsePayload(const Delivery& d) {
  json doc = json::parse(d.payload, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  auto it = doc.find("user_id");
  if (it == doc.end() || !it->is_string() || it->get<std::string>().empty()) return std::nullopt;
  return doc;
}

HandlerResult BadPayload(const Delivery& d) {
  return HandlerResult::Reject("the payload of " + d.type + " is not the JSON it should be");
}

// Runs `effect` and the processed-message record in one transaction; an already recorded message is skipped.
HandlerResult ExactlyOnce(store::sql::Database& db, const QueueSpec& spec, const Delivery& d,
                          const std::function<Result<void>(Connection&)>& effect) {
  auto done = db.InTransaction<bool>([&](Connection& conn) -> Result<bool> {
    COHORT_ASSIGN_OR_RETURN(bool claimed, ProcessedLog::ClaimIn(conn, spec.name, d.id));
    if (!claimed) return false;
    COHORT_TRY(effect(conn));
    return true;
  });
  if (!done) return HandlerResult::FromError(done.error());
  return HandlerResult::AckRecorded();  // recorded now, or by an earlier delivery
}

class WelcomeNotifier final : public Consumer {
 public:
  WelcomeNotifier(store::sql::Database& db, WebhookOptions webhook)
      : db_(db),
        webhook_(std::move(webhook)),
        spec_{std::string(kNotificationsQueue), {std::string(domain::kUserCreated)}} {}

  const QueueSpec& spec() const override { return spec_; }

  HandlerResult Handle(const Delivery& d) override {
    auto payload = ParsePayload(d);
    if (!payload) return BadPayload(d);
    const std::string user_id = (*payload)["user_id"];
    const std::string body = json{{"type", "welcome"}, {"user_id", user_id}, {"message_id", d.id}}.dump();
    if (!webhook_.url.empty()) {
      if (auto posted = PostWebhook(webhook_, body, d.id); !posted)
        return HandlerResult::FromError(posted.error());
      return HandlerResult::Ack();
    }
    return ExactlyOnce(db_, spec_, d, [&](Connection& conn) -> Result<void> {
      COHORT_TRY(
          conn.Execute("INSERT INTO notifications (message_id, user_id, kind, payload, created_at_ms) "
                       "VALUES ($1, $2, 'welcome', $3, $4) ON CONFLICT (message_id) DO NOTHING",
                       Params{d.id, user_id, body, ToMillis(Clock::now())}));
      return {};
    });
  }

 private:
  store::sql::Database& db_;
  WebhookOptions webhook_;
  QueueSpec spec_;
};

class UserCountersUpdater final : public Consumer {
 public:
  UserCountersUpdater(store::sql::Database& db, ReadUserEvents read_events, InvalidateUser invalidate)
      : db_(db),
        read_events_(std::move(read_events)),
        invalidate_(std::move(invalidate)),
        spec_{std::string(kUserCountersQueue), {std::string(domain::kEventIngested)}} {}

  const QueueSpec& spec() const override { return spec_; }

  HandlerResult Handle(const Delivery& d) override {
    auto payload = ParsePayload(d);
    if (!payload) return BadPayload(d);
    const json& p = *payload;
    auto integer = [&](const char* key) { return p.contains(key) && p[key].is_number_integer(); };
    if (!integer("events") || !integer("purchases") || !integer("last_ts_micros") || !p.contains("revenue") ||
        !p["revenue"].is_number())
      return BadPayload(d);
    const std::string user_id = p["user_id"];
    auto history = read_events_(user_id);
    if (!history) return HandlerResult::FromError(history.error());
    const auto totals = domain::SummariseByUser(*history);
    if (totals.empty()) return HandlerResult::Ack();  // nothing stored (a batch that failed after its message)
    analytics::FeatureState state;
    for (const domain::Event& e : *history) state.Add(e);
    const domain::UserEventsSummary& t = totals.front();
    HandlerResult result = ExactlyOnce(db_, spec_, d, [&](Connection& conn) -> Result<void> {
      COHORT_TRY(conn.Execute(
          "INSERT INTO user_event_counters (user_id, events, purchases, revenue, last_ts_micros, features, "
          "updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id) DO UPDATE SET "
          "events = excluded.events, purchases = excluded.purchases, revenue = excluded.revenue, "
          "last_ts_micros = excluded.last_ts_micros, features = excluded.features, "
          "updated_at_ms = excluded.updated_at_ms WHERE excluded.events >= user_event_counters.events",
          Params{user_id, t.events, t.purchases, t.revenue, t.last_ts_micros, state.ToJson().dump(),
                 ToMillis(Clock::now())}));
      return {};
    });
    // Also on a duplicate: invalidating twice is harmless, and the first delivery may have died before it.
    if (result.outcome == Outcome::kAck && invalidate_) invalidate_(user_id);
    return result;
  }

 private:
  store::sql::Database& db_;
  ReadUserEvents read_events_;
  InvalidateUser invalidate_;
  QueueSpec spec_;
};

class ImpressionCounter final : public Consumer {
 public:
  explicit ImpressionCounter(store::sql::Database& db)
      : db_(db), spec_{std::string(kImpressionsQueue), {std::string(domain::kRecommendationServed)}} {}

  const QueueSpec& spec() const override { return spec_; }

  HandlerResult Handle(const Delivery& d) override { return HandleBatch(std::span(&d, 1)).front(); }

  // A message per answer served: gathered for up to a second, so that a busy server commits its counters a few
  // times a second rather than once per handful of answers (why that matters: BatchPolicy).
  BatchPolicy batch_policy() const override { return {.max = 2048, .linger = std::chrono::seconds(1)}; }

  // One transaction for the batch: the messages claimed as processed in one statement, the counts of those
  // claimed summed per product and segment, one upsert per counter.
  std::vector<HandlerResult> HandleBatch(std::span<const Delivery> batch) override {
    std::vector<HandlerResult> results(batch.size());
    struct Served {
      std::size_t index;
      std::vector<std::string> products;
      std::string segment;
    };
    std::vector<Served> valid;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto served = Parse(batch[i]);
      if (!served) {
        results[i] = BadPayload(batch[i]);
        continue;
      }
      valid.push_back({i, std::move(served->first), std::move(served->second)});
    }
    if (valid.empty()) return results;
    auto written = db_.InTransaction<bool>([&](Connection& conn) -> Result<bool> {
      std::vector<std::string_view> ids;
      for (const Served& s : valid) ids.emplace_back(batch[s.index].id);
      COHORT_ASSIGN_OR_RETURN(const std::vector<bool> claimed, ProcessedLog::ClaimAllIn(conn, spec_.name, ids));
      std::map<std::pair<std::string_view, std::string_view>, std::int64_t> counts;
      for (std::size_t v = 0; v < valid.size(); ++v) {
        if (!claimed[v]) continue;
        const Served& s = valid[v];
        for (const std::string& product : s.products) ++counts[{"product", product}];
        if (!s.segment.empty() && !s.products.empty())
          counts[{"segment", s.segment}] += static_cast<std::int64_t>(s.products.size());
      }
      for (const auto& [counter, n] : counts) {
        COHORT_TRY(
            conn.Execute("INSERT INTO impression_counters (scope, key, impressions) VALUES ($1, $2, $3) "
                         "ON CONFLICT (scope, key) DO UPDATE SET "
                         "impressions = impression_counters.impressions + excluded.impressions",
                         Params{std::string(counter.first), std::string(counter.second), n}));
      }
      return true;
    });
    for (const Served& s : valid)
      results[s.index] = written ? HandlerResult::AckRecorded() : HandlerResult::FromError(written.error());
    return results;
  }

 private:
  // The served products and the segment (empty when absent), or nullopt when the payload is not one (as
  // ParsePayload requires, an object with a non-empty string user_id). Read with simdjson: a message per answer
  // served, and building a JSON document of each was a quarter of the batch handler's time.
  static std::optional<std::pair<std::vector<std::string>, std::string>> Parse(const Delivery& d) {
    thread_local simdjson::dom::parser parser;
    simdjson::dom::object p;
    std::string_view user_id;
    simdjson::dom::array ids;
    if (parser.parse(d.payload).get(p) != simdjson::SUCCESS || p["user_id"].get(user_id) != simdjson::SUCCESS ||
        user_id.empty() || p["product_ids"].get(ids) != simdjson::SUCCESS)
      return std::nullopt;
    std::vector<std::string> products;
    products.reserve(ids.size());
    for (simdjson::dom::element id : ids) {
      std::string_view text;
      if (id.get(text) != simdjson::SUCCESS) return std::nullopt;
      products.emplace_back(text);
    }
    std::string_view segment;
    if (p["segment"].get(segment) != simdjson::SUCCESS) segment = {};
    return std::make_pair(std::move(products), std::string(segment));
  }

  store::sql::Database& db_;
  QueueSpec spec_;
};

}  // namespace

std::shared_ptr<Consumer> MakeWelcomeNotifier(store::sql::Database& db, WebhookOptions webhook) {
  return std::make_shared<WelcomeNotifier>(db, std::move(webhook));
}

std::shared_ptr<Consumer> MakeUserCountersUpdater(store::sql::Database& db, ReadUserEvents read_events,
                                                  InvalidateUser invalidate) {
  return std::make_shared<UserCountersUpdater>(db, std::move(read_events), std::move(invalidate));
}

Result<std::optional<analytics::FeatureState>> LoadUserFeatures(store::sql::Database& db, std::string_view user_id) {
  COHORT_ASSIGN_OR_RETURN(store::sql::Lease lease, db.Acquire());
  COHORT_ASSIGN_OR_RETURN(store::sql::Rows rows,
                          lease->Execute("SELECT features FROM user_event_counters WHERE user_id = $1",
                                         Params{std::string(user_id)}));
  if (rows.empty() || rows.IsNull(0, 0)) return std::optional<analytics::FeatureState>();
  json parsed = json::parse(rows.Text(0, 0), nullptr, false);
  if (parsed.is_discarded())
    return Error::Internal(fmt::format("user_event_counters.features of '{}' is not JSON", user_id));
  COHORT_ASSIGN_OR_RETURN(auto state, analytics::FeatureState::FromJson(parsed));
  return std::optional<analytics::FeatureState>(std::move(state));
}

std::shared_ptr<Consumer> MakeImpressionCounter(store::sql::Database& db) {
  return std::make_shared<ImpressionCounter>(db);
}

}  // namespace cohort::queue
