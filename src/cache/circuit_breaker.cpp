#include "cache/circuit_breaker.hpp"

#include <algorithm>

namespace cohort::cache {

std::string_view BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "unknown";
}

CircuitBreaker::CircuitBreaker(int failure_threshold, std::chrono::milliseconds cooldown, ClockFn clock)
    : failure_threshold_(std::max(failure_threshold, 1)),
      cooldown_(std::max(cooldown, std::chrono::milliseconds(0))),
      clock_(clock ? std::move(clock) : ClockFn(SteadyNow)) {}

bool CircuitBreaker::Allow() {
  std::lock_guard lock(mutex_);
  switch (state_) {
    case BreakerState::kClosed:
      return true;
    case BreakerState::kOpen:
      if (clock_() < open_until_) break;
      state_ = BreakerState::kHalfOpen;
      probe_in_flight_ = true;
      return true;
    case BreakerState::kHalfOpen:
      if (!probe_in_flight_) {
        probe_in_flight_ = true;
        return true;
      }
      break;
  }
  ++rejected_;
  return false;
}

void CircuitBreaker::RecordSuccess() {
  std::lock_guard lock(mutex_);
  consecutive_failures_ = 0;
  probe_in_flight_ = false;
  state_ = BreakerState::kClosed;
}

void CircuitBreaker::RecordFailure() {
  std::lock_guard lock(mutex_);
  probe_in_flight_ = false;
  ++consecutive_failures_;
  // A failed probe reopens at once: one success is what half-open asks for, not a fresh count.
  if (state_ == BreakerState::kHalfOpen ||
      (state_ == BreakerState::kClosed && consecutive_failures_ >= failure_threshold_)) {
    state_ = BreakerState::kOpen;
    open_until_ = clock_() + cooldown_;
    ++opens_;
  }
}

BreakerStats CircuitBreaker::Stats() const {
  std::lock_guard lock(mutex_);
  return {state_, opens_, rejected_};
}

}  // namespace cohort::cache
