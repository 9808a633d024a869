#include "analytics/special_functions.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/math/policies/policy.hpp>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>

namespace cohort::analytics {
namespace {

using NoPromotion = boost::math::policies::policy<boost::math::policies::promote_double<false>>;

constexpr long kMaxTerms = 10'000'000;
constexpr double kRelativeTolerance = 1e-15;
constexpr double kRescaleAbove = 1e250;
const double kLogRescale = std::log(kRescaleAbove);

// Ratio of term n+1 to term n.
double TermRatio(std::span<const double> upper, std::span<const double> lower, double z, double n) {
  double ratio = z / (n + 1.0);
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

Result<ScaledValue> HypergeometricSeries(std::span<const double> upper, std::span<const double> lower,
                                         double z) {
  if (!std::isfinite(z)) return Error::Internal("hypergeometric series: z is not finite");
  for (double l : lower)
    if (!(l > 0.0)) return Error::Internal(fmt::format("hypergeometric series: lower parameter {} <= 0", l));
  for (double u : upper)
    if (!std::isfinite(u)) return Error::Internal("hypergeometric series: upper parameter is not finite");
  if (upper.size() == lower.size() + 1 && !(std::abs(z) < 1.0))
    return Error::Internal(fmt::format("hypergeometric series: |z| = {} >= 1", std::abs(z)));

  // Past the last negative upper parameter the terms keep one sign, and the term ratio, a rational function
  // of n, approaches its limit (|z| for p = q + 1, 0 for p <= q) monotonically once n exceeds the parameters.
  // The larger of the next ratio and that limit then bounds every later ratio, so the tail is at most
  // |term| * rho / (1 - rho).
  double signs_settle = 0.0;
  for (double u : upper) signs_settle = std::max(signs_settle, -u);
  const double limit = upper.size() == lower.size() + 1 ? std::abs(z) : 0.0;

  ScaledValue result{1.0, 0.0};
  double term = 1.0;
  double ratio = TermRatio(upper, lower, z, 0.0);  // once per n: the tail bound of one step is the next step
  for (long n = 0; n < kMaxTerms; ++n) {
    const double dn = static_cast<double>(n);
    term *= ratio;
    result.mantissa += term;
    if (term == 0.0) return result;  // a non-positive integer upper parameter ends the series
    if (!std::isfinite(term)) return Error::Internal("hypergeometric series: a term is not finite");
    if (std::abs(term) > kRescaleAbove) {  // keep term and sum in range; the scale goes to the logarithm
      term /= kRescaleAbove;
      result.mantissa /= kRescaleAbove;
      result.log_scale += kLogRescale;
    }
    ratio = TermRatio(upper, lower, z, dn + 1.0);
    if (dn + 1.0 > signs_settle) {
      const double rho = std::max(std::abs(ratio), limit);
      if (rho < 1.0 && std::abs(term) * rho / (1.0 - rho) <= kRelativeTolerance * std::abs(result.mantissa))
        return result;
    }
  }
  return Error::Internal(fmt::format("hypergeometric series did not converge at z = {}", z));
}

}  // namespace cohort::analytics
