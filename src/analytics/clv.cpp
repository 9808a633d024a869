#include "analytics/clv.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

namespace cohort::analytics {
namespace {

constexpr int kMaxHorizonMonths = 1200;

Result<void> CheckHorizon(int horizon_months) {
  if (horizon_months < 1 || horizon_months > kMaxHorizonMonths)
    return Error::InvalidArgument(fmt::format("the CLV horizon must be 1 to {} months", kMaxHorizonMonths));
  return {};
}

}  // namespace

nlohmann::json ToJson(const ClvEstimate& estimate) {
  return {{"method", estimate.method},
          {"value", estimate.value},
          {"expected_purchases", estimate.expected_purchases},
          {"expected_order_value", estimate.expected_order_value},
          {"horizon_months", estimate.horizon_months}};
}

Result<ClvEstimate> ProbabilisticClv(const BgNbdModel& purchases, const GammaGammaModel& spend,
                                     const PurchaseSummary& customer, const ClvOptions& options) {
  COHORT_TRY(CheckHorizon(options.horizon_months));
  if (!std::isfinite(options.monthly_discount) || options.monthly_discount < 0.0)
    return Error::InvalidArgument("the monthly discount rate must be finite and >= 0");
  COHORT_ASSIGN_OR_RETURN(const double order_value,
                          ExpectedAverageSpend(spend, customer.x, customer.monetary));

  const double month = kDaysPerMonth / DaysPerUnit(purchases.time_unit);
  ClvEstimate estimate{std::string(kClvMethodProbabilistic), 0.0, 0.0, order_value, options.horizon_months};
  const auto months = static_cast<std::size_t>(options.horizon_months);
  std::vector<double> ends(months);  // of each month, in the model's time unit
  for (std::size_t m = 0; m < months; ++m) ends[m] = month * static_cast<double>(m + 1);
  std::vector<double> cumulative(months);
  COHORT_TRY(ConditionalExpectedPurchases(purchases, customer, ends, cumulative));
  double previous = 0.0;
  double discount = 1.0;
  for (std::size_t m = 0; m < months; ++m) {
    discount /= 1.0 + options.monthly_discount;
    estimate.value += (cumulative[m] - previous) * order_value * discount;
    previous = cumulative[m];
  }
  estimate.expected_purchases = previous;
  return estimate;
}

Result<ClvEstimate> SimpleLtv(const SimpleLtvInputs& inputs, int horizon_months) {
  COHORT_TRY(CheckHorizon(horizon_months));
  if (!std::isfinite(inputs.total_spent) || inputs.total_spent < 0.0 || inputs.orders < 0 ||
      !std::isfinite(inputs.lifetime_days) || inputs.lifetime_days < 0.0 || !(inputs.churn_risk >= 0.0) ||
      !(inputs.churn_risk <= 1.0))
    return Error::InvalidArgument(
        "simple LTV needs total spent >= 0, orders >= 0, lifetime days >= 0 and a churn risk in [0, 1]");
  ClvEstimate estimate{std::string(kClvMethodSimple), 0.0, 0.0, 0.0, horizon_months};
  if (inputs.orders == 0) return estimate;
  const double orders = static_cast<double>(inputs.orders);
  const double per_month = orders / std::max(1.0, inputs.lifetime_days / kDaysPerMonth);
  const double remaining_months = static_cast<double>(horizon_months) * (1.0 - inputs.churn_risk);
  estimate.expected_order_value = inputs.total_spent / orders;
  estimate.expected_purchases = per_month * remaining_months;
  estimate.value = estimate.expected_order_value * estimate.expected_purchases;
  return estimate;
}

}  // namespace cohort::analytics
