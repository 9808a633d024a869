// `cohort eval` on the demo data set (fixed seed): the report has every metric the protocol names, and
// Cohort's recommender ranks the products users went on to buy better than the popularity baseline.

#include <fstream>

#include "integration/server_harness.hpp"

#include <gtest/gtest.h>

namespace cohort::testing {
namespace {

using nlohmann::json;

TEST(EvalDemoTest, CohortBeatsPopularityOnTheDemoData) {
  TempDir dir;
  auto demo = RunCohort({"demo", "--data-dir", dir.path(), "--users", "1500", "--products", "300", "--seed", "11",
                         "--until", "2026-01-01T00:00:00Z"});
  ASSERT_EQ(demo.exit_code, 0) << demo.output;
  const std::string report_path = dir.path() + "/eval.json";
  auto eval = RunCohort({"eval", "--data-dir", dir.path(), "--k", "10", "--json", report_path});
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_NE(eval.output.find("popularity"), std::string::npos) << "the table is printed";

  std::ifstream in(report_path);
  const json report = json::parse(in);
  const json& cohort = report.at("recommenders").at("cohort");
  const json& popularity = report.at("recommenders").at("popularity");
  for (const char* metric : {"precision", "recall", "ndcg", "map", "hit_rate", "coverage"}) {
    EXPECT_GE(cohort.at(metric).get<double>(), 0.0) << metric;
    EXPECT_LE(cohort.at(metric).get<double>(), 1.0) << metric;
    EXPECT_TRUE(popularity.at(metric).is_number()) << metric;
  }
  EXPECT_GT(report.at("users_evaluated").get<int>(), 50);
  EXPECT_GT(cohort.at("ndcg").get<double>(), popularity.at("ndcg").get<double>()) << eval.output;
  EXPECT_TRUE(report.at("churn").at("auc").is_number()) << eval.output;
  ASSERT_EQ(report.at("bgnbd_calibration").size(), 8U) << eval.output;
  EXPECT_EQ(report.at("bgnbd_calibration").back().at("x_bucket"), "7+");
}

}  // namespace
}  // namespace cohort::testing
