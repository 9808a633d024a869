#pragma once
// Builds a Model from a shop's history, one user at a time, then fits everything at once:
//   - BG/NBD and Gamma-Gamma by maximum likelihood on every buyer's summary at `until`;
//   - the churn coefficients as a logistic regression: rows are the buyers as of a cutoff `until − 2W`,
//     labelled churned when they made no purchase in the W days after it (W = churn_window_days); its AUC is
//     measured on a held-back period, the buyers as of `until − W` labelled by the last W days. When the
//     history cannot support a fit (one class only), the documented default coefficients stay, marked so;
//   - the VIP revenue cut (top vip_top_share of buyers) and the segment totals, scoring every user at `until`;
//   - the recommender, on every event up to `until`.
// Pure: the caller reads the stores and feeds AddUser.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analytics/engine.hpp"
#include "analytics/model.hpp"
#include "analytics/recommender.hpp"
#include "common/result.hpp"

namespace cohort::analytics {

struct TrainOptions {
  std::int64_t until_micros = 0;  // the last instant seen; events after it are ignored
  TimeUnit time_unit = TimeUnit::kDays;
  int churn_window_days = 90;
  SegmentRules rules;
  RecommenderOptions recommender;
  bool train_recommender = true;  // false: an empty recommender (offline evaluation trains its own)
  std::string version;
  std::string trained_at;
};

using Progress = std::function<void(std::string_view line)>;

class ModelTrainer {
 public:
  explicit ModelTrainer(TrainOptions options);

  // One user's events, in any order, each user once (users without events too: they count in the segments).
  void AddUser(const UserProfile& profile, std::span<const domain::Event> events);
  std::int64_t users() const { return static_cast<std::int64_t>(users_.size()); }
  std::int64_t events() const { return event_count_; }

  // Fits and assembles the model. `products` maps product ids to categories (the catalogue).
  Result<Model> Finish(const std::unordered_map<std::string, std::string>& product_category, const Progress& progress);

 private:
  struct UserRow {
    SegmentInput segment;  // churn_risk filled in Finish
    ChurnFeatures churn;
  };

  TrainOptions options_;
  std::vector<UserRow> users_;
  std::vector<PurchaseSummary> summaries_;  // buyers only
  std::vector<ChurnExample> churn_fit_rows_;
  std::vector<ChurnExample> churn_eval_rows_;
  std::vector<domain::Event> events_;  // for the recommender
  std::int64_t event_count_ = 0;
  std::unordered_map<std::string, std::string> user_country_;
};

// The last instant of the UTC day of `micros` (a date given as --until includes its whole day).
std::int64_t EndOfUtcDay(std::int64_t micros);

}  // namespace cohort::analytics
