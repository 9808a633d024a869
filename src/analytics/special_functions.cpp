#include "analytics/special_functions.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/math/policies/policy.hpp>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <vector>

namespace cohort::analytics {
namespace {

using NoPromotion = boost::math::policies::policy<boost::math::policies::promote_double<false>>;

constexpr long kMaxTerms = 10'000'000;
constexpr double kRelativeTolerance = 1e-15;
constexpr double kRescaleAbove = 1e250;
const double kLogRescale = std::log(kRescaleAbove);

// Ratio of term n+1 to term n, divided by z: the same at every z.
double TermRatioOverZ(std::span<const double> upper, std::span<const double> lower, double n) {
  double ratio = 1.0 / (n + 1.0);
  for (double u : upper) ratio *= u + n;
  for (double l : lower) ratio /= l + n;
  return ratio;
}

}  // namespace

double LogGamma(double x) { return boost::math::lgamma(x, NoPromotion()); }
double Digamma(double x) { return boost::math::digamma(x, NoPromotion()); }

double LogSumExp(double u, double v) {
  const double high = std::max(u, v);
  return high + std::log1p(std::exp(std::min(u, v) - high));
}

double Softplus(double u) { return u > 0.0 ? u + std::log1p(std::exp(-u)) : std::log1p(std::exp(u)); }

double Sigmoid(double u) {
  if (u >= 0.0) return 1.0 / (1.0 + std::exp(-u));
  const double e = std::exp(u);
  return e / (1.0 + e);
}

double Expm1Ratio(double u) { return u == 0.0 ? 1.0 : std::expm1(u) / u; }

Result<void> HypergeometricSeries(std::span<const double> upper, std::span<const double> lower,
                                  std::span<const double> z, std::span<ScaledValue> out) {
  if (out.size() != z.size()) return Error::Internal("hypergeometric series: one result per z");
  for (double l : lower)
    if (!(l > 0.0)) return Error::Internal(fmt::format("hypergeometric series: lower parameter {} <= 0", l));
  for (double u : upper)
    if (!std::isfinite(u)) return Error::Internal("hypergeometric series: upper parameter is not finite");
  const bool converges_inside_unit_disc = upper.size() == lower.size() + 1;
  for (double at : z) {
    if (!std::isfinite(at)) return Error::Internal("hypergeometric series: z is not finite");
    if (converges_inside_unit_disc && !(std::abs(at) < 1.0))
      return Error::Internal(fmt::format("hypergeometric series: |z| = {} >= 1", std::abs(at)));
  }

  // Past the last negative upper parameter the terms keep one sign, and the term ratio, a rational function
  // of n, approaches its limit (|z| for p = q + 1, 0 for p <= q) monotonically once n exceeds the parameters.
  // The larger of the next ratio and that limit then bounds every later ratio, so the tail is at most
  // |term| * rho / (1 - rho).
  double signs_settle = 0.0;
  for (double u : upper) signs_settle = std::max(signs_settle, -u);

  // Every z is summed in the same pass: the ratio's parameters, three divisions per term, are shared.
  std::vector<double> terms(z.size(), 1.0);
  std::vector<bool> summed(z.size(), false);
  std::size_t summing = z.size();
  for (ScaledValue& value : out) value = {1.0, 0.0};
  double ratio = TermRatioOverZ(upper, lower, 0.0);  // once per n: the tail bound of one step is the next step
  for (long n = 0; n < kMaxTerms && summing > 0; ++n) {
    const double dn = static_cast<double>(n);
    const double next_ratio = TermRatioOverZ(upper, lower, dn + 1.0);
    for (std::size_t i = 0; i < z.size(); ++i) {
      if (summed[i]) continue;
      double& term = terms[i];
      ScaledValue& result = out[i];
      term *= ratio * z[i];
      result.mantissa += term;
      bool done = term == 0.0;  // a non-positive integer upper parameter ends the series
      if (!done && !std::isfinite(term)) return Error::Internal("hypergeometric series: a term is not finite");
      if (std::abs(term) > kRescaleAbove) {  // keep term and sum in range; the scale goes to the logarithm
        term /= kRescaleAbove;
        result.mantissa /= kRescaleAbove;
        result.log_scale += kLogRescale;
      }
      if (!done && dn + 1.0 > signs_settle) {
        const double rho = std::max(std::abs(next_ratio * z[i]), converges_inside_unit_disc ? std::abs(z[i]) : 0.0);
        done = rho < 1.0 && std::abs(term) * rho / (1.0 - rho) <= kRelativeTolerance * std::abs(result.mantissa);
      }
      if (done) {
        summed[i] = true;
        --summing;
      }
    }
    ratio = next_ratio;
  }
  for (std::size_t i = 0; i < z.size(); ++i)
    if (!summed[i]) return Error::Internal(fmt::format("hypergeometric series did not converge at z = {}", z[i]));
  return {};
}

}  // namespace cohort::analytics
