// CircuitBreaker: opens after N consecutive failures, rejects during the cool-down, lets one probe through.

#include "cache/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include "fake_clock.hpp"

namespace cohort::cache {
namespace {

using std::chrono::milliseconds;

TEST(CacheCircuitBreakerTest, OpensAfterConsecutiveFailuresOnly) {
  testing::FakeClock clock;
  CircuitBreaker breaker(3, milliseconds(5000), clock.Fn());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(breaker.Allow());
    breaker.RecordFailure();
  }
  ASSERT_TRUE(breaker.Allow());
  breaker.RecordSuccess();  // resets the count
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(breaker.Allow());
    breaker.RecordFailure();
  }
  EXPECT_EQ(breaker.Stats().state, BreakerState::kClosed);
  ASSERT_TRUE(breaker.Allow());
  breaker.RecordFailure();
  EXPECT_EQ(breaker.Stats().state, BreakerState::kOpen);
  EXPECT_FALSE(breaker.Allow());
  EXPECT_EQ(breaker.Stats().opens, 1u);
  EXPECT_EQ(breaker.Stats().rejected, 1u);
}

TEST(CacheCircuitBreakerTest, HalfOpenLetsOneProbeThrough) {
  testing::FakeClock clock;
  CircuitBreaker breaker(1, milliseconds(5000), clock.Fn());
  ASSERT_TRUE(breaker.Allow());
  breaker.RecordFailure();
  clock.Advance(milliseconds(4999));
  EXPECT_FALSE(breaker.Allow());
  clock.Advance(milliseconds(1));
  EXPECT_TRUE(breaker.Allow());   // the probe
  EXPECT_FALSE(breaker.Allow());  // everyone else waits for it
  EXPECT_EQ(breaker.Stats().state, BreakerState::kHalfOpen);
  breaker.RecordFailure();  // a failed probe reopens for a full cool-down
  EXPECT_EQ(breaker.Stats().state, BreakerState::kOpen);
  clock.Advance(milliseconds(4999));
  EXPECT_FALSE(breaker.Allow());
  clock.Advance(milliseconds(1));
  EXPECT_TRUE(breaker.Allow());
  breaker.RecordSuccess();
  EXPECT_EQ(breaker.Stats().state, BreakerState::kClosed);
  EXPECT_TRUE(breaker.Allow());
  EXPECT_TRUE(breaker.Allow());
  EXPECT_EQ(breaker.Stats().opens, 2u);
}

}  // namespace
}  // namespace cohort::cache
