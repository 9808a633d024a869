// `cohort worker` with analytics.retrain_interval_s retrains on its own, saving a new model version each time,
// and still stops cleanly on SIGTERM.

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "integration/queue/messaging_process.hpp"

namespace cohort::testing {
namespace {

TEST(WorkerRetrainTest, SavesANewModelEveryInterval) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  auto demo = RunCohort({"demo", "--data-dir", data, "--users", "200", "--products", "40", "--seed", "3"});
  ASSERT_EQ(demo.exit_code, 0) << demo.output;
  WorkerProcess worker(data, FastMessaging({{"COHORT_RETRAIN_INTERVAL_S", "1"}}));
  std::int64_t versions = 0;
  for (int i = 0; i < 600 && versions < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    try {
      versions = QueryInt(data, "SELECT COUNT(*) FROM models");
    } catch (const std::exception&) {  // the table appears with the worker's first migration
    }
  }
  EXPECT_GE(versions, 2) << worker.Log();
  EXPECT_EQ(worker.Stop(), 0) << worker.Log();
}

}  // namespace
}  // namespace cohort::testing
