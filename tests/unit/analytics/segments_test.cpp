// Segment rules at each boundary, in their documented order (analytics/segments.hpp).

#include "analytics/segments.hpp"

#include <gtest/gtest.h>

namespace cohort::analytics {
namespace {

SegmentInput Buyer(double idle_days, double revenue = 100, double churn = 0.1) {
  SegmentInput in;
  in.days_since_activity = idle_days;
  in.days_since_registration = 400;
  in.has_purchased = true;
  in.revenue = revenue;
  in.churn_risk = churn;
  in.vip_revenue_cut = 1000;
  return in;
}

const SegmentRules kRules;

TEST(SegmentsTest, DormantAfterMoreThanNinetyIdleDays) {
  EXPECT_EQ(Classify(Buyer(90.0), kRules), Segment::kAtRisk);
  EXPECT_EQ(Classify(Buyer(90.99), kRules), Segment::kAtRisk);  // still 90 whole days
  EXPECT_EQ(Classify(Buyer(91.0), kRules), Segment::kDormant);
}

TEST(SegmentsTest, NeverActiveIsDormantOnlyAfterTheGracePeriod) {
  SegmentInput in;
  in.days_since_registration = 30;
  EXPECT_EQ(Classify(in, kRules), Segment::kActive);
  in.days_since_registration = 31;
  EXPECT_EQ(Classify(in, kRules), Segment::kDormant);
  in.days_since_registration.reset();  // registration unknown: treated as long ago
  EXPECT_EQ(Classify(in, kRules), Segment::kDormant);
}

TEST(SegmentsTest, AtRiskFromThirtyOneIdleDaysForBuyers) {
  EXPECT_EQ(Classify(Buyer(30.0), kRules), Segment::kActive);
  EXPECT_EQ(Classify(Buyer(31.0), kRules), Segment::kAtRisk);
  SegmentInput browser = Buyer(45.0);
  browser.has_purchased = false;
  browser.revenue = 0;
  EXPECT_EQ(Classify(browser, kRules), Segment::kActive) << "fading activity alone needs a purchase";
}

TEST(SegmentsTest, AtRiskFromTheChurnThreshold) {
  EXPECT_EQ(Classify(Buyer(2.0, 100, 0.69), kRules), Segment::kActive);
  EXPECT_EQ(Classify(Buyer(2.0, 100, 0.70), kRules), Segment::kAtRisk);
}

TEST(SegmentsTest, VipByTopShareCutOrConfiguredAmount) {
  EXPECT_EQ(Classify(Buyer(2.0, 999.99), kRules), Segment::kActive);
  EXPECT_EQ(Classify(Buyer(2.0, 1000.0), kRules), Segment::kVip);
  SegmentRules amount = kRules;
  amount.vip_min_revenue = 500;
  EXPECT_EQ(Classify(Buyer(2.0, 500.0), amount), Segment::kVip);
  SegmentInput no_model = Buyer(2.0, 5000.0);
  no_model.vip_revenue_cut.reset();
  EXPECT_EQ(Classify(no_model, kRules), Segment::kActive) << "no model and no amount: nobody is VIP";
}

TEST(SegmentsTest, RuleOrderDormantThenVipThenAtRisk) {
  EXPECT_EQ(Classify(Buyer(120.0, 5000.0), kRules), Segment::kDormant) << "a big spender who left is won back";
  EXPECT_EQ(Classify(Buyer(60.0, 5000.0, 0.9), kRules), Segment::kVip) << "VIP before AT_RISK";
}

TEST(SegmentsTest, NamesOffersAndParsing) {
  for (Segment s : kSegments) {
    EXPECT_EQ(ParseSegment(SegmentName(s)), s);
    EXPECT_FALSE(SegmentOffer(s).empty());
    EXPECT_FALSE(SegmentGoal(s).empty());
  }
  EXPECT_EQ(SegmentOffer(Segment::kDormant), "We miss you! 30% off");
  EXPECT_EQ(SegmentOffer(Segment::kAtRisk), "We value you! Free delivery");
  EXPECT_FALSE(ParseSegment("GOLD"));
}

}  // namespace
}  // namespace cohort::analytics
