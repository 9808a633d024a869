#pragma once
// Time as the API shows it: RFC 3339 in UTC with a 'Z' suffix.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace cohort {

using Clock = std::chrono::system_clock;

std::string FormatRfc3339(Clock::time_point t);  // "2026-11-25T17:00:00Z" (fractions only when not whole)
std::optional<Clock::time_point> ParseRfc3339(std::string_view text);  // accepts offsets and fractions
inline std::string NowRfc3339() { return FormatRfc3339(Clock::now()); }

}  // namespace cohort
