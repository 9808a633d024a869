#include "analytics/features.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "analytics/json_fields.hpp"
#include "common/time.hpp"

namespace cohort::analytics {
namespace {

constexpr std::size_t kMaxCategoryShares = 10;
constexpr std::int64_t kWindowDays = 90;  // the longest activity window
constexpr int kStateVersion = 1;

std::string Rfc3339(std::int64_t micros) {
  return FormatRfc3339(Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::microseconds(micros))));
}

nlohmann::json OptionalTime(const std::optional<std::int64_t>& micros) {
  return micros ? nlohmann::json(Rfc3339(*micros)) : nlohmann::json(nullptr);
}

nlohmann::json OptionalMicros(const std::optional<std::int64_t>& micros) {
  return micros ? nlohmann::json(*micros) : nlohmann::json(nullptr);
}

}  // namespace

std::optional<double> UserFeatures::DaysSinceActivity(std::int64_t now_micros) const {
  if (!last_activity_micros) return std::nullopt;
  return static_cast<double>(std::max<std::int64_t>(0, now_micros - *last_activity_micros)) /
         static_cast<double>(kMicrosPerDay);
}

void FeatureState::Add(const domain::Event& e) {
  ++events_;
  if (!first_activity_micros_ || e.ts_micros < *first_activity_micros_) first_activity_micros_ = e.ts_micros;
  if (!last_activity_micros_ || e.ts_micros > *last_activity_micros_) last_activity_micros_ = e.ts_micros;
  const Kind kind = e.type == domain::kView ? Kind::kView : e.type == domain::kAddToCart ? Kind::kCart : Kind::kOther;
  timed_.push_back({e.ts_micros, kind});
  if (e.category) ++categories_[*e.category];
  const double amount = e.price.value_or(0) * static_cast<double>(e.quantity);
  if (e.type == domain::kPurchase) {
    purchases_.push_back({e.ts_micros, amount});
  } else if (e.type == domain::kReturn) {
    returned_ += amount;
  }
}

void FeatureState::Reserve(std::size_t events) {
  timed_.reserve(timed_.size() + events);
  purchases_.reserve(purchases_.size() + events);
}

