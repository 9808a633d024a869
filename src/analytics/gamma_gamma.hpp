#pragma once
// Gamma-Gamma spend model (Fader & Hardie 2013, "The Gamma-Gamma model of monetary value"): a customer's
// purchase amounts are Gamma(p, nu) with nu ~ Gamma(q, v) across customers, independent of how often they
// buy. It is fitted on the repeat buyers' mean repeat amount zbar over their x repeat purchases.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <span>

#include "analytics/fit_report.hpp"
#include "analytics/purchase_summary.hpp"
#include "common/result.hpp"

namespace cohort::analytics {

struct GammaGammaModel {
  double p = 0.0;
  double q = 0.0;
  double v = 0.0;  // gamma in the paper; in the currency of the amounts
  double log_likelihood = 0.0;
};

// {"p", "q", "v", "log_likelihood"}
nlohmann::json ToJson(const GammaGammaModel& model);
Result<GammaGammaModel> GammaGammaModelFromJson(const nlohmann::json& json);

// p, q, v finite and > 0.
Result<void> ValidateGammaGammaModel(const GammaGammaModel& model);

struct GammaGammaFit {
  GammaGammaModel model;
  FitReport report;  // observations = repeat buyers used
};

// Maximum likelihood over the customers with x > 0 and monetary > 0 (the others carry no information on
// spend and are skipped). Fails with kFailedPrecondition when fewer than two such customers remain.
Result<GammaGammaFit> FitGammaGamma(std::span<const PurchaseSummary> customers);

// Sum over the repeat buyers (x > 0, monetary > 0) of the log-density of zbar given x:
//   lnG(px + q) - lnG(px) - lnG(q) + q ln v + (px - 1) ln zbar + px ln x - (px + q) ln(v + x zbar).
// This is the density of the mean zbar (the px ln x term is the Jacobian from the sum x zbar), the
// convention of the lifetimes package, which gives -4055.92 on CDNOW.
Result<double> GammaGammaLogLikelihood(const GammaGammaModel& model,
                                       std::span<const PurchaseSummary> customers);

// E[Z | x, zbar]: the expected amount of a future purchase, the posterior mean
//   p (v + x zbar) / (p x + q - 1)
// = (q - 1) / (p x + q - 1) * (p v / (q - 1)) + p x / (p x + q - 1) * zbar,
// a weighted average of the population mean p v / (q - 1) and the customer's own zbar. It exists when
// p x + q > 1; for a customer with x = 0 that needs q > 1 (otherwise the population mean is infinite) and
// the function fails with kFailedPrecondition, so the caller falls back to another estimate (clv.hpp).
Result<double> ExpectedAverageSpend(const GammaGammaModel& model, std::int64_t x, double zbar);

}  // namespace cohort::analytics
