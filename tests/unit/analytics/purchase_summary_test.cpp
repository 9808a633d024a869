// Purchase histories reduced to the BG/NBD summary (x, t_x, T, zbar), on hand cases and on CDNOW.

#include "analytics/purchase_summary.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "cdnow_data.hpp"

namespace cohort::analytics {
namespace {

using cdnow::DateMicros;

constexpr std::int64_t kHour = 3'600'000'000;

TEST(PurchaseSummaryTest, PurchasesOnOneUtcDayAreOnePurchase) {
  const std::vector<Purchase> purchases{{DateMicros(20240101) + kHour, 10.0},
                                        {DateMicros(20240101) + 20 * kHour, 5.0},  // same day: summed
                                        {DateMicros(20240111), 30.0},
                                        {DateMicros(20240111) + 23 * kHour, 6.0},
                                        {DateMicros(20240121), 12.0}};
  const auto summary = SummarisePurchases(purchases, DateMicros(20240131), TimeUnit::kDays);
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->x, 2);
  EXPECT_DOUBLE_EQ(summary->t_x, 20.0);
  EXPECT_DOUBLE_EQ(summary->t_cal, 30.0);
  EXPECT_DOUBLE_EQ(summary->monetary, (36.0 + 12.0) / 2.0);  // the first day (15) is not a repeat purchase
}

TEST(PurchaseSummaryTest, TheWholeUntilDayIsInsideAndLaterPurchasesAreIgnored) {
  const std::vector<Purchase> purchases{{DateMicros(20240121), 99.0},  // after the calibration period
                                        {DateMicros(20240101), 10.0},
                                        {DateMicros(20240110) + 23 * kHour, 20.0}};
  const auto summary = SummarisePurchases(purchases, DateMicros(20240110) + kHour, TimeUnit::kDays);
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->x, 1);
  EXPECT_DOUBLE_EQ(summary->t_x, 9.0);
  EXPECT_DOUBLE_EQ(summary->t_cal, 9.0);
  EXPECT_DOUBLE_EQ(summary->monetary, 20.0);
}

TEST(PurchaseSummaryTest, WeeksAreSevenDays) {
  const std::vector<Purchase> purchases{{DateMicros(20240101), 1.0}, {DateMicros(20240115), 1.0}};
  const auto summary = SummarisePurchases(purchases, DateMicros(20240205), TimeUnit::kWeeks);  // day 35
  ASSERT_TRUE(summary);
  EXPECT_DOUBLE_EQ(summary->t_x, 2.0);
  EXPECT_DOUBLE_EQ(summary->t_cal, 5.0);
}

TEST(PurchaseSummaryTest, OneTimeBuyerHasNoRepeatSpend) {
  const std::vector<Purchase> purchases{{DateMicros(20240105), 40.0}, {DateMicros(20240105) + kHour, 2.0}};
  const auto summary = SummarisePurchases(purchases, DateMicros(20240110), TimeUnit::kDays);
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->x, 0);
  EXPECT_DOUBLE_EQ(summary->t_x, 0.0);
  EXPECT_DOUBLE_EQ(summary->t_cal, 5.0);
  EXPECT_DOUBLE_EQ(summary->monetary, 0.0);
}

TEST(PurchaseSummaryTest, DaysBeforeTheEpochRoundTowardThePast) {
  EXPECT_EQ(UtcDay(0), 0);
  EXPECT_EQ(UtcDay(-1), -1);
  EXPECT_EQ(UtcDay(-kMicrosPerDay), -1);
  EXPECT_EQ(UtcDay(-kMicrosPerDay - 1), -2);
  const std::vector<Purchase> purchases{{-kHour, 1.0},
                                        {kHour, 1.0}};  // 23:00 on 1969-12-31, 01:00 the next day
  const auto summary = SummarisePurchases(purchases, kHour, TimeUnit::kDays);
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->x, 1);
  EXPECT_DOUBLE_EQ(summary->t_x, 1.0);
}

TEST(PurchaseSummaryTest, RejectsBadInput) {
  const std::int64_t until = DateMicros(20240110);
  EXPECT_EQ(SummarisePurchases(std::vector<Purchase>{}, until, TimeUnit::kDays).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_FALSE(
      SummarisePurchases(std::vector<Purchase>{{DateMicros(20240111), 1.0}}, until, TimeUnit::kDays));
  EXPECT_FALSE(
      SummarisePurchases(std::vector<Purchase>{{DateMicros(20240101), -1.0}}, until, TimeUnit::kDays));
  EXPECT_FALSE(SummarisePurchases(std::vector<Purchase>{{DateMicros(20240101), std::nan("")}}, until,
                                  TimeUnit::kDays));
  EXPECT_FALSE(SummarisePurchases(
      std::vector<Purchase>{{DateMicros(20240101), std::numeric_limits<double>::infinity()}}, until,
      TimeUnit::kDays));
}

TEST(PurchaseSummaryTest, HoldoutCountsDistinctDaysAfterTheUntilDay) {
  const std::vector<Purchase> purchases{{DateMicros(20240110) + kHour, 1.0},  // the until day: calibration
                                        {DateMicros(20240111), 1.0},
                                        {DateMicros(20240111) + kHour, 1.0},  // same day
                                        {DateMicros(20240117), 1.0},          // day 7: last day inside
                                        {DateMicros(20240118), 1.0}};         // day 8: outside
  const auto count = CountHoldoutPurchaseDays(purchases, DateMicros(20240110), 7);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 2);
  EXPECT_EQ(*CountHoldoutPurchaseDays(purchases, DateMicros(20240110), 0), 0);
  EXPECT_FALSE(CountHoldoutPurchaseDays(purchases, DateMicros(20240110), -1));
}

TEST(PurchaseSummaryTest, TimeUnitNamesRoundTrip) {
  for (TimeUnit unit : {TimeUnit::kDays, TimeUnit::kWeeks})
    EXPECT_EQ(*ParseTimeUnit(TimeUnitName(unit)), unit);
  EXPECT_FALSE(ParseTimeUnit("months"));
}

// The published CDNOW summaries (weeks, calibration to 1997-09-30) come out of the raw transactions.
TEST(PurchaseSummaryTest, ReproducesCdnowSummaries) {
  if (!cdnow::HaveCdnow()) GTEST_SKIP() << cdnow::kNoCdnow;
  const auto transactions = cdnow::ReadCdnowTransactions();
  const auto published = cdnow::ReadCdnowSummaries();
  ASSERT_EQ(published.size(), 2357u);
  ASSERT_EQ(transactions.size(), published.size());
  const std::int64_t until = DateMicros(19970930);
  for (const auto& row : published) {
    const auto it = transactions.find(row.id);
    ASSERT_NE(it, transactions.end()) << row.id;
    const auto summary = SummarisePurchases(it->second, until, TimeUnit::kWeeks);
    ASSERT_TRUE(summary) << row.id;
    EXPECT_EQ(summary->x, row.summary.x) << row.id;
    EXPECT_NEAR(summary->t_x, row.summary.t_x, 0.01) << row.id;
    EXPECT_NEAR(summary->t_cal, row.summary.t_cal, 0.01) << row.id;
    EXPECT_NEAR(summary->monetary, row.summary.monetary, 0.01) << row.id;
  }
}

}  // namespace
}  // namespace cohort::analytics
