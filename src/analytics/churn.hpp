#pragma once
// The seed's churn score, a logistic model on three activity features:
//   churn_risk = sigmoid(w0 + w1 * recency_days / 30 + w2 * ln(1 + frequency) + w3 * ln(1 + events_30d)),
// recency_days: days since the last purchase (or activity), frequency: purchases, events_30d: events in the
// last 30 days. The signs are part of the model: w1 >= 0, w2 <= 0, w3 <= 0, so that staying away longer
// never lowers the risk and buying more or being more active never raises it. Coefficients that break
// this are rejected, and the fit is constrained to respect it.

#include <nlohmann/json_fwd.hpp>
#include <span>

#include "analytics/fit_report.hpp"
#include "common/result.hpp"

namespace cohort::analytics {

// The defaults, for a shop that has no labelled history yet, are set so the score lines up with the
// segment thresholds: a one-purchase customer with no recent events scores about 0.37 after 30 days of
// silence (the end of ACTIVE), 0.59 after 60 and 0.78 after 90 (DORMANT): each month of silence adds 0.9
// to the logit. A second purchase (w2 = -0.6: -0.6 (ln 3 - ln 2) = -0.24) or a handful of recent events
// (w3 = -0.8: five events give -1.43) pull the risk back down, engagement weighing more than one more
// order; w0 = -1 puts a one-purchase customer who bought today at about 0.2.
struct ChurnCoefficients {
  double w0 = -1.0;
  double w1 = 0.9;
  double w2 = -0.6;
  double w3 = -0.8;
};

// {"w0", "w1", "w2", "w3"}
nlohmann::json ToJson(const ChurnCoefficients& coefficients);
Result<ChurnCoefficients> ChurnCoefficientsFromJson(const nlohmann::json& json);
// Finite, with the monotone signs.
Result<void> ValidateChurnCoefficients(const ChurnCoefficients& coefficients);

struct ChurnFeatures {
  double recency_days = 0.0;  // finite, >= 0
  double frequency = 0.0;     // finite, >= 0
  double events_30d = 0.0;    // finite, >= 0
};

Result<double> ChurnRisk(const ChurnCoefficients& coefficients, const ChurnFeatures& features);

struct ChurnExample {
  ChurnFeatures features;
  bool churned = false;
};

struct ChurnFitOptions {
  // L2 penalty on w1..w3 (not the intercept), added to the mean negative log-likelihood as l2 / 2 * |w|^2:
  // it keeps the fit finite when a feature separates the classes perfectly.
  double l2 = 1e-3;
};

struct ChurnFit {
  ChurnCoefficients coefficients;
  FitReport report;  // at_bound: a sign constraint is active (the data pushed a coefficient the wrong way)
};

// Maximum (penalised) likelihood under the sign constraints. Fails with kInvalidArgument on a bad feature
// and with kFailedPrecondition unless both classes occur.
Result<ChurnFit> FitChurnCoefficients(std::span<const ChurnExample> examples,
                                      const ChurnFitOptions& options = {});

struct ScoredLabel {
  double score = 0.0;
  bool positive = false;
};

// Area under the ROC curve as the Mann-Whitney statistic: the probability that a random positive scores
// above a random negative, ties counting one half. Fails unless both classes occur and every score is finite.
Result<double> Auc(std::span<const ScoredLabel> scored);

}  // namespace cohort::analytics
