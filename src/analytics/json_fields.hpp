#pragma once
// Reading the numeric fields of a saved model, with errors that name the field.

#include <nlohmann/json_fwd.hpp>
#include <string_view>

#include "common/result.hpp"

namespace cohort::analytics {

// The finite number under `key` of a JSON object.
Result<double> JsonNumber(const nlohmann::json& object, std::string_view key);
// The same, required to be > 0 (a model parameter).
Result<double> JsonPositiveNumber(const nlohmann::json& object, std::string_view key);

}  // namespace cohort::analytics
