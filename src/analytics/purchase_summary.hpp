#pragma once
// One customer's purchase history reduced to what the BG/NBD and Gamma-Gamma models read, with the
// conventions of the literature (Fader, Hardie & Lee 2005; BTYD, lifetimes, CLVTools):
// - purchases on the same UTC day are one purchase, their amounts summed;
// - the calibration period ends with the whole UTC day of `until`; later purchases are ignored;
// - x = repeat purchase days = distinct purchase days - 1;
// - t_x = last purchase day - first purchase day, T = until day - first purchase day, in the time unit
//   (a week is 7 days);
// - monetary (zbar) = mean amount of the repeat purchase days, the first day excluded; 0 when x = 0.

#include <cstdint>
#include <span>
#include <string_view>

#include "common/result.hpp"

namespace cohort::analytics {

enum class TimeUnit { kDays, kWeeks };

std::string_view TimeUnitName(TimeUnit unit);  // "days", "weeks"
Result<TimeUnit> ParseTimeUnit(std::string_view name);
double DaysPerUnit(TimeUnit unit);

inline constexpr std::int64_t kMicrosPerDay = 86'400'000'000;

struct Purchase {
  std::int64_t ts_micros = 0;  // microseconds since the Unix epoch, UTC
  double amount = 0.0;         // finite, >= 0
};

struct PurchaseSummary {
  std::int64_t x = 0;     // repeat purchase days in the calibration period
  double t_x = 0.0;       // recency: first to last purchase day, in the time unit
  double t_cal = 0.0;     // T (BTYD's T.cal): first purchase day to the end of calibration, in the time unit
  double monetary = 0.0;  // zbar: mean amount of the repeat purchase days
  bool operator==(const PurchaseSummary&) const = default;
};

// Purchases need not be sorted. Fails with kInvalidArgument when an amount is negative or not finite, or
// when no purchase falls on or before the day of `until_micros`.
Result<PurchaseSummary> SummarisePurchases(std::span<const Purchase> purchases, std::int64_t until_micros,
                                           TimeUnit unit);

// Distinct purchase days in (until day, until day + horizon_days]: the holdout count that the calibration
// table compares with the model's conditional expectation. Fails when horizon_days < 0.
Result<std::int64_t> CountHoldoutPurchaseDays(std::span<const Purchase> purchases, std::int64_t until_micros,
                                              std::int64_t horizon_days);

// The UTC day number (days since 1970-01-01) of a timestamp, rounding toward the past.
std::int64_t UtcDay(std::int64_t ts_micros);

}  // namespace cohort::analytics
