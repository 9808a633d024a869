#pragma once
// CircuitBreaker: stops calling a backend that keeps failing, so that a dead or slow Redis costs requests
// nothing but a mutex. Closed: every call goes through; after `failure_threshold` consecutive failures it
// opens. Open: no call goes through until `cooldown` has passed; then the next caller becomes the single
// probe (half-open). The probe's success closes the breaker, its failure opens it for another cooldown. Every
// Allow() that returned true must be followed by exactly one RecordSuccess() or RecordFailure().

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string_view>

#include "cache/clock.hpp"

namespace cohort::cache {

enum class BreakerState { kClosed, kOpen, kHalfOpen };

std::string_view BreakerStateName(BreakerState state);  // "closed", "open", "half_open"

struct BreakerStats {
  BreakerState state = BreakerState::kClosed;
  std::uint64_t opens = 0;     // times it went from closed or half-open to open
  std::uint64_t rejected = 0;  // calls refused while open
};

class CircuitBreaker {
 public:
  CircuitBreaker(int failure_threshold, std::chrono::milliseconds cooldown, ClockFn clock = SteadyNow);
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  bool Allow();
  void RecordSuccess();
  void RecordFailure();

  BreakerStats Stats() const;

 private:
  const int failure_threshold_;
  const std::chrono::milliseconds cooldown_;
  const ClockFn clock_;

  mutable std::mutex mutex_;
  BreakerState state_ = BreakerState::kClosed;
  int consecutive_failures_ = 0;
  Clock::time_point open_until_{};
  bool probe_in_flight_ = false;
  std::uint64_t opens_ = 0;
  std::uint64_t rejected_ = 0;
};

}  // namespace cohort::cache
