// The BG/NBD calibration-versus-holdout table.

#include "analytics/calibration.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cdnow_data.hpp"

namespace cohort::analytics {
namespace {

const BgNbdModel kPublished{0.243, 4.414, 0.793, 2.426, TimeUnit::kWeeks, 0.0};

TEST(CalibrationTest, GroupsByRepeatPurchasesUpToSevenPlus) {
  const std::vector<PurchaseSummary> customers{{0, 0.0, 30.0, 0.0},
                                               {0, 0.0, 20.0, 0.0},
                                               {1, 10.0, 30.0, 5.0},
                                               {7, 25.0, 30.0, 5.0},
                                               {12, 29.0, 30.0, 5.0}};
  const std::vector<std::int64_t> holdout{0, 1, 2, 5, 9};
  const auto table = BgNbdCalibrationTable(kPublished, customers, holdout, 39.0);
  ASSERT_TRUE(table);
  ASSERT_EQ(table->size(), 8u);
  const std::vector<std::string> names{"0", "1", "2", "3", "4", "5", "6", "7+"};
  for (std::size_t i = 0; i < names.size(); ++i) EXPECT_EQ((*table)[i].x_bucket, names[i]);
  EXPECT_EQ((*table)[0].customers, 2);
  EXPECT_DOUBLE_EQ((*table)[0].actual_mean, 0.5);
  EXPECT_DOUBLE_EQ((*table)[0].expected_mean,
                   (*ConditionalExpectedPurchases(kPublished, customers[0], 39.0) +
                    *ConditionalExpectedPurchases(kPublished, customers[1], 39.0)) /
                       2.0);
  EXPECT_EQ((*table)[1].customers, 1);
  EXPECT_DOUBLE_EQ((*table)[1].actual_mean, 2.0);
  EXPECT_EQ((*table)[3].customers, 0);
  EXPECT_DOUBLE_EQ((*table)[3].expected_mean, 0.0);
  EXPECT_EQ((*table)[7].customers, 2);
  EXPECT_DOUBLE_EQ((*table)[7].actual_mean, 7.0);
  const nlohmann::json json = ToJson(*table);
  ASSERT_EQ(json.size(), 8u);
  EXPECT_EQ(json[7]["x_bucket"], "7+");
  EXPECT_EQ(json[7]["customers"], 2);
}

TEST(CalibrationTest, RejectsMismatchedInput) {
  const std::vector<PurchaseSummary> customers{{0, 0.0, 30.0, 0.0}};
  EXPECT_FALSE(BgNbdCalibrationTable(kPublished, customers, std::vector<std::int64_t>{}, 39.0));
  EXPECT_FALSE(BgNbdCalibrationTable(kPublished, customers, std::vector<std::int64_t>{-1}, 39.0));
  EXPECT_FALSE(BgNbdCalibrationTable(kPublished, customers, std::vector<std::int64_t>{1}, -39.0));
}

// CDNOW, calibration to 1997-09-30, holdout the 39 weeks to 1998-06-30: the model tracks the holdout
// (FHL 2005, fig. 5): close for the many x = 0 customers, rising with x like the actual means.
TEST(CalibrationTest, CdnowHoldout) {
  if (!cdnow::HaveCdnow()) GTEST_SKIP() << cdnow::kNoCdnow;
  const std::int64_t until = cdnow::DateMicros(19970930);
  std::vector<PurchaseSummary> customers;
  std::vector<std::int64_t> holdout;
  for (const auto& [id, purchases] : cdnow::ReadCdnowTransactions()) {
    customers.push_back(*SummarisePurchases(purchases, until, TimeUnit::kWeeks));
    holdout.push_back(*CountHoldoutPurchaseDays(purchases, until, 39 * 7));
  }
  const auto fit = FitBgNbd(customers, TimeUnit::kWeeks);
  ASSERT_TRUE(fit);
  const auto table = BgNbdCalibrationTable(fit->model, customers, holdout, 39.0);
  ASSERT_TRUE(table);
  std::int64_t total = 0;
  for (const CalibrationRow& row : *table) total += row.customers;
  EXPECT_EQ(total, 2357);
  EXPECT_EQ((*table)[0].customers, 1411);
  EXPECT_NEAR((*table)[0].expected_mean, (*table)[0].actual_mean, 0.05 * (*table)[0].actual_mean);
  EXPECT_NEAR((*table)[7].expected_mean, (*table)[7].actual_mean, 0.1 * (*table)[7].actual_mean);
  for (std::size_t i = 1; i < table->size(); ++i) {
    EXPECT_GT((*table)[i].expected_mean, (*table)[i - 1].expected_mean) << i;
    EXPECT_GT((*table)[i].actual_mean, 0.0) << i;
  }
}

}  // namespace
}  // namespace cohort::analytics
