#pragma once
// The four customer segments, the rules that assign them, and each segment's offer and goal.
//
// Rules, tried in this order (the first that holds wins):
//   1. DORMANT  no activity for more than `dormant_days` (90), or never active and registered more than
//               `new_user_grace_days` (30) ago;
//   2. VIP      a buyer whose revenue is at or above `vip_min_revenue` (when set, > 0), or at or above the revenue
//               of the top `vip_top_share` (5%) of buyers, a cut computed at training (when a model exists);
//   3. AT_RISK  has purchased and the last activity was `at_risk_min_days` (31) to `dormant_days` (90) days ago, or
//               churn risk at or above `at_risk_churn` (0.7);
//   4. ACTIVE   everyone else.
// DORMANT comes first so that a big spender who left is won back rather than pampered; VIP before AT_RISK so that
// a VIP whose activity fades keeps VIP treatment until they are dormant.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cohort::analytics {

enum class Segment { kDormant, kActive, kVip, kAtRisk };
inline constexpr std::array<Segment, 4> kSegments = {Segment::kDormant, Segment::kActive, Segment::kVip,
                                                     Segment::kAtRisk};

std::string_view SegmentName(Segment segment);   // "DORMANT", ...
std::string_view SegmentOffer(Segment segment);  // the seed's offer
std::string_view SegmentGoal(Segment segment);   // "win back", ...
std::optional<Segment> ParseSegment(std::string_view name);

struct SegmentRules {
  int dormant_days = 90;
  int new_user_grace_days = 30;
  int at_risk_min_days = 31;
  double at_risk_churn = 0.7;
  double vip_top_share = 0.05;  // used at training to compute the revenue cut
  double vip_min_revenue = 0;   // > 0: revenue at or above this is VIP whatever the cut
};

struct SegmentInput {
  std::optional<double> days_since_activity;      // nullopt: never active
  std::optional<double> days_since_registration;  // nullopt: unknown (treated as registered long ago)
  bool has_purchased = false;
  double revenue = 0;
  double churn_risk = 0;
  std::optional<double> vip_revenue_cut;  // the training-time top-share cut, when a model exists
};

Segment Classify(const SegmentInput& input, const SegmentRules& rules);

}  // namespace cohort::analytics
