#pragma once
// JSON text written by hand, for the few documents built on every request (the main request's answer, each
// recommendation.served message), where building an nlohmann::json document first cost more than the rest of
// the work: a string and a number.

#include <string>
#include <string_view>

namespace cohort {

// `text` as a JSON string, as nlohmann::json writes it: quotes and backslashes escaped, control characters as
// \b \f \n \r \t or \u00XX, the rest as it is (UTF-8 passes through).
void AppendJsonString(std::string& out, std::string_view text);

// `value` as a JSON number: the shortest text that reads back as the same double, with ".0" after a whole
// number (12.0, not 12, so that readers see a double); null when it is not finite. nlohmann::json writes some
// doubles with a digit more, and 1e15 as 1e+15: the same values.
void AppendJsonNumber(std::string& out, double value);

}  // namespace cohort
