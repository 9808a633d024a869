#include "analytics/churn.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "analytics/json_fields.hpp"
#include "analytics/optimizer.hpp"
#include "analytics/special_functions.hpp"

namespace cohort::analytics {
namespace {

constexpr double kCoefficientBound = 50.0;  // far beyond any sensible logit weight on these scales

Result<std::array<double, 3>> Transform(const ChurnFeatures& f) {
  for (double value : {f.recency_days, f.frequency, f.events_30d})
    if (!std::isfinite(value) || value < 0.0)
      return Error::InvalidArgument(
          fmt::format("churn features must be finite and >= 0 (recency {}, frequency {}, "
                      "events {})",
                      f.recency_days, f.frequency, f.events_30d));
  return std::array{f.recency_days / 30.0, std::log1p(f.frequency), std::log1p(f.events_30d)};
}

}  // namespace

nlohmann::json ToJson(const ChurnCoefficients& c) {
  return {{"w0", c.w0}, {"w1", c.w1}, {"w2", c.w2}, {"w3", c.w3}};
}

Result<ChurnCoefficients> ChurnCoefficientsFromJson(const nlohmann::json& json) {
  ChurnCoefficients c;
  COHORT_ASSIGN_OR_RETURN(c.w0, JsonNumber(json, "w0"));
  COHORT_ASSIGN_OR_RETURN(c.w1, JsonNumber(json, "w1"));
  COHORT_ASSIGN_OR_RETURN(c.w2, JsonNumber(json, "w2"));
  COHORT_ASSIGN_OR_RETURN(c.w3, JsonNumber(json, "w3"));
  COHORT_TRY(ValidateChurnCoefficients(c));
  return c;
}

Result<void> ValidateChurnCoefficients(const ChurnCoefficients& c) {
  if (!std::isfinite(c.w0) || !std::isfinite(c.w1) || !std::isfinite(c.w2) || !std::isfinite(c.w3))
    return Error::InvalidArgument("churn coefficients must be finite");
  if (c.w1 < 0.0 || c.w2 > 0.0 || c.w3 > 0.0)
    return Error::InvalidArgument(
        "churn coefficients must have w1 >= 0, w2 <= 0, w3 <= 0 (a monotone score)");
  return {};
}

Result<double> ChurnRisk(const ChurnCoefficients& c, const ChurnFeatures& features) {
  COHORT_TRY(ValidateChurnCoefficients(c));
  COHORT_ASSIGN_OR_RETURN(const auto f, Transform(features));
  return Sigmoid(c.w0 + c.w1 * f[0] + c.w2 * f[1] + c.w3 * f[2]);
}

Result<ChurnFit> FitChurnCoefficients(std::span<const ChurnExample> examples,
                                      const ChurnFitOptions& options) {
  if (!std::isfinite(options.l2) || options.l2 < 0.0)
    return Error::InvalidArgument("the L2 penalty must be >= 0");
  struct Row {
    std::array<double, 4> x;  // 1 and the three transformed features
    double label;
  };
  std::vector<Row> rows;
  rows.reserve(examples.size());
  std::size_t churned = 0;
  for (const ChurnExample& example : examples) {
    COHORT_ASSIGN_OR_RETURN(const auto f, Transform(example.features));
    rows.push_back({{1.0, f[0], f[1], f[2]}, example.churned ? 1.0 : 0.0});
    churned += example.churned ? 1 : 0;
  }
  if (churned == 0 || churned == rows.size())
    return Error{
        ErrorCode::kFailedPrecondition, "the churn fit needs both churned and retained examples", {}};

  const double n = static_cast<double>(rows.size());
  const double l2 = options.l2;
  // Mean logistic loss, softplus(s) - y s, plus the penalty; gradient (sigmoid(s) - y) x + l2 w.
  const Objective penalised_loss = [&rows, n, l2](std::span<const double> w, std::span<double> gradient) {
    double loss = 0.0;
    std::array<double, 4> sum_gradient{};
    for (const Row& row : rows) {
      const double s = w[0] * row.x[0] + w[1] * row.x[1] + w[2] * row.x[2] + w[3] * row.x[3];
      loss += Softplus(s) - row.label * s;
      const double residual = Sigmoid(s) - row.label;
      for (std::size_t i = 0; i < 4; ++i) sum_gradient[i] += residual * row.x[i];
    }
    double penalty = 0.0;
    for (std::size_t i = 1; i < 4; ++i) penalty += 0.5 * l2 * w[i] * w[i];
    for (std::size_t i = 0; i < gradient.size(); ++i)
      gradient[i] = sum_gradient[i] / n + (i > 0 ? l2 * w[i] : 0.0);
    return loss / n + penalty;
  };

  MinimiseOptions minimise;
  minimise.lower = {-kCoefficientBound, 0.0, -kCoefficientBound, -kCoefficientBound};
  minimise.upper = {kCoefficientBound, kCoefficientBound, 0.0, 0.0};
  const ChurnCoefficients defaults;
  minimise.starts = {{defaults.w0, defaults.w1, defaults.w2, defaults.w3}, {0.0, 0.0, 0.0, 0.0}};
  COHORT_ASSIGN_OR_RETURN(const Minimum minimum, Minimise(penalised_loss, minimise));

  ChurnFit fit;
  fit.coefficients = {minimum.x[0], minimum.x[1], minimum.x[2], minimum.x[3]};
  double penalty = 0.0;
  for (std::size_t i = 1; i < 4; ++i) penalty += 0.5 * l2 * minimum.x[i] * minimum.x[i];
  fit.report = {minimum.converged, minimum.at_bound, minimum.evaluations, -(minimum.value - penalty) * n,
                rows.size()};
  return fit;
}

Result<double> Auc(std::span<const ScoredLabel> scored) {
  std::vector<ScoredLabel> sorted(scored.begin(), scored.end());
  for (const ScoredLabel& s : sorted)
    if (!std::isfinite(s.score)) return Error::InvalidArgument("AUC needs finite scores");
  std::sort(sorted.begin(), sorted.end(),
            [](const ScoredLabel& l, const ScoredLabel& r) { return l.score < r.score; });
  // Sum of the positives' ranks, tied scores sharing the mean of their ranks.
  double positive_rank_sum = 0.0;
  std::size_t positives = 0;
  for (std::size_t begin = 0; begin < sorted.size();) {
    std::size_t end = begin;
    std::size_t tied_positives = 0;
    while (end < sorted.size() && sorted[end].score == sorted[begin].score)
      tied_positives += sorted[end++].positive;
    const double mean_rank = (static_cast<double>(begin + 1) + static_cast<double>(end)) / 2.0;
    positive_rank_sum += mean_rank * static_cast<double>(tied_positives);
    positives += tied_positives;
    begin = end;
  }
  const std::size_t negatives = sorted.size() - positives;
  if (positives == 0 || negatives == 0)
    return Error::InvalidArgument("AUC needs both positive and negative labels");
  const double p = static_cast<double>(positives);
  return (positive_rank_sum - p * (p + 1.0) / 2.0) / (p * static_cast<double>(negatives));
}

}  // namespace cohort::analytics
