// SingleFlight: concurrent callers of one key share one computation, its errors included.

#include "cache/single_flight.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/result.hpp"

namespace cohort::cache {
namespace {

// Blocks the computing caller until every other caller has joined it (or 10 s have passed), so the test
// proves sharing instead of hoping the threads overlap.
void WaitForWaiters(const SingleFlight<Result<int>>& flight, std::uint64_t waiters) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (flight.waits() < waiters && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

TEST(SingleFlightTest, SixtyFourConcurrentCallersComputeOnce) {
  constexpr int kCallers = 64;
  SingleFlight<Result<int>> flight;
  std::atomic<int> computations{0};
  std::latch start(kCallers);
  std::vector<int> results(kCallers, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      Result<int> r = flight.Run("key", [&]() -> Result<int> {
        ++computations;
        WaitForWaiters(flight, kCallers - 1);
        return 42;
      });
      results[static_cast<std::size_t>(i)] = r ? *r : -1;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(computations.load(), 1);
  EXPECT_EQ(flight.waits(), static_cast<std::uint64_t>(kCallers - 1));
  for (const int result : results) EXPECT_EQ(result, 42);
}

TEST(SingleFlightTest, ErrorsAreSharedAndNotKept) {
  SingleFlight<Result<int>> flight;
  std::latch start(2);
  std::atomic<int> computations{0};
  auto failing = [&]() -> Result<int> {
    ++computations;
    WaitForWaiters(flight, 1);
    return Error::Unavailable("backend down");
  };
  std::vector<int> failed(2, 0);  // not vector<bool>: its elements share words
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      failed[static_cast<std::size_t>(i)] = flight.Run("key", failing) ? 0 : 1;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(computations.load(), 1);
  EXPECT_TRUE(failed[0]);
  EXPECT_TRUE(failed[1]);
  // Nothing is remembered: the next call computes again.
  Result<int> again = flight.Run("key", [] { return Result<int>(7); });
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 7);
}

TEST(SingleFlightTest, DifferentKeysDoNotWaitForEachOther) {
  SingleFlight<Result<int>> flight;
  std::atomic<int> computations{0};
  std::latch both_inside(2);
  auto compute = [&]() -> Result<int> {
    ++computations;
    both_inside.arrive_and_wait();  // deadlocks if the second key waited for the first
    return 1;
  };
  std::thread a([&] { (void)flight.Run("a", compute); });
  std::thread b([&] { (void)flight.Run("b", compute); });
  a.join();
  b.join();
  EXPECT_EQ(computations.load(), 2);
  EXPECT_EQ(flight.waits(), 0u);
}

TEST(SingleFlightTest, AnExceptionReachesEveryCaller) {
  SingleFlight<Result<int>> flight;
  EXPECT_THROW((void)flight.Run("key", []() -> Result<int> { throw std::runtime_error("boom"); }),
               std::runtime_error);
  Result<int> after = flight.Run("key", [] { return Result<int>(3); });
  EXPECT_TRUE(after);
}

}  // namespace
}  // namespace cohort::cache
