#pragma once
// What one customer's events say about them, as of a moment `now`: activity, purchases, revenue, category
// interests, and the BG/NBD summary (x, t_x, T) of their purchases. Computed in one pass over the events; pure.
//
// Revenue is net: purchases (price × quantity) minus returns, never below 0. Events after `now` are ignored, so
// the same function gives features "as of" a training cutoff.
//
// FeatureState is what the features are computed from, fed one event at a time in any order; it is small
// enough to keep per user (the event.ingested consumer stores it, queue/consumers/consumers.hpp), and gives
// the features as of any later moment without the events: ComputeFeatures is a fold into a FeatureState, so
// the stored features and the computed ones are the same function.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "analytics/purchase_summary.hpp"
#include "common/result.hpp"
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
  bool operator==(const UserFeatures&) const = default;
};

class FeatureState {
 public:
  void Add(const domain::Event& event);
  // Room for `events` more events without reallocating.
  void Reserve(std::size_t events);
  // Exact for any `now` at or after the last event added; events after `now` count in the totals (events,
  // first and last activity, category shares) but not in the windows nor the purchase summary.
  UserFeatures Features(std::int64_t now_micros, TimeUnit unit) const;

  std::int64_t events() const { return events_; }
  // The state as JSON, without the window entries that no `now` after the last event can count any more.
  nlohmann::json ToJson() const;
  // kInvalidArgument naming the field when `json` is not what ToJson writes.
  static Result<FeatureState> FromJson(const nlohmann::json& json);

 private:
  enum class Kind : std::uint8_t { kOther = 0, kView = 1, kCart = 2 };
  struct Timed {
    std::int64_t ts_micros;
    Kind kind;
  };

  std::int64_t events_ = 0;
  std::optional<std::int64_t> first_activity_micros_;
  std::optional<std::int64_t> last_activity_micros_;
  std::vector<Purchase> purchases_;
  double returned_ = 0;
  std::unordered_map<std::string, std::int64_t> categories_;  // events per category
  std::vector<Timed> timed_;  // every event, for the 7/30/90-day windows; ToJson keeps the last 90 days only
};

// `events` in any order.
UserFeatures ComputeFeatures(std::span<const domain::Event> events, std::int64_t now_micros, TimeUnit unit);

}  // namespace cohort::analytics
