#include "analytics/calibration.hpp"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

namespace cohort::analytics {
namespace {

constexpr std::int64_t kLastBucket = 7;  // "7+"

}  // namespace

Result<std::vector<CalibrationRow>> BgNbdCalibrationTable(const BgNbdModel& model,
                                                          std::span<const PurchaseSummary> customers,
                                                          std::span<const std::int64_t> holdout_purchases,
                                                          double holdout_length) {
  if (customers.size() != holdout_purchases.size())
    return Error::InvalidArgument("the calibration table needs one holdout count per customer");
  std::array<double, kLastBucket + 1> actual{};
  std::array<double, kLastBucket + 1> expected{};
  std::array<std::int64_t, kLastBucket + 1> counts{};
  for (std::size_t i = 0; i < customers.size(); ++i) {
    if (holdout_purchases[i] < 0) return Error::InvalidArgument("holdout purchase counts must be >= 0");
    COHORT_ASSIGN_OR_RETURN(const double prediction,
                            ConditionalExpectedPurchases(model, customers[i], holdout_length));
    const auto bucket = static_cast<std::size_t>(std::min(customers[i].x, kLastBucket));
    actual[bucket] += static_cast<double>(holdout_purchases[i]);
    expected[bucket] += prediction;
    ++counts[bucket];
  }
  std::vector<CalibrationRow> table;
  for (std::size_t bucket = 0; bucket <= kLastBucket; ++bucket) {
    CalibrationRow row{bucket == kLastBucket ? std::to_string(kLastBucket) + "+" : std::to_string(bucket),
                       counts[bucket], 0.0, 0.0};
    if (row.customers > 0) {
      row.actual_mean = actual[bucket] / static_cast<double>(row.customers);
      row.expected_mean = expected[bucket] / static_cast<double>(row.customers);
    }
    table.push_back(std::move(row));
  }
  return table;
}

nlohmann::json ToJson(std::span<const CalibrationRow> table) {
  nlohmann::json rows = nlohmann::json::array();
  for (const CalibrationRow& row : table)
    rows.push_back({{"x_bucket", row.x_bucket},
                    {"customers", row.customers},
                    {"actual_mean", row.actual_mean},
                    {"expected_mean", row.expected_mean}});
  return rows;
}

}  // namespace cohort::analytics
