#pragma once
// How a maximum-likelihood fit went, saved beside the model it produced.

#include <cstddef>
#include <nlohmann/json_fwd.hpp>

namespace cohort::analytics {

struct FitReport {
  bool converged = false;  // the optimiser stopped on its tolerances at a stationary point
  bool at_bound =
      false;           // some (log-)parameter sits on the edge of the search box: the data barely identify it
  int iterations = 0;  // objective evaluations over all starting points
  double log_likelihood = 0.0;
  std::size_t observations = 0;  // customers or rows the fit used
};

nlohmann::json ToJson(const FitReport& report);

}  // namespace cohort::analytics
