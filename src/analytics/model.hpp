#pragma once
// A trained model: everything `cohort train` learns from a shop's history, saved whole under one version and
// loaded whole by `cohort serve`. Pure data plus its JSON form.

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "analytics/bgnbd.hpp"
#include "analytics/churn.hpp"
#include "analytics/gamma_gamma.hpp"
#include "analytics/recommender.hpp"
#include "analytics/segments.hpp"
#include "common/result.hpp"

namespace cohort::analytics {

struct SegmentTotal {
  std::int64_t users = 0;
  double revenue = 0;
};

struct ChurnModel {
  ChurnCoefficients coefficients;  // the documented defaults when the history could not be fitted
  bool fitted = false;
  std::optional<double> auc;       // on the held-back period
  std::int64_t training_rows = 0;
  std::int64_t evaluation_rows = 0;
};

struct Model {
  std::string version;     // sorts by training time: "20261201T020304Z"
  std::string trained_at;  // RFC 3339
  std::int64_t until_micros = 0;  // training saw events up to the end of this UTC day
  TimeUnit time_unit = TimeUnit::kDays;
  std::optional<BgNbdFit> bgnbd;             // absent when the history has no repeat purchase
  std::optional<GammaGammaFit> gamma_gamma;  // absent with fewer than two repeat buyers
  ChurnModel churn;
  double vip_revenue_cut = 0;  // revenue of the top vip_top_share of buyers at training
  std::array<SegmentTotal, kSegments.size()> segments{};  // as scored at training, indexed like kSegments
  std::int64_t users = 0;
  std::int64_t events = 0;
  RecommenderModel recommender;
};

// The model without the recommender's tables: for `cohort train --json` and GET /api/admin/models.
nlohmann::json ModelSummaryJson(const Model& model);
nlohmann::json ModelToJson(const Model& model);
Result<Model> ModelFromJson(const nlohmann::json& json);

}  // namespace cohort::analytics
