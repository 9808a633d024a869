#pragma once
// What one customer's events say about them, as of a moment `now`: activity, purchases, revenue, category
// interests, and the BG/NBD summary (x, t_x, T) of their purchases. Computed in one pass over the events; pure.
//
// Revenue is net: purchases (price × quantity) minus returns, never below 0. Events after `now` are ignored, so
// the same function gives features "as of" a training cutoff.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "analytics/purchase_summary.hpp"
#include "domain/event.hpp"

namespace cohort::analytics {

struct UserFeatures {
  std::int64_t events = 0;  // events up to now
  std::optional<std::int64_t> first_activity_micros;
  std::optional<std::int64_t> last_activity_micros;
  std::optional<std::int64_t> first_purchase_micros;
  std::optional<std::int64_t> last_purchase_micros;
  std::int64_t purchases = 0;  // purchase days (purchases on one day are one purchase)
  std::int64_t repeat_purchases = 0;
  double revenue = 0;
  double average_order_value = 0;  // revenue per purchase day
  std::int64_t events_7d = 0, events_30d = 0, events_90d = 0;
  std::int64_t views_30d = 0, carts_30d = 0;
  std::vector<std::pair<std::string, double>> category_shares;  // share of events per category, largest first
  PurchaseSummary summary;  // BG/NBD form, in `unit`, with `now`'s day as the end of calibration; zero without purchases

  std::optional<double> DaysSinceActivity(std::int64_t now_micros) const;
  nlohmann::json ToJson(std::int64_t now_micros) const;
};

// `events` in any order.
UserFeatures ComputeFeatures(std::span<const domain::Event> events, std::int64_t now_micros, TimeUnit unit);

}  // namespace cohort::analytics
