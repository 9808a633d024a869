#include "analytics/engine.hpp"

#include <algorithm>

namespace cohort::analytics {

ChurnFeatures ChurnInputs(const UserFeatures& f, const UserProfile& profile, std::int64_t now_micros) {
  std::optional<std::int64_t> since = f.last_purchase_micros ? f.last_purchase_micros : f.last_activity_micros;
  if (!since) since = profile.registered_micros;
  const double recency =
      since ? static_cast<double>(std::max<std::int64_t>(0, now_micros - *since)) / static_cast<double>(kMicrosPerDay)
            : 365.0;  // nothing known: a year of silence
  return {recency, static_cast<double>(f.purchases), static_cast<double>(f.events_30d)};
}

TimeUnit FeatureUnit(const Model* model, const EngineOptions& options) {
  return model ? model->time_unit : options.time_unit;
}

Insight ScoreUser(const Model* model, const UserProfile& profile, std::span<const domain::Event> events,
                  std::int64_t now_micros, const EngineOptions& options) {
  return ScoreFeatures(model, profile, ComputeFeatures(events, now_micros, FeatureUnit(model, options)), now_micros,
                       options);
}

Insight ScoreFeatures(const Model* model, const UserProfile& profile, UserFeatures features, std::int64_t now_micros,
                      const EngineOptions& options) {
  Insight out;
  out.features = std::move(features);
  const UserFeatures& f = out.features;
  const ChurnCoefficients coefficients = model ? model->churn.coefficients : ChurnCoefficients{};
  // The inputs are finite and not negative by construction, so the score always exists.
  out.churn_risk = ChurnRisk(coefficients, ChurnInputs(f, profile, now_micros)).value();

  SegmentInput segment_input;
  segment_input.days_since_activity = f.DaysSinceActivity(now_micros);
  if (profile.registered_micros)
    segment_input.days_since_registration =
        static_cast<double>(std::max<std::int64_t>(0, now_micros - *profile.registered_micros)) /
        static_cast<double>(kMicrosPerDay);
  segment_input.has_purchased = f.purchases > 0;
  segment_input.revenue = f.revenue;
  segment_input.churn_risk = out.churn_risk;
  if (model) segment_input.vip_revenue_cut = model->vip_revenue_cut;
  out.segment = Classify(segment_input, options.rules);

  const double lifetime_days =
      f.first_purchase_micros
          ? static_cast<double>(now_micros - *f.first_purchase_micros) / static_cast<double>(kMicrosPerDay)
          : 0.0;
  out.ltv_simple = SimpleLtv({f.revenue, f.purchases, lifetime_days, out.churn_risk}, options.clv.horizon_months)
                       .value();  // inputs valid by construction
  if (model && model->bgnbd && f.purchases > 0) {
    if (auto alive = ProbabilityAlive(model->bgnbd->model, f.summary)) out.p_alive = *alive;
    if (model->gamma_gamma) {
      if (auto clv = ProbabilisticClv(model->bgnbd->model, model->gamma_gamma->model, f.summary, options.clv))
        out.ltv_probabilistic = *clv;
    }
  }
  return out;
}

nlohmann::json Insight::ToJson(std::int64_t now_micros) const {
  return {{"segment", SegmentName(segment)},
          {"offer", SegmentOffer(segment)},
          {"goal", SegmentGoal(segment)},
          {"churn_risk", churn_risk},
          {"p_alive", p_alive ? nlohmann::json(*p_alive) : nlohmann::json(nullptr)},
          {"ltv",
           {{"value", ltv().value},
            {"method", ltv().method},
            {"simple", analytics::ToJson(ltv_simple)},
            {"probabilistic", ltv_probabilistic ? analytics::ToJson(*ltv_probabilistic) : nlohmann::json(nullptr)}}},
          {"features", features.ToJson(now_micros)}};
}

}  // namespace cohort::analytics
