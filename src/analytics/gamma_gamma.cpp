#include "analytics/gamma_gamma.hpp"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "analytics/json_fields.hpp"
#include "analytics/optimizer.hpp"
#include "analytics/special_functions.hpp"

namespace cohort::analytics {
namespace {

constexpr double kLogBound = 20.0;  // search box of the log-parameters, amounts scaled to a mean zbar of 1

bool IsRepeatBuyer(const PurchaseSummary& c) { return c.x > 0 && c.monetary > 0.0; }

Result<void> CheckSpend(const PurchaseSummary& c) {
  if (c.x < 0 || !std::isfinite(c.monetary) || c.monetary < 0.0)
    return Error::InvalidArgument(fmt::format("invalid spend summary x = {}, zbar = {}", c.x, c.monetary));
  return {};
}

// One repeat buyer's log-density of zbar and, when `gradient` is not null, its derivatives in (p, q, v).
double CustomerLogLikelihood(double p, double q, double v, double x, double zbar, double* gradient) {
  const double px = p * x;
  const double log_total = std::log(v + x * zbar);
  if (gradient != nullptr) {
    const double shared = Digamma(px + q);
    gradient[0] = x * (shared - Digamma(px) + std::log(zbar) + std::log(x) - log_total);
    gradient[1] = shared - Digamma(q) + std::log(v) - log_total;
    gradient[2] = q / v - (px + q) / (v + x * zbar);
  }
  return LogGamma(px + q) - LogGamma(px) - LogGamma(q) + q * std::log(v) + (px - 1.0) * std::log(zbar) +
         px * std::log(x) - (px + q) * log_total;
}

}  // namespace

nlohmann::json ToJson(const GammaGammaModel& model) {
  return {{"p", model.p}, {"q", model.q}, {"v", model.v}, {"log_likelihood", model.log_likelihood}};
}

Result<GammaGammaModel> GammaGammaModelFromJson(const nlohmann::json& json) {
  GammaGammaModel model;
  COHORT_ASSIGN_OR_RETURN(model.p, JsonPositiveNumber(json, "p"));
  COHORT_ASSIGN_OR_RETURN(model.q, JsonPositiveNumber(json, "q"));
  COHORT_ASSIGN_OR_RETURN(model.v, JsonPositiveNumber(json, "v"));
  COHORT_ASSIGN_OR_RETURN(model.log_likelihood, JsonNumber(json, "log_likelihood"));
  return model;
}

Result<void> ValidateGammaGammaModel(const GammaGammaModel& model) {
  for (double value : {model.p, model.q, model.v})
    if (!std::isfinite(value) || !(value > 0.0))
      return Error::InvalidArgument("Gamma-Gamma parameters p, q, v must be finite and > 0");
  return {};
}

Result<double> GammaGammaLogLikelihood(const GammaGammaModel& model,
                                       std::span<const PurchaseSummary> customers) {
  COHORT_TRY(ValidateGammaGammaModel(model));
  double total = 0.0;
  for (const PurchaseSummary& c : customers) {
    COHORT_TRY(CheckSpend(c));
    if (IsRepeatBuyer(c))
      total +=
          CustomerLogLikelihood(model.p, model.q, model.v, static_cast<double>(c.x), c.monetary, nullptr);
  }
  return total;
}

Result<GammaGammaFit> FitGammaGamma(std::span<const PurchaseSummary> customers) {
  // Distinct (x, zbar) with their counts; amounts scaled to a mean zbar of 1 so that the starting points and
  // the search box do not depend on the currency. Only v carries the scale back.
  std::map<std::pair<std::int64_t, double>, double> counts;
  double total_zbar = 0.0;
  std::size_t buyers = 0;
  for (const PurchaseSummary& c : customers) {
    COHORT_TRY(CheckSpend(c));
    if (!IsRepeatBuyer(c)) continue;
    counts[{c.x, c.monetary}] += 1.0;
    total_zbar += c.monetary;
    ++buyers;
  }
  if (buyers < 2)
    return Error{ErrorCode::kFailedPrecondition,
                 "Gamma-Gamma needs at least two customers with a repeat purchase",
                 {}};
  const double scale = total_zbar / static_cast<double>(buyers);
  struct Weighted {
    double x;
    double zbar;
    double weight;
  };
  std::vector<Weighted> distinct;
  for (const auto& [key, count] : counts)
    distinct.push_back({static_cast<double>(key.first), key.second / scale, count});

  const double total_weight = static_cast<double>(buyers);
  const Objective mean_negative_log_likelihood = [&distinct, total_weight](std::span<const double> theta,
                                                                           std::span<double> gradient) {
    const std::array<double, 3> values{std::exp(theta[0]), std::exp(theta[1]), std::exp(theta[2])};
    std::array<double, 3> sum_gradient{};
    std::array<double, 3> customer_gradient{};
    double* want_gradient = gradient.empty() ? nullptr : customer_gradient.data();
    double sum = 0.0;
    for (const Weighted& c : distinct) {
      sum += c.weight * CustomerLogLikelihood(values[0], values[1], values[2], c.x, c.zbar, want_gradient);
      if (want_gradient != nullptr)
        for (std::size_t i = 0; i < 3; ++i) sum_gradient[i] += c.weight * customer_gradient[i];
    }
    for (std::size_t i = 0; i < gradient.size(); ++i)
      gradient[i] = -sum_gradient[i] * values[i] / total_weight;
    return -sum / total_weight;
  };

  MinimiseOptions options;
  options.lower.assign(3, -kLogBound);
  options.upper.assign(3, kLogBound);
  // With zbar scaled to mean 1, p v / (q - 1) near 1 is where the optimum usually is.
  for (double p : {1.0, 5.0})
    for (double q : {2.0, 4.0}) options.starts.push_back({std::log(p), std::log(q), std::log((q - 1.0) / p)});
  options.starts.push_back({0.0, 0.0, 0.0});
  COHORT_ASSIGN_OR_RETURN(const Minimum minimum, Minimise(mean_negative_log_likelihood, options));

  GammaGammaFit fit;
  fit.model = {std::exp(minimum.x[0]), std::exp(minimum.x[1]), std::exp(minimum.x[2]) * scale, 0.0};
  COHORT_ASSIGN_OR_RETURN(fit.model.log_likelihood, GammaGammaLogLikelihood(fit.model, customers));
  fit.report = {minimum.converged, minimum.at_bound, minimum.evaluations, fit.model.log_likelihood, buyers};
  return fit;
}

Result<double> ExpectedAverageSpend(const GammaGammaModel& model, std::int64_t x, double zbar) {
  COHORT_TRY(ValidateGammaGammaModel(model));
  COHORT_TRY(CheckSpend(PurchaseSummary{x, 0.0, 0.0, zbar}));
  const double px = model.p * static_cast<double>(x);
  if (!(px + model.q > 1.0))
    return Error{ErrorCode::kFailedPrecondition,
                 fmt::format("Gamma-Gamma expected spend is infinite for x = {} when p x + q = {} <= 1", x,
                             px + model.q),
                 {}};
  return model.p * (model.v + static_cast<double>(x) * zbar) / (px + model.q - 1.0);
}

}  // namespace cohort::analytics
