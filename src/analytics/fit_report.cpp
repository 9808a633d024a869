#include "analytics/fit_report.hpp"

#include <nlohmann/json.hpp>

namespace cohort::analytics {

nlohmann::json ToJson(const FitReport& report) {
  return {{"converged", report.converged},
          {"at_bound", report.at_bound},
          {"iterations", report.iterations},
          {"log_likelihood", report.log_likelihood},
          {"observations", report.observations}};
}

}  // namespace cohort::analytics
