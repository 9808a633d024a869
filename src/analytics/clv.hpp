#pragma once
// Customer lifetime value, two ways:
//
// "bgnbd_gamma_gamma" (probabilistic): over H months with monthly discount rate d,
//   CLV = sum_{m=1..H} (E[Y(m u) | x, t_x, T] - E[Y((m-1) u) | x, t_x, T]) * E[Z | x, zbar] / (1 + d)^m,
// where u is one month (30.4375 days) in the BG/NBD model's time unit, E[Y] the BG/NBD conditional
// expectation and E[Z] the Gamma-Gamma expected order value.
//
// "simple" (the seed's): average order value * purchase rate * expected remaining lifetime, with
//   average order value = total spent / orders,
//   purchase rate       = orders / max(1, observed lifetime in months)   (purchases per month),
//   remaining lifetime  = H * (1 - churn_risk)                            (months),
// no discounting; 0 for a customer with no order.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "analytics/bgnbd.hpp"
#include "analytics/gamma_gamma.hpp"
#include "analytics/purchase_summary.hpp"
#include "common/result.hpp"

namespace cohort::analytics {

inline constexpr double kDaysPerMonth = 30.4375;  // 365.25 / 12
inline constexpr std::string_view kClvMethodProbabilistic = "bgnbd_gamma_gamma";
inline constexpr std::string_view kClvMethodSimple = "simple";

struct ClvOptions {
  int horizon_months = 12;         // 1 ..= 1200
  double monthly_discount = 0.01;  // finite, >= 0; ignored by the simple method
};

struct ClvEstimate {
  std::string method;               // kClvMethodProbabilistic or kClvMethodSimple
  double value = 0.0;               // in the currency of the amounts
  double expected_purchases = 0.0;  // over the horizon, undiscounted
  double expected_order_value = 0.0;
  int horizon_months = 0;
};

nlohmann::json ToJson(const ClvEstimate& estimate);

// Fails when a model or the summary is invalid, and with kFailedPrecondition when the Gamma-Gamma expected
// spend does not exist for this customer (x = 0 and q <= 1): use SimpleLtv then.
Result<ClvEstimate> ProbabilisticClv(const BgNbdModel& purchases, const GammaGammaModel& spend,
                                     const PurchaseSummary& customer, const ClvOptions& options = {});

struct SimpleLtvInputs {
  double total_spent = 0.0;    // >= 0
  std::int64_t orders = 0;     // >= 0
  double lifetime_days = 0.0;  // days from the first purchase to now, >= 0
  double churn_risk = 0.0;     // in [0, 1]
};

Result<ClvEstimate> SimpleLtv(const SimpleLtvInputs& inputs, int horizon_months = 12);

}  // namespace cohort::analytics
