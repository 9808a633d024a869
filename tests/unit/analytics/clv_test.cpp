// Lifetime value: the discounted BG/NBD x Gamma-Gamma sum and the seed's simple formula.

#include "analytics/clv.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace cohort::analytics {
namespace {

const BgNbdModel kPurchases{0.243, 4.414, 0.793, 2.426, TimeUnit::kWeeks, 0.0};
const GammaGammaModel kSpend{6.25, 3.74, 15.44, 0.0};
const PurchaseSummary kCustomer{2, 30.43, 38.86, 22.35};

double Value(int months, double discount, const PurchaseSummary& customer = kCustomer) {
  const auto clv = ProbabilisticClv(kPurchases, kSpend, customer, {months, discount});
  EXPECT_TRUE(clv);
  return clv ? clv->value : -1.0;
}

TEST(ClvTest, UndiscountedValueIsExpectedPurchasesTimesExpectedSpend) {
  const auto clv = ProbabilisticClv(kPurchases, kSpend, kCustomer, {12, 0.0});
  ASSERT_TRUE(clv);
  EXPECT_EQ(clv->method, "bgnbd_gamma_gamma");
  EXPECT_EQ(clv->horizon_months, 12);
  const double year_in_weeks = 12 * kDaysPerMonth / 7.0;
  const double purchases = *ConditionalExpectedPurchases(kPurchases, kCustomer, year_in_weeks);
  const double spend = *ExpectedAverageSpend(kSpend, kCustomer.x, kCustomer.monetary);
  EXPECT_NEAR(clv->expected_purchases, purchases, 1e-12);
  EXPECT_NEAR(clv->expected_order_value, spend, 1e-12);
  EXPECT_NEAR(clv->value, purchases * spend, 1e-9);
}

TEST(ClvTest, DiscountingLowersValue) {
  const double none = Value(12, 0.0);
  const double some = Value(12, 0.01);
  const double more = Value(12, 0.05);
  EXPECT_GT(none, some);
  EXPECT_GT(some, more);
  EXPECT_GT(more, 0.0);
  // Every month's purchases are discounted at least by the last month's factor, at most by the first's.
  EXPECT_GT(some, none / std::pow(1.01, 12));
  EXPECT_LT(some, none / 1.01);
}

TEST(ClvTest, LongerHorizonsAreWorthMore) {
  double previous = 0.0;
  for (int months : {1, 3, 6, 12, 24, 60}) {
    const double value = Value(months, 0.01);
    EXPECT_GT(value, previous) << months;
    previous = value;
  }
}

TEST(ClvTest, AModelInDaysGivesTheSameValue) {
  BgNbdModel days = kPurchases;
  days.alpha *= 7.0;
  days.time_unit = TimeUnit::kDays;
  const PurchaseSummary in_days{2, 30.43 * 7.0, 38.86 * 7.0, 22.35};
  const auto weeks_clv = ProbabilisticClv(kPurchases, kSpend, kCustomer);
  const auto days_clv = ProbabilisticClv(days, kSpend, in_days);
  ASSERT_TRUE(weeks_clv && days_clv);
  EXPECT_NEAR(days_clv->value, weeks_clv->value, 1e-9);
}

TEST(ClvTest, ProbabilisticFailsClearly) {
  EXPECT_FALSE(ProbabilisticClv(kPurchases, kSpend, kCustomer, {0, 0.01}));
  EXPECT_FALSE(ProbabilisticClv(kPurchases, kSpend, kCustomer, {12, -0.01}));
  const auto no_mean = ProbabilisticClv(kPurchases, {2.0, 0.9, 10.0, 0.0}, {0, 0.0, 10.0, 0.0});
  ASSERT_FALSE(no_mean);
  EXPECT_EQ(no_mean.error().code, ErrorCode::kFailedPrecondition);
}

TEST(ClvTest, SimpleLtvHandCase) {
  // 300 spent in 3 orders over 3 months: 100 per order, 1 order a month; churn risk 0.25 leaves 9 of the
  // 12 months: 900.
  const auto ltv = SimpleLtv({300.0, 3, 3 * kDaysPerMonth, 0.25}, 12);
  ASSERT_TRUE(ltv);
  EXPECT_EQ(ltv->method, "simple");
  EXPECT_DOUBLE_EQ(ltv->expected_order_value, 100.0);
  EXPECT_DOUBLE_EQ(ltv->expected_purchases, 9.0);
  EXPECT_DOUBLE_EQ(ltv->value, 900.0);
  // A customer seen for a week counts as a month, not as four orders a month.
  EXPECT_DOUBLE_EQ(SimpleLtv({50.0, 1, 7.0, 0.0}, 12)->value, 50.0 * 1.0 * 12.0);
  EXPECT_DOUBLE_EQ(SimpleLtv({0.0, 0, 0.0, 0.5}, 12)->value, 0.0);
  EXPECT_DOUBLE_EQ(SimpleLtv({300.0, 3, 90.0, 1.0}, 12)->value, 0.0);
}

TEST(ClvTest, SimpleLtvRejectsBadInput) {
  EXPECT_FALSE(SimpleLtv({300.0, 3, 90.0, 1.5}, 12));
  EXPECT_FALSE(SimpleLtv({300.0, 3, 90.0, std::nan("")}, 12));
  EXPECT_FALSE(SimpleLtv({-1.0, 3, 90.0, 0.5}, 12));
  EXPECT_FALSE(SimpleLtv({300.0, -3, 90.0, 0.5}, 12));
  EXPECT_FALSE(SimpleLtv({300.0, 3, -90.0, 0.5}, 12));
  EXPECT_FALSE(SimpleLtv({300.0, 3, 90.0, 0.5}, 0));
}

TEST(ClvTest, Json) {
  const nlohmann::json json = ToJson(*SimpleLtv({300.0, 3, 3 * kDaysPerMonth, 0.25}, 12));
  EXPECT_EQ(json["method"], "simple");
  EXPECT_DOUBLE_EQ(json["value"].get<double>(), 900.0);
  EXPECT_EQ(json["horizon_months"], 12);
}

}  // namespace
}  // namespace cohort::analytics
