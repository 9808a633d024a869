#include "analytics/segments.hpp"

#include <cmath>

namespace cohort::analytics {

std::string_view SegmentName(Segment segment) {
  switch (segment) {
    case Segment::kDormant: return "DORMANT";
    case Segment::kActive: return "ACTIVE";
    case Segment::kVip: return "VIP";
    case Segment::kAtRisk: return "AT_RISK";
  }
  return "ACTIVE";
}

std::string_view SegmentOffer(Segment segment) {
  switch (segment) {
    case Segment::kDormant: return "We miss you! 30% off";
    case Segment::kActive: return "Personalised products";
    case Segment::kVip: return "Exclusive preview, VIP support";
    case Segment::kAtRisk: return "We value you! Free delivery";
  }
  return "";
}

std::string_view SegmentGoal(Segment segment) {
  switch (segment) {
    case Segment::kDormant: return "win back";
    case Segment::kActive: return "keep and grow";
    case Segment::kVip: return "delight, retain";
    case Segment::kAtRisk: return "save from churn";
  }
  return "";
}

std::optional<Segment> ParseSegment(std::string_view name) {
  for (Segment s : kSegments)
    if (SegmentName(s) == name) return s;
  return std::nullopt;
}

Segment Classify(const SegmentInput& in, const SegmentRules& rules) {
  // Whole days ago: activity 30.9 days ago is "30 days ago".
  const std::optional<double> idle =
      in.days_since_activity ? std::optional<double>(std::floor(*in.days_since_activity)) : std::nullopt;
  if (idle) {
    if (*idle > rules.dormant_days) return Segment::kDormant;
  } else if (!in.days_since_registration || std::floor(*in.days_since_registration) > rules.new_user_grace_days) {
    return Segment::kDormant;
  }
  if (in.has_purchased && in.revenue > 0) {
    const bool above_amount = rules.vip_min_revenue > 0 && in.revenue >= rules.vip_min_revenue;
    const bool in_top_share = in.vip_revenue_cut && *in.vip_revenue_cut > 0 && in.revenue >= *in.vip_revenue_cut;
    if (above_amount || in_top_share) return Segment::kVip;
  }
  const bool fading = in.has_purchased && idle && *idle >= rules.at_risk_min_days;
  if (fading || in.churn_risk >= rules.at_risk_churn) return Segment::kAtRisk;
  return Segment::kActive;
}

}  // namespace cohort::analytics
