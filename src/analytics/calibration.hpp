#pragma once
// The BG/NBD calibration table (FHL 2005, fig. 4): customers grouped by their calibration-period repeat
// purchases x = 0, 1, ..., 6, 7+, and per group the mean number of purchase days actually seen in a holdout
// period of length t* beside the model's mean conditional expectation E[Y(t*) | x, t_x, T].

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <vector>

#include "analytics/bgnbd.hpp"
#include "analytics/purchase_summary.hpp"
#include "common/result.hpp"

namespace cohort::analytics {

struct CalibrationRow {
  std::string x_bucket;  // "0" .. "6", "7+"
  std::int64_t customers = 0;
  double actual_mean = 0.0;    // 0 when the bucket is empty
  double expected_mean = 0.0;  // 0 when the bucket is empty
};

// Always the eight rows, in bucket order. `holdout_purchases[i]` belongs to `customers[i]`
// (CountHoldoutPurchaseDays); `holdout_length` is t* in the model's time unit.
Result<std::vector<CalibrationRow>> BgNbdCalibrationTable(const BgNbdModel& model,
                                                          std::span<const PurchaseSummary> customers,
                                                          std::span<const std::int64_t> holdout_purchases,
                                                          double holdout_length);

// [{"x_bucket", "customers", "actual_mean", "expected_mean"}, ...]
nlohmann::json ToJson(std::span<const CalibrationRow> table);

}  // namespace cohort::analytics
