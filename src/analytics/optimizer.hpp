#pragma once
// Bounded minimisation shared by the model fits: a smooth objective with an analytic gradient, several
// starting points, the best kept. The fits minimise a mean negative log-likelihood so that one set of
// tolerances suits any number of customers.

#include <functional>
#include <span>
#include <vector>

#include "common/result.hpp"

namespace cohort::analytics {

// Returns the value at `x` and, when `gradient` is not empty, writes the gradient into it.
using Objective = std::function<double(std::span<const double> x, std::span<double> gradient)>;

struct MinimiseOptions {
  std::vector<std::vector<double>> starts;  // each clamped into the bounds
  std::vector<double> lower;
  std::vector<double> upper;
  int max_evaluations_per_run = 3000;
  // Largest projected-gradient component accepted as a stationary point (a component pushing against an
  // active bound does not count).
  double gradient_tolerance = 1e-4;
};

struct Minimum {
  std::vector<double> x;
  double value = 0.0;
  bool converged = false;  // the last run stopped on its tolerances at a stationary point
  bool at_bound = false;   // some coordinate sits on a bound: the optimum is at the edge of the search box
  int evaluations = 0;     // objective evaluations over all runs
};

// L-BFGS from every start (Nelder-Mead for a start where L-BFGS fails), then one more L-BFGS run from the
// best point, which restarts the Hessian approximation and removes the drift an early stop can leave.
// Fails only when no run produced a finite value.
Result<Minimum> Minimise(const Objective& objective, const MinimiseOptions& options);

}  // namespace cohort::analytics
