#pragma once
// The special functions the models share. lgamma and digamma come from Boost.Math without promotion to
// long double; std::lgamma is avoided because glibc's writes the global `signgam`, a data race when two
// fits run at once.

#include <span>

#include "common/result.hpp"

namespace cohort::analytics {

double LogGamma(double x);  // x > 0
double Digamma(double x);   // x > 0
// log(exp(u) + exp(v)) without overflow.
double LogSumExp(double u, double v);
// log(1 + exp(u)) without overflow.
double Softplus(double u);
double Sigmoid(double u);
// expm1(u) / u, continuous at 0 (where it is 1).
double Expm1Ratio(double u);

// The generalised hypergeometric series pFq(upper; lower; z) = sum_n prod (u)_n / prod (l)_n * z^n / n!,
// summed term by term with a bound on the tail. The BG/NBD expectations need a 3F2 with 0 <= z < 1;
// Boost's pFq would do, but it reports failure by exception and this one returns it as a value.
// The sum is returned as mantissa * exp(log_scale), so that a sum beyond the range of double (large
// parameters) can still be multiplied by a tiny factor in logs.
struct ScaledValue {
  double mantissa = 0.0;
  double log_scale = 0.0;
};
// The series at each of `z`, into out[i] for z[i] (as many), summed in one pass: a curve of points costs
// little more than its last one. Requires every lower parameter > 0 and, when upper has one more parameter than
// lower, |z| < 1. The relative error of a result is about 1e-14 unless the early terms cancel. Fails
// (kInternal) on a non-finite term or when a series has not converged after ten million terms (z extremely
// close to 1).
Result<void> HypergeometricSeries(std::span<const double> upper, std::span<const double> lower,
                                  std::span<const double> z, std::span<ScaledValue> out);

}  // namespace cohort::analytics