UserFeatures FeatureState::Features(std::int64_t now_micros, TimeUnit unit) const {
  UserFeatures f;
  f.events = events_;
  f.first_activity_micros = first_activity_micros_;
  f.last_activity_micros = last_activity_micros_;
  for (const Timed& t : timed_) {
    if (t.ts_micros > now_micros) continue;
    const std::int64_t age = now_micros - t.ts_micros;
    if (age <= 7 * kMicrosPerDay) ++f.events_7d;
    if (age <= 30 * kMicrosPerDay) {
      ++f.events_30d;
      if (t.kind == Kind::kView) ++f.views_30d;
      if (t.kind == Kind::kCart) ++f.carts_30d;
    }
    if (age <= kWindowDays * kMicrosPerDay) ++f.events_90d;
  }
  double gross = 0;
  for (const Purchase& p : purchases_) {
    if (p.ts_micros > now_micros) continue;
    gross += p.amount;
    if (!f.first_purchase_micros || p.ts_micros < *f.first_purchase_micros) f.first_purchase_micros = p.ts_micros;
    if (!f.last_purchase_micros || p.ts_micros > *f.last_purchase_micros) f.last_purchase_micros = p.ts_micros;
  }
  // Fails only when no purchase is on or before now (amounts are finite and not negative: validated events).
  if (auto summary = SummarisePurchases(purchases_, now_micros, unit); summary && f.first_purchase_micros) {
    f.summary = *summary;
    f.purchases = f.summary.x + 1;
    f.repeat_purchases = f.summary.x;
  }
  f.revenue = std::max(0.0, gross - returned_);
  f.average_order_value = f.purchases > 0 ? f.revenue / static_cast<double>(f.purchases) : 0;

  std::int64_t categorised = 0;
  for (const auto& [category, n] : categories_) categorised += n;
  f.category_shares.reserve(categories_.size());
  for (const auto& [category, n] : categories_)
    f.category_shares.emplace_back(category, static_cast<double>(n) / static_cast<double>(categorised));
  std::sort(f.category_shares.begin(), f.category_shares.end(),
            [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  if (f.category_shares.size() > kMaxCategoryShares) f.category_shares.resize(kMaxCategoryShares);
  return f;
}

nlohmann::json FeatureState::ToJson() const {
  nlohmann::json purchases = nlohmann::json::array();
  for (const Purchase& p : purchases_) purchases.push_back({p.ts_micros, p.amount});
  nlohmann::json timed = nlohmann::json::array();
  for (const Timed& t : timed_) {
    if (*last_activity_micros_ - t.ts_micros <= kWindowDays * kMicrosPerDay)
      timed.push_back({t.ts_micros, static_cast<int>(t.kind)});
  }
  return {{"version", kStateVersion},
          {"events", events_},
          {"first_activity_micros", OptionalMicros(first_activity_micros_)},
          {"last_activity_micros", OptionalMicros(last_activity_micros_)},
          {"purchases", std::move(purchases)},
          {"returned", returned_},
          {"categories", categories_},
          {"recent", std::move(timed)}};
}

Result<FeatureState> FeatureState::FromJson(const nlohmann::json& json) {
  auto bad = [](std::string_view what) {
    return Error::InvalidArgument(fmt::format("feature state: {}", what));
  };
  if (!json.is_object() || json.value("version", 0) != kStateVersion) return bad("not a version 1 state");
  FeatureState s;
  auto integer = [&](std::string_view key) -> Result<std::optional<std::int64_t>> {
    const auto it = json.find(key);
    if (it == json.end()) return bad(fmt::format("'{}' is missing", key));
    if (it->is_null()) return std::optional<std::int64_t>();
    if (!it->is_number_integer()) return bad(fmt::format("'{}' must be an integer", key));
    return std::optional<std::int64_t>(it->get<std::int64_t>());
  };
  COHORT_ASSIGN_OR_RETURN(const auto events, integer("events"));
  if (!events || *events < 0) return bad("'events' must be a count");
  s.events_ = *events;
  COHORT_ASSIGN_OR_RETURN(s.first_activity_micros_, integer("first_activity_micros"));
  COHORT_ASSIGN_OR_RETURN(s.last_activity_micros_, integer("last_activity_micros"));
  if (s.events_ > 0 && (!s.first_activity_micros_ || !s.last_activity_micros_))
    return bad("first and last activity are required when there are events");
  COHORT_ASSIGN_OR_RETURN(s.returned_, JsonNumber(json, "returned"));
  // Pairs of a time and a value: purchases are [ts, amount >= 0], window entries [ts, kind 0-2].
  auto pairs = [&](std::string_view key, auto&& add) -> Result<void> {
    const auto it = json.find(key);
    if (it == json.end() || !it->is_array()) return bad(fmt::format("'{}' must be an array", key));
    for (const auto& item : *it) {
      if (!item.is_array() || item.size() != 2 || !item[0].is_number_integer() || !item[1].is_number())
        return bad(fmt::format("'{}' holds pairs of a time and a number", key));
      COHORT_TRY(add(item[0].get<std::int64_t>(), item[1]));
    }
    return {};
  };
  COHORT_TRY(pairs("purchases", [&](std::int64_t ts, const nlohmann::json& amount) -> Result<void> {
    const double value = amount.get<double>();
    if (!std::isfinite(value) || value < 0) return bad("a purchase amount must be finite and not negative");
    s.purchases_.push_back({ts, value});
    return {};
  }));
  COHORT_TRY(pairs("recent", [&](std::int64_t ts, const nlohmann::json& kind) -> Result<void> {
    if (!kind.is_number_integer() || kind.get<int>() < 0 || kind.get<int>() > 2)
      return bad("a recent event's kind must be 0, 1 or 2");
    s.timed_.push_back({ts, static_cast<Kind>(kind.get<int>())});
    return {};
  }));
  const auto categories = json.find("categories");
  if (categories == json.end() || !categories->is_object()) return bad("'categories' must be an object");
  for (const auto& [category, n] : categories->items()) {
    if (!n.is_number_integer() || n.get<std::int64_t>() < 1) return bad("a category count must be a positive integer");
    s.categories_.emplace(category, n.get<std::int64_t>());
  }
  return s;
}

UserFeatures ComputeFeatures(std::span<const domain::Event> events, std::int64_t now_micros, TimeUnit unit) {
  FeatureState state;
  state.Reserve(events.size());
  for (const domain::Event& e : events) {
    if (e.ts_micros <= now_micros) state.Add(e);
  }
  return state.Features(now_micros, unit);
}

nlohmann::json UserFeatures::ToJson(std::int64_t now_micros) const {
  nlohmann::json shares = nlohmann::json::array();
  for (const auto& [category, share] : category_shares) shares.push_back({{"category", category}, {"share", share}});
  const auto days = DaysSinceActivity(now_micros);
  return {{"events", events},
          {"first_activity", OptionalTime(first_activity_micros)},
          {"last_activity", OptionalTime(last_activity_micros)},
          {"first_purchase", OptionalTime(first_purchase_micros)},
          {"last_purchase", OptionalTime(last_purchase_micros)},
          {"days_since_activity", days ? nlohmann::json(*days) : nlohmann::json(nullptr)},
          {"purchases", purchases},
          {"repeat_purchases", repeat_purchases},
          {"revenue", revenue},
          {"average_order_value", average_order_value},
          {"events_7d", events_7d},
          {"events_30d", events_30d},
          {"events_90d", events_90d},
          {"views_30d", views_30d},
          {"carts_30d", carts_30d},
          {"category_shares", shares},
          {"bgnbd", {{"x", summary.x}, {"t_x", summary.t_x}, {"T", summary.t_cal}, {"monetary", summary.monetary}}}};
}

}  // namespace cohort::analytics
