#include "analytics/bgnbd.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/math/quadrature/gauss.hpp>
#include <cmath>
#include <exception>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "analytics/json_fields.hpp"
#include "analytics/optimizer.hpp"
#include "analytics/special_functions.hpp"

namespace cohort::analytics {
namespace {

// Search box of the log-parameters, in time units scaled so that the mean T is 1.
constexpr double kLogBound = 20.0;

struct Params {
  double r;
  double alpha;
  double a;
  double b;
};

// One customer's log-likelihood (FHL eq. 6, in logs, the two terms of the x > 0 case by log-sum-exp) and,
// when `gradient` is not null, its derivatives with respect to (r, alpha, a, b).
double CustomerLogLikelihood(const Params& p, double x, double t_x, double t_cal, double* gradient) {
  const double log_alpha_t = std::log(p.alpha + t_cal);
  double value = p.r * std::log(p.alpha) - (p.r + x) * log_alpha_t;
  if (x == 0.0) {
    if (gradient != nullptr) {
      gradient[0] = std::log(p.alpha) - log_alpha_t;
      gradient[1] = p.r / p.alpha - p.r / (p.alpha + t_cal);
      gradient[2] = 0.0;
      gradient[3] = 0.0;
    }
    return value;
  }
  const double log_alpha_tx = std::log(p.alpha + t_x);
  const double dropped = std::log(p.a) - std::log(p.b + x - 1.0) - (p.r + x) * log_alpha_tx;
  const double alive = -(p.r + x) * log_alpha_t;
  const double mix = LogSumExp(alive, dropped);
  value = LogGamma(p.r + x) - LogGamma(p.r) + p.r * std::log(p.alpha) + LogGamma(p.a + p.b) +
          LogGamma(p.b + x) - LogGamma(p.b) - LogGamma(p.a + p.b + x) + mix;
  if (gradient != nullptr) {
    const double w_alive = std::exp(alive - mix);
    const double w_dropped = std::exp(dropped - mix);
    const double common_ab = Digamma(p.a + p.b) - Digamma(p.a + p.b + x);
    gradient[0] = Digamma(p.r + x) - Digamma(p.r) + std::log(p.alpha) - w_alive * log_alpha_t -
                  w_dropped * log_alpha_tx;
    gradient[1] = p.r / p.alpha - (p.r + x) * (w_alive / (p.alpha + t_cal) + w_dropped / (p.alpha + t_x));
    gradient[2] = common_ab + w_dropped / p.a;
    gradient[3] = common_ab + Digamma(p.b + x) - Digamma(p.b) - w_dropped / (p.b + x - 1.0);
  }
  return value;
}

Params ParamsOf(const BgNbdModel& model) { return {model.r, model.alpha, model.a, model.b}; }

Result<void> CheckTime(double t) {
  if (!std::isfinite(t) || t < 0.0)
    return Error::InvalidArgument("the prediction horizon t must be finite and >= 0");
  return {};
}

// A distinct (x, t_x, T) and how many customers share it.
struct WeightedCustomer {
  double x;
  double t_x;
  double t_cal;
  double weight;
};

std::vector<WeightedCustomer> Deduplicate(std::span<const PurchaseSummary> customers, double time_scale) {
  std::map<std::tuple<std::int64_t, double, double>, double> counts;
  for (const PurchaseSummary& c : customers) counts[{c.x, c.t_x, c.t_cal}] += 1.0;
  std::vector<WeightedCustomer> distinct;
  distinct.reserve(counts.size());
  for (const auto& [key, count] : counts)
    distinct.push_back({static_cast<double>(std::get<0>(key)), std::get<1>(key) / time_scale,
                        std::get<2>(key) / time_scale, count});
  return distinct;
}

}  // namespace

nlohmann::json ToJson(const BgNbdModel& model) {
  return {{"r", model.r},
          {"alpha", model.alpha},
          {"a", model.a},
          {"b", model.b},
          {"time_unit", TimeUnitName(model.time_unit)},
          {"log_likelihood", model.log_likelihood}};
}

Result<BgNbdModel> BgNbdModelFromJson(const nlohmann::json& json) {
  BgNbdModel model;
  COHORT_ASSIGN_OR_RETURN(model.r, JsonPositiveNumber(json, "r"));
  COHORT_ASSIGN_OR_RETURN(model.alpha, JsonPositiveNumber(json, "alpha"));
  COHORT_ASSIGN_OR_RETURN(model.a, JsonPositiveNumber(json, "a"));
  COHORT_ASSIGN_OR_RETURN(model.b, JsonPositiveNumber(json, "b"));
  COHORT_ASSIGN_OR_RETURN(model.log_likelihood, JsonNumber(json, "log_likelihood"));
  const auto unit = json.find("time_unit");
  if (unit == json.end() || !unit->is_string())
    return Error::InvalidArgument("model field \"time_unit\" must be \"days\" or \"weeks\"");
  COHORT_ASSIGN_OR_RETURN(model.time_unit, ParseTimeUnit(unit->get<std::string>()));
  return model;
}

Result<void> ValidateBgNbdModel(const BgNbdModel& model) {
  for (double value : {model.r, model.alpha, model.a, model.b})
    if (!std::isfinite(value) || !(value > 0.0))
      return Error::InvalidArgument("BG/NBD parameters r, alpha, a, b must be finite and > 0");
  return {};
}

Result<void> ValidateSummary(const PurchaseSummary& customer) {
  if (customer.x < 0 || !std::isfinite(customer.t_x) || !std::isfinite(customer.t_cal) ||
      customer.t_x < 0.0 || customer.t_x > customer.t_cal || (customer.x == 0 && customer.t_x != 0.0))
    return Error::InvalidArgument(fmt::format("invalid purchase summary x = {}, t_x = {}, T = {}", customer.x,
                                              customer.t_x, customer.t_cal));
  return {};
}

Result<double> BgNbdLogLikelihood(const BgNbdModel& model, std::span<const PurchaseSummary> customers) {
  COHORT_TRY(ValidateBgNbdModel(model));
  const Params params = ParamsOf(model);
  double total = 0.0;
  for (const PurchaseSummary& c : customers) {
    COHORT_TRY(ValidateSummary(c));
    total += CustomerLogLikelihood(params, static_cast<double>(c.x), c.t_x, c.t_cal, nullptr);
  }
  return total;
}

Result<BgNbdFit> FitBgNbd(std::span<const PurchaseSummary> customers, TimeUnit unit) {
  double total_t = 0.0;
  bool any_repeat = false;
  for (const PurchaseSummary& c : customers) {
    COHORT_TRY(ValidateSummary(c));
    total_t += c.t_cal;
    any_repeat = any_repeat || c.x > 0;
  }
  if (!(total_t > 0.0))
    return Error{
        ErrorCode::kFailedPrecondition, "BG/NBD needs customers observed for longer than zero time", {}};
  if (!any_repeat)
    return Error{
        ErrorCode::kFailedPrecondition, "BG/NBD needs at least one customer with a repeat purchase", {}};

  // Times scaled to a mean T of 1 make the starting points and the search box independent of the unit and
  // of the data's span; only alpha carries the scale back.
  const double time_scale = total_t / static_cast<double>(customers.size());
  const std::vector<WeightedCustomer> distinct = Deduplicate(customers, time_scale);
  const double total_weight = static_cast<double>(customers.size());

  const Objective mean_negative_log_likelihood = [&distinct, total_weight](std::span<const double> theta,
                                                                           std::span<double> gradient) {
    const Params p{std::exp(theta[0]), std::exp(theta[1]), std::exp(theta[2]), std::exp(theta[3])};
    std::array<double, 4> sum_gradient{};
    std::array<double, 4> customer_gradient{};
    double* want_gradient = gradient.empty() ? nullptr : customer_gradient.data();
    double sum = 0.0;
    for (const WeightedCustomer& c : distinct) {
      sum += c.weight * CustomerLogLikelihood(p, c.x, c.t_x, c.t_cal, want_gradient);
      if (want_gradient != nullptr)
        for (std::size_t i = 0; i < 4; ++i) sum_gradient[i] += c.weight * customer_gradient[i];
    }
    if (!gradient.empty()) {
      const std::array<double, 4> values{p.r, p.alpha, p.a, p.b};  // chain rule through the log-parameters
      for (std::size_t i = 0; i < 4; ++i) gradient[i] = -sum_gradient[i] * values[i] / total_weight;
    }
    return -sum / total_weight;
  };

  MinimiseOptions options;
  options.lower.assign(4, -kLogBound);
  options.upper.assign(4, kLogBound);
  for (double r : {0.25, 1.0})
    for (double alpha : {0.1, 1.0})
      for (auto [a, b] : {std::pair{0.8, 2.5}, std::pair{2.0, 2.0}})
        options.starts.push_back({std::log(r), std::log(alpha), std::log(a), std::log(b)});
  COHORT_ASSIGN_OR_RETURN(const Minimum minimum, Minimise(mean_negative_log_likelihood, options));

  BgNbdFit fit;
  fit.model = {std::exp(minimum.x[0]),
               std::exp(minimum.x[1]) * time_scale,
               std::exp(minimum.x[2]),
               std::exp(minimum.x[3]),
               unit,
               0.0};
  COHORT_ASSIGN_OR_RETURN(fit.model.log_likelihood, BgNbdLogLikelihood(fit.model, customers));
  fit.report = {minimum.converged, minimum.at_bound, minimum.evaluations, fit.model.log_likelihood,
                customers.size()};
  return fit;
}

Result<double> ProbabilityNoPurchaseNewCustomer(const BgNbdModel& model, double t) {
  COHORT_TRY(ValidateBgNbdModel(model));
  COHORT_TRY(CheckTime(t));
  return std::exp(model.r * (std::log(model.alpha) - std::log(model.alpha + t)));
}

Result<double> ProbabilityAlive(const BgNbdModel& model, const PurchaseSummary& customer) {
  COHORT_TRY(ValidateBgNbdModel(model));
  COHORT_TRY(ValidateSummary(customer));
  if (customer.x == 0) return 1.0;
  const double x = static_cast<double>(customer.x);
  const double log_dropped_odds =
      std::log(model.a) - std::log(model.b + x - 1.0) +
      (model.r + x) * (std::log(model.alpha + customer.t_cal) - std::log(model.alpha + customer.t_x));
  return Sigmoid(-log_dropped_odds);
}

namespace {

// Beyond this estimated length the series gives way to quadrature (below).
constexpr double kSeriesTermBudget = 1e5;

// E[Y(t) | alive at T] as an integral: given lambda and p, a customer alive at T makes (1 - e^(-lambda p t))
// / p purchases in the next t on average; the posterior of (lambda, p) given alive is Gamma(r + x, alpha + T)
// times Beta(a, b + x), and integrating lambda out leaves
//   E_p[(1 - (1 + p u)^-(r + x)) / p],  p ~ Beta(a, b + x),  u = t / (alpha + T).
// Used when a is so large (or z so close to 1) that the 3F2 series would need more than kSeriesTermBudget
// terms, and only with a >= 1 and b + x >= 1, where the Beta density has no singularity: the integral is then
// taken over mean +- 12 standard deviations (clipped to [0, 1]; the mass beyond is far below double precision)
// in panels one standard deviation wide, each by a fixed 20-point Gauss-Legendre rule, exact to rounding on so
// smooth an integrand and cheap enough for every answer (adaptive rules at 1e-12 cost a second per customer).
Result<double> ExpectedPurchasesIfAliveByQuadrature(const BgNbdModel& m, double x, double u) {
  const double shape_a = m.a;
  const double shape_b = m.b + x;
  const double log_norm = LogGamma(shape_a + shape_b) - LogGamma(shape_a) - LogGamma(shape_b);
  const double k = m.r + x;
  const auto integrand = [&](double p) {
    if (!(p > 0.0 && p < 1.0)) return 0.0;
    const double purchases = -std::expm1(-k * std::log1p(p * u)) / p;
    return purchases * std::exp(log_norm + (shape_a - 1.0) * std::log(p) + (shape_b - 1.0) * std::log1p(-p));
  };
  const double mean = shape_a / (shape_a + shape_b);
  const double sd = std::sqrt(mean * (1.0 - mean) / (shape_a + shape_b + 1.0));
  const double lo = std::max(0.0, mean - 12.0 * sd);
  const double hi = std::min(1.0, mean + 12.0 * sd);
  const int panels = static_cast<int>(std::ceil((hi - lo) / sd));
  double value = 0.0;
  try {
    for (int i = 0; i < panels; ++i) {
      const double left = lo + (hi - lo) * i / panels;
      const double right = lo + (hi - lo) * (i + 1) / panels;
      value += boost::math::quadrature::gauss<double, 20>::integrate(integrand, left, right);
    }
  } catch (const std::exception& e) {
    return Error::Internal(fmt::format("BG/NBD expectation: quadrature failed: {}", e.what()));
  }
  if (!std::isfinite(value)) return Error::Internal("BG/NBD expectation: quadrature is not finite");
  return value;
}

}  // namespace

// FHL eq. 10 is
//   E[Y(t)] = (c / (a - 1)) [1 - (1 - z)^(r + x) 2F1(r + x, b + x; c; z)] P(alive),
// with c = a + b + x - 1 and z = t / (alpha + T + t). Euler's transformation turns the 2F1 into
// (1 - z)^(a - 1 - r - x) 2F1(A, a - 1; c; z) with A = a + b - 1 - r, which no longer grows like
// (1 - z)^-(r + x) for heavy buyers; and since the second parameter is a - 1,
//   (2F1(A, a - 1; c; z) - 1) / (a - 1) = (A z / c) 3F2(A + 1, a, 1; c + 1, 2; z),
// so, with P = (1 - z)^(a - 1) and L = log(1 - z),
//   E[Y(t)] = [c (1 - P) / (a - 1) - P A z 3F2(A + 1, a, 1; c + 1, 2; z)] P(alive),
// where (1 - P) / (a - 1) = -L expm1((a - 1) L) / ((a - 1) L) has no singularity at a = 1, and c + 1 > 0
// even when a + b < 1. The series' terms peak near n = a z / (1 - z): it is summed with a running scale
// (P is tiny exactly when the sum is huge), and when it would be too long, the integral above takes over.
// Eq. 9 (a new customer) is the case x = 0, T = 0.
Result<void> ConditionalExpectedPurchases(const BgNbdModel& model, const PurchaseSummary& customer,
                                          std::span<const double> t, std::span<double> out) {
  if (out.size() != t.size()) return Error::Internal("BG/NBD expectation: one result per horizon");
  COHORT_ASSIGN_OR_RETURN(const double p_alive, ProbabilityAlive(model, customer));
  for (double horizon : t) COHORT_TRY(CheckTime(horizon));
  const double x = static_cast<double>(customer.x);
  const auto finish = [&](std::size_t i, double if_alive) -> Result<void> {
    out[i] = if_alive * p_alive;
    if (!std::isfinite(out[i]))
      return Error::Internal(fmt::format("BG/NBD expectation is not finite at x = {}, T = {}, t = {}",
                                         customer.x, customer.t_cal, t[i]));
    return {};
  };
  // The horizons the series serves, summed together.
  std::vector<std::size_t> by_series;
  std::vector<double> z;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const double at = t[i] / (model.alpha + customer.t_cal + t[i]);
    if (t[i] == 0.0) {
      out[i] = 0.0;
    } else if ((model.a * at + 40.0) / (1.0 - at) > kSeriesTermBudget && model.a >= 1.0 && model.b + x >= 1.0) {
      COHORT_ASSIGN_OR_RETURN(const double if_alive,
                              ExpectedPurchasesIfAliveByQuadrature(model, x, t[i] / (model.alpha + customer.t_cal)));
      COHORT_TRY(finish(i, if_alive));
    } else {
      by_series.push_back(i);
      z.push_back(at);
    }
  }
  if (z.empty()) return {};
  const double c = model.a + model.b + x - 1.0;
  const double big_a = model.a + model.b - 1.0 - model.r;
  const std::array upper{big_a + 1.0, model.a, 1.0};
  const std::array lower{c + 1.0, 2.0};
  std::vector<ScaledValue> series(z.size());
  COHORT_TRY(HypergeometricSeries(upper, lower, z, series));
  for (std::size_t k = 0; k < z.size(); ++k) {
    const std::size_t i = by_series[k];
    const double log_one_minus_z =
        std::log(model.alpha + customer.t_cal) - std::log(model.alpha + customer.t_cal + t[i]);
    const double log_power = (model.a - 1.0) * log_one_minus_z;
    const double one_minus_power_over_a_minus_1 = -log_one_minus_z * Expm1Ratio(log_power);
    COHORT_TRY(finish(i, c * one_minus_power_over_a_minus_1 -
                             big_a * z[k] * series[k].mantissa * std::exp(log_power + series[k].log_scale)));
  }
  return {};
}

Result<double> ConditionalExpectedPurchases(const BgNbdModel& model, const PurchaseSummary& customer,
                                            double t) {
  double expected = 0.0;
  COHORT_TRY(ConditionalExpectedPurchases(model, customer, std::span(&t, 1), std::span(&expected, 1)));
  return expected;
}

Result<double> ExpectedPurchasesNewCustomer(const BgNbdModel& model, double t) {
  return ConditionalExpectedPurchases(model, PurchaseSummary{}, t);
}

}  // namespace cohort::analytics
