#pragma once
// BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive a customer buys
// as a Poisson process with rate lambda ~ Gamma(r, alpha); after each purchase they drop out with
// probability p ~ Beta(a, b). Times are in the model's unit (days or weeks), the unit the summaries used.
//
// Every function checks its inputs and returns an error instead of NaN. The expectations use a form of
// FHL eq. 10 that holds for every a > 0, including a <= 1 and a = 1, where the paper's closed form divides by
// a - 1; a hypergeometric series, or an integral over the drop-out probability when a is so large that the
// series would be too long (bgnbd.cpp). They fail (kInternal) only in corners where neither applies (the
// series would need over ten million terms): t many orders of magnitude beyond alpha + T, or a huge a with
// b + x < 1.

#include <nlohmann/json_fwd.hpp>
#include <span>

#include "analytics/fit_report.hpp"
#include "analytics/purchase_summary.hpp"
#include "common/result.hpp"

namespace cohort::analytics {

struct BgNbdModel {
  double r = 0.0;
  double alpha = 0.0;
  double a = 0.0;
  double b = 0.0;
  TimeUnit time_unit = TimeUnit::kWeeks;
  double log_likelihood = 0.0;  // on the data it was fitted to
};

// {"r", "alpha", "a", "b", "time_unit", "log_likelihood"}
nlohmann::json ToJson(const BgNbdModel& model);
Result<BgNbdModel> BgNbdModelFromJson(const nlohmann::json& json);

// r, alpha, a, b finite and > 0.
Result<void> ValidateBgNbdModel(const BgNbdModel& model);
// x >= 0, 0 <= t_x <= t_cal, all finite; t_x = 0 when x = 0.
Result<void> ValidateSummary(const PurchaseSummary& customer);

struct BgNbdFit {
  BgNbdModel model;
  FitReport report;
};

// Maximum likelihood over the customers, whose summaries are in `unit`. Identical summaries are counted
// once with a weight; the search runs over log-parameters from several starting points with L-BFGS and the
// analytic gradient. Fails with kInvalidArgument on an invalid summary and with kFailedPrecondition when
// the data cannot identify the model (no customer with a calibration period, or no repeat purchase).
Result<BgNbdFit> FitBgNbd(std::span<const PurchaseSummary> customers, TimeUnit unit);

// Sum of the customers' log-likelihoods, FHL eq. 6 (the density of (x, t_x, T), no x! term).
Result<double> BgNbdLogLikelihood(const BgNbdModel& model, std::span<const PurchaseSummary> customers);

// E[X(t)]: purchases of a new customer in their first t time units (FHL eq. 9).
Result<double> ExpectedPurchasesNewCustomer(const BgNbdModel& model, double t);
// P(X(t) = 0) for a new customer: (alpha / (alpha + t))^r.
Result<double> ProbabilityNoPurchaseNewCustomer(const BgNbdModel& model, double t);
// E[Y(t) | x, t_x, T]: purchases in the next t time units of a customer with this history (FHL eq. 10).
Result<double> ConditionalExpectedPurchases(const BgNbdModel& model, const PurchaseSummary& customer,
                                            double t);
// The same at each horizon of `t`, into out[i] for t[i] (as many): the series of every horizon are summed in
// one pass, so a curve costs little more than its longest horizon.
Result<void> ConditionalExpectedPurchases(const BgNbdModel& model, const PurchaseSummary& customer,
                                          std::span<const double> t, std::span<double> out);
// P(alive | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)).
Result<double> ProbabilityAlive(const BgNbdModel& model, const PurchaseSummary& customer);

}  // namespace cohort::analytics
