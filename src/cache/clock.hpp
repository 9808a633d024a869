#pragma once
// The cache's notion of "now", injectable so that TTL, breaker and version-freshness tests need no sleeping.

#include <chrono>
#include <functional>

namespace cohort::cache {

using Clock = std::chrono::steady_clock;
using ClockFn = std::function<Clock::time_point()>;

inline Clock::time_point SteadyNow() { return Clock::now(); }

}  // namespace cohort::cache
