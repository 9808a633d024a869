#include "analytics/features.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "common/time.hpp"

namespace cohort::analytics {
namespace {

constexpr std::size_t kMaxCategoryShares = 10;

std::string Rfc3339(std::int64_t micros) {
  return FormatRfc3339(Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::microseconds(micros))));
}

nlohmann::json OptionalTime(const std::optional<std::int64_t>& micros) {
  return micros ? nlohmann::json(Rfc3339(*micros)) : nlohmann::json(nullptr);
}

}  // namespace

std::optional<double> UserFeatures::DaysSinceActivity(std::int64_t now_micros) const {
  if (!last_activity_micros) return std::nullopt;
  return static_cast<double>(std::max<std::int64_t>(0, now_micros - *last_activity_micros)) /
         static_cast<double>(kMicrosPerDay);
}

UserFeatures ComputeFeatures(std::span<const domain::Event> events, std::int64_t now_micros, TimeUnit unit) {
  UserFeatures f;
  std::vector<Purchase> purchases;
  std::unordered_map<std::string, std::int64_t> per_category;
  double returned = 0;
  for (const domain::Event& e : events) {
    if (e.ts_micros > now_micros) continue;
    ++f.events;
    if (!f.first_activity_micros || e.ts_micros < *f.first_activity_micros) f.first_activity_micros = e.ts_micros;
    if (!f.last_activity_micros || e.ts_micros > *f.last_activity_micros) f.last_activity_micros = e.ts_micros;
    const std::int64_t age = now_micros - e.ts_micros;
    if (age <= 7 * kMicrosPerDay) ++f.events_7d;
    if (age <= 30 * kMicrosPerDay) {
      ++f.events_30d;
      if (e.type == domain::kView) ++f.views_30d;
      if (e.type == domain::kAddToCart) ++f.carts_30d;
    }
    if (age <= 90 * kMicrosPerDay) ++f.events_90d;
    if (e.category) ++per_category[*e.category];
    const double amount = e.price.value_or(0) * static_cast<double>(e.quantity);
    if (e.type == domain::kPurchase) {
      purchases.push_back({e.ts_micros, amount});
      if (!f.first_purchase_micros || e.ts_micros < *f.first_purchase_micros) f.first_purchase_micros = e.ts_micros;
      if (!f.last_purchase_micros || e.ts_micros > *f.last_purchase_micros) f.last_purchase_micros = e.ts_micros;
    } else if (e.type == domain::kReturn) {
      returned += amount;
    }
  }
  if (!purchases.empty()) {
    // Cannot fail here: every purchase is on or before now, and amounts are finite and not negative (validated).
    if (auto summary = SummarisePurchases(purchases, now_micros, unit)) f.summary = *summary;
    f.purchases = f.summary.x + 1;
    f.repeat_purchases = f.summary.x;
  }
  double gross = 0;
  for (const Purchase& p : purchases) gross += p.amount;
  f.revenue = std::max(0.0, gross - returned);
  f.average_order_value = f.purchases > 0 ? f.revenue / static_cast<double>(f.purchases) : 0;

  std::int64_t categorised = 0;
  for (const auto& [category, n] : per_category) categorised += n;
  for (const auto& [category, n] : per_category)
    f.category_shares.emplace_back(category, static_cast<double>(n) / static_cast<double>(categorised));
  std::sort(f.category_shares.begin(), f.category_shares.end(),
            [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  if (f.category_shares.size() > kMaxCategoryShares) f.category_shares.resize(kMaxCategoryShares);
  return f;
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
