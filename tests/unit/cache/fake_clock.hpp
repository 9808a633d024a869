#pragma once
// A clock the test moves by hand; safe to read from many threads.

#include <atomic>
#include <chrono>

#include "cache/clock.hpp"

namespace cohort::cache::testing {

class FakeClock {
 public:
  ClockFn Fn() {
    return [this] { return Clock::time_point(Clock::duration(ticks_.load())); };
  }
  void Advance(Clock::duration by) { ticks_.fetch_add(by.count()); }

 private:
  std::atomic<Clock::rep> ticks_{Clock::duration(std::chrono::hours(1)).count()};
};

}  // namespace cohort::cache::testing
