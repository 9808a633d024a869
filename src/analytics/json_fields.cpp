#include "analytics/json_fields.hpp"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

namespace cohort::analytics {

Result<double> JsonNumber(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return Error::InvalidArgument("a model must be a JSON object");
  const auto it = object.find(std::string(key));
  if (it == object.end() || !it->is_number())
    return Error::InvalidArgument(fmt::format("model field \"{}\" must be a number", key));
  const double value = it->get<double>();
  if (!std::isfinite(value))
    return Error::InvalidArgument(fmt::format("model field \"{}\" must be finite", key));
  return value;
}

Result<double> JsonPositiveNumber(const nlohmann::json& object, std::string_view key) {
  COHORT_ASSIGN_OR_RETURN(const double value, JsonNumber(object, key));
  if (!(value > 0.0)) return Error::InvalidArgument(fmt::format("model field \"{}\" must be > 0", key));
  return value;
}

}  // namespace cohort::analytics
