#include "analytics/trainer.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace cohort::analytics {
namespace {

bool PurchasedIn(std::span<const domain::Event> events, std::int64_t after, std::int64_t until) {
  return std::any_of(events.begin(), events.end(), [&](const domain::Event& e) {
    return e.type == domain::kPurchase && e.ts_micros > after && e.ts_micros <= until;
  });
}

// A churn row for a user who had bought by `cutoff`, or nothing.
std::optional<ChurnExample> ChurnRow(const UserProfile& profile, std::span<const domain::Event> events,
                                     std::int64_t cutoff, std::int64_t window_micros) {
  const UserFeatures f = ComputeFeatures(events, cutoff, TimeUnit::kDays);
  if (f.purchases == 0) return std::nullopt;
  return ChurnExample{ChurnInputs(f, profile, cutoff), !PurchasedIn(events, cutoff, cutoff + window_micros)};
}

Result<double> ScoreAuc(const ChurnCoefficients& coefficients, std::span<const ChurnExample> rows) {
  std::vector<ScoredLabel> scored;
  scored.reserve(rows.size());
  for (const ChurnExample& row : rows) {
    COHORT_ASSIGN_OR_RETURN(double risk, ChurnRisk(coefficients, row.features));
    scored.push_back({risk, row.churned});
  }
  return Auc(scored);
}

}  // namespace

std::int64_t EndOfUtcDay(std::int64_t micros) { return (UtcDay(micros) + 1) * kMicrosPerDay - 1; }

ModelTrainer::ModelTrainer(TrainOptions options) : options_(std::move(options)) {}

void ModelTrainer::AddUser(const UserProfile& profile, std::span<const domain::Event> events) {
  const std::int64_t until = options_.until_micros;
  const UserFeatures f = ComputeFeatures(events, until, options_.time_unit);
  if (f.purchases > 0) summaries_.push_back(f.summary);

  UserRow row;
  row.segment.days_since_activity = f.DaysSinceActivity(until);
  if (profile.registered_micros && *profile.registered_micros <= until)
    row.segment.days_since_registration =
        static_cast<double>(until - *profile.registered_micros) / static_cast<double>(kMicrosPerDay);
  row.segment.has_purchased = f.purchases > 0;
  row.segment.revenue = f.revenue;
  row.churn = ChurnInputs(f, profile, until);
  users_.push_back(row);

  const std::int64_t window = static_cast<std::int64_t>(options_.churn_window_days) * kMicrosPerDay;
  if (auto fit_row = ChurnRow(profile, events, until - 2 * window, window)) churn_fit_rows_.push_back(*fit_row);
  if (auto eval_row = ChurnRow(profile, events, until - window, window)) churn_eval_rows_.push_back(*eval_row);

  event_count_ += f.events;
  if (!options_.train_recommender) return;
  if (!profile.country.empty()) user_country_.emplace(profile.id, profile.country);
  for (const domain::Event& e : events)
    if (e.ts_micros <= until) events_.push_back(e);
}

Result<Model> ModelTrainer::Finish(const std::unordered_map<std::string, std::string>& product_category,
                                   const Progress& progress) {
  Model m;
  m.version = options_.version;
  m.trained_at = options_.trained_at;
  m.until_micros = options_.until_micros;
  m.time_unit = options_.time_unit;
  m.users = users();
  m.events = events();

  progress(fmt::format("fitting BG/NBD on {} buyers", summaries_.size()));
  if (auto bgnbd = FitBgNbd(summaries_, options_.time_unit)) {
    m.bgnbd = *bgnbd;
  } else {
    progress(fmt::format("BG/NBD not fitted: {}", bgnbd.error().client_message));
  }
  progress("fitting Gamma-Gamma on the repeat buyers");
  if (auto gg = FitGammaGamma(summaries_)) {
    m.gamma_gamma = *gg;
  } else {
    progress(fmt::format("Gamma-Gamma not fitted: {}", gg.error().client_message));
  }

  progress(fmt::format("fitting churn on {} buyers, measuring it on {}", churn_fit_rows_.size(),
                       churn_eval_rows_.size()));
  m.churn.training_rows = static_cast<std::int64_t>(churn_fit_rows_.size());
  m.churn.evaluation_rows = static_cast<std::int64_t>(churn_eval_rows_.size());
  if (auto churn = FitChurnCoefficients(churn_fit_rows_)) {
    m.churn.coefficients = churn->coefficients;
    m.churn.fitted = true;
  } else {
    progress(fmt::format("churn not fitted, default coefficients kept: {}", churn.error().client_message));
  }
  if (auto auc = ScoreAuc(m.churn.coefficients, churn_eval_rows_)) m.churn.auc = *auc;

  std::vector<double> revenues;
  for (const UserRow& u : users_)
    if (u.segment.has_purchased && u.segment.revenue > 0) revenues.push_back(u.segment.revenue);
  if (!revenues.empty() && options_.rules.vip_top_share > 0) {
    const auto top = static_cast<std::size_t>(
        std::max(1.0, std::ceil(options_.rules.vip_top_share * static_cast<double>(revenues.size()))));
    std::nth_element(revenues.begin(), revenues.begin() + static_cast<std::ptrdiff_t>(top - 1), revenues.end(),
                     std::greater<>());
    m.vip_revenue_cut = revenues[top - 1];
  }
  progress("scoring every user");
  for (UserRow& u : users_) {
    u.segment.churn_risk = ChurnRisk(m.churn.coefficients, u.churn).value();  // finite inputs by construction
    if (m.vip_revenue_cut > 0) u.segment.vip_revenue_cut = m.vip_revenue_cut;
    SegmentTotal& total = m.segments[static_cast<std::size_t>(Classify(u.segment, options_.rules))];
    ++total.users;
    total.revenue += u.segment.revenue;
  }

  if (options_.train_recommender) {
    progress(fmt::format("training the recommender on {} events", events_.size()));
    m.recommender = RecommenderModel::Train(events_, user_country_, product_category, options_.recommender);
  }
  return m;
}

}  // namespace cohort::analytics
