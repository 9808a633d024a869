#include "analytics/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <nlopt.hpp>
#include <optional>
#include <string>

namespace cohort::analytics {
namespace {

// What NLopt sees: a finite value everywhere, so that a line search stepping into an overflow backs off
// instead of failing.
constexpr double kUnusableValue = 1e100;

struct Bridge {
  const Objective* objective = nullptr;
  int evaluations = 0;
};

double CallObjective(const std::vector<double>& x, std::vector<double>& gradient, void* data) {
  auto* bridge = static_cast<Bridge*>(data);
  ++bridge->evaluations;
  const double value = (*bridge->objective)(x, gradient);
  if (std::isfinite(value) &&
      std::all_of(gradient.begin(), gradient.end(), [](double g) { return std::isfinite(g); }))
    return value;
  std::fill(gradient.begin(), gradient.end(), 0.0);
  return kUnusableValue;
}

struct Run {
  std::vector<double> x;
  double value = kUnusableValue;
  bool stopped_on_tolerance = false;
};

std::optional<Run> RunOnce(nlopt::algorithm algorithm, const MinimiseOptions& options, Bridge& bridge,
                           std::vector<double> start) {
  nlopt::opt opt(algorithm, static_cast<unsigned>(start.size()));
  opt.set_lower_bounds(options.lower);
  opt.set_upper_bounds(options.upper);
  opt.set_min_objective(CallObjective, &bridge);
  opt.set_ftol_rel(1e-13);
  opt.set_xtol_rel(1e-11);
  opt.set_maxeval(options.max_evaluations_per_run);
  Run run;
  try {
    const nlopt::result result = opt.optimize(start, run.value);
    run.stopped_on_tolerance = result == nlopt::SUCCESS || result == nlopt::FTOL_REACHED ||
                               result == nlopt::XTOL_REACHED || result == nlopt::STOPVAL_REACHED;
  } catch (const nlopt::roundoff_limited&) {
    // NLopt has already written its best point: progress stopped below the floating-point noise.
    run.stopped_on_tolerance = true;
  } catch (const std::exception&) {
    return std::nullopt;  // "nlopt failure" and the like: this start is abandoned, the others decide
  }
  if (!std::isfinite(run.value) || run.value >= kUnusableValue) return std::nullopt;
  run.x = std::move(start);
  return run;
}

std::vector<double> Clamp(std::vector<double> x, const MinimiseOptions& options) {
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::clamp(x[i], options.lower[i], options.upper[i]);
  return x;
}

// Largest gradient component that could still be followed inside the box.
double ProjectedGradient(const Objective& objective, const std::vector<double>& x,
                         const MinimiseOptions& options, bool& at_bound) {
  std::vector<double> gradient(x.size());
  objective(x, gradient);
  double largest = 0.0;
  at_bound = false;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const bool at_lower = x[i] <= options.lower[i];
    const bool at_upper = x[i] >= options.upper[i];
    at_bound = at_bound || at_lower || at_upper;
    if ((at_lower && gradient[i] > 0.0) || (at_upper && gradient[i] < 0.0)) continue;
    largest = std::max(largest, std::abs(gradient[i]));
  }
  return std::isfinite(largest) ? largest : std::numeric_limits<double>::infinity();
}

}  // namespace

Result<Minimum> Minimise(const Objective& objective, const MinimiseOptions& options) {
  const std::size_t n = options.lower.size();
  if (n == 0 || options.upper.size() != n || options.starts.empty())
    return Error::Internal("Minimise: bounds and starts must be given");
  for (const auto& start : options.starts)
    if (start.size() != n) return Error::Internal("Minimise: a start has the wrong dimension");

  Bridge bridge{&objective, 0};
  std::optional<Run> best;
  for (const auto& start : options.starts) {
    auto run = RunOnce(nlopt::LD_LBFGS, options, bridge, Clamp(start, options));
    if (!run) run = RunOnce(nlopt::LN_NELDERMEAD, options, bridge, Clamp(start, options));
    if (run && (!best || run->value < best->value)) best = std::move(run);
  }
  if (!best) return Error::Internal("Minimise: no starting point gave a finite objective");

  if (auto polished = RunOnce(nlopt::LD_LBFGS, options, bridge, best->x);
      polished && polished->value <= best->value)
    best = std::move(polished);

  Minimum minimum;
  minimum.x = best->x;
  minimum.value = best->value;
  const double gradient = ProjectedGradient(objective, best->x, options, minimum.at_bound);
  minimum.converged = best->stopped_on_tolerance && gradient <= options.gradient_tolerance;
  minimum.evaluations = bridge.evaluations;
  return minimum;
}

}  // namespace cohort::analytics
