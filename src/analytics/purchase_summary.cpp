#include "analytics/purchase_summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace cohort::analytics {

std::string_view TimeUnitName(TimeUnit unit) { return unit == TimeUnit::kDays ? "days" : "weeks"; }

Result<TimeUnit> ParseTimeUnit(std::string_view name) {
  if (name == "days") return TimeUnit::kDays;
  if (name == "weeks") return TimeUnit::kWeeks;
  return Error::InvalidArgument(fmt::format("time unit must be \"days\" or \"weeks\", not \"{}\"", name));
}

double DaysPerUnit(TimeUnit unit) { return unit == TimeUnit::kDays ? 1.0 : 7.0; }

std::int64_t UtcDay(std::int64_t ts_micros) {
  const std::int64_t day = ts_micros / kMicrosPerDay;
  return ts_micros % kMicrosPerDay < 0 ? day - 1 : day;
}

Result<PurchaseSummary> SummarisePurchases(std::span<const Purchase> purchases, std::int64_t until_micros,
                                           TimeUnit unit) {
  const std::int64_t until_day = UtcDay(until_micros);
  // (day, position) of each purchase up to until_day, sorted: the days in order, each day's purchases in the
  // order given. One vector where a map of days took a node per day.
  std::vector<std::pair<std::int64_t, std::size_t>> days;
  days.reserve(purchases.size());
  for (std::size_t i = 0; i < purchases.size(); ++i) {
    const Purchase& purchase = purchases[i];
    if (!std::isfinite(purchase.amount) || purchase.amount < 0.0)
      return Error::InvalidArgument(
          fmt::format("purchase amount must be finite and >= 0, got {}", purchase.amount));
    const std::int64_t day = UtcDay(purchase.ts_micros);
    if (day <= until_day) days.emplace_back(day, i);
  }
  if (days.empty()) return Error::InvalidArgument("no purchase on or before the end of the calibration period");
  std::sort(days.begin(), days.end());

  const std::int64_t first_day = days.front().first;
  const std::int64_t last_day = days.back().first;
  std::int64_t distinct_days = 0;
  double repeat_total = 0.0;  // the amounts of every day but the first, summed day by day
  for (std::size_t i = 0; i < days.size();) {
    const std::int64_t day = days[i].first;
    double amount = 0.0;
    for (; i < days.size() && days[i].first == day; ++i) amount += purchases[days[i].second].amount;
    if (day != first_day) repeat_total += amount;
    ++distinct_days;
  }
  const double days_per_unit = DaysPerUnit(unit);
  PurchaseSummary summary;
  summary.x = distinct_days - 1;
  summary.t_x = static_cast<double>(last_day - first_day) / days_per_unit;
  summary.t_cal = static_cast<double>(until_day - first_day) / days_per_unit;
  if (summary.x > 0) summary.monetary = repeat_total / static_cast<double>(summary.x);
  return summary;
}

Result<std::int64_t> CountHoldoutPurchaseDays(std::span<const Purchase> purchases, std::int64_t until_micros,
                                              std::int64_t horizon_days) {
  if (horizon_days < 0) return Error::InvalidArgument("the holdout horizon must be >= 0 days");
  const std::int64_t until_day = UtcDay(until_micros);
  std::vector<std::int64_t> days;
  for (const Purchase& purchase : purchases) {
    const std::int64_t day = UtcDay(purchase.ts_micros);
    if (day > until_day && day - until_day <= horizon_days) days.push_back(day);
  }
  std::sort(days.begin(), days.end());
  return static_cast<std::int64_t>(std::unique(days.begin(), days.end()) - days.begin());
}

}  // namespace cohort::analytics
