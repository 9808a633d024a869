#pragma once
// One customer's answer from their events and a model: features, segment and offer, churn risk, P(alive) and
// lifetime value by both methods. Pure; the same function serves the HTTP answers, training's scoring pass and
// the benchmarks. Without a model (nothing trained yet) it still answers: the documented default churn
// coefficients, no P(alive), and the simple lifetime value only.

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "analytics/clv.hpp"
#include "analytics/features.hpp"
#include "analytics/model.hpp"
#include "analytics/segments.hpp"
#include "domain/event.hpp"

namespace cohort::analytics {

struct EngineOptions {
  SegmentRules rules;
  ClvOptions clv;
  TimeUnit time_unit = TimeUnit::kDays;  // used without a model; a model brings its own
};

struct UserProfile {
  std::string id;
  std::optional<std::int64_t> registered_micros;  // unknown for events of users not registered (yet)
  std::string country;       // ISO code, may be empty
  std::string country_name;  // may be empty
};

struct Insight {
  UserFeatures features;
  Segment segment = Segment::kActive;
  double churn_risk = 0;
  std::optional<double> p_alive;             // needs a BG/NBD model and a purchase
  ClvEstimate ltv_simple;
  std::optional<ClvEstimate> ltv_probabilistic;  // needs both fitted models

  // The preferred lifetime value: probabilistic when there is one.
  const ClvEstimate& ltv() const { return ltv_probabilistic ? *ltv_probabilistic : ltv_simple; }
  nlohmann::json ToJson(std::int64_t now_micros) const;
};

// The inputs of the churn score as of `now`: days since the last purchase (or activity, or registration, for
// those who never bought), purchases, events in the last 30 days.
ChurnFeatures ChurnInputs(const UserFeatures& features, const UserProfile& profile, std::int64_t now_micros);

// `model` may be null. `features` as of `now`, in the model's time unit (or options.time_unit without one).
Insight ScoreFeatures(const Model* model, const UserProfile& profile, UserFeatures features, std::int64_t now_micros,
                      const EngineOptions& options);

// The time unit that features must be computed in for `model` (which may be null).
TimeUnit FeatureUnit(const Model* model, const EngineOptions& options);

// ScoreFeatures on ComputeFeatures. `events` in any order; those after `now` are ignored.
Insight ScoreUser(const Model* model, const UserProfile& profile, std::span<const domain::Event> events,
                  std::int64_t now_micros, const EngineOptions& options);

}  // namespace cohort::analytics
