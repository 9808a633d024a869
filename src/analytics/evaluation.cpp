#include "analytics/evaluation.hpp"

#include <algorithm>
#include <cmath>

namespace cohort::analytics {
namespace {

// Ranks (1-based) of the first k entries that are relevant, each product once.
std::vector<std::size_t> HitRanks(std::span<const std::string> ranked, const ProductSet& relevant,
                                  std::size_t k) {
  std::vector<std::size_t> ranks;
  const std::size_t n = std::min(k, ranked.size());
  for (std::size_t i = 0; i < n; ++i) {
    const bool repeated = std::find(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(i),
                                    ranked[i]) != ranked.begin() + static_cast<std::ptrdiff_t>(i);
    if (!repeated && relevant.contains(ranked[i])) ranks.push_back(i + 1);
  }
  return ranks;
}

bool Trivial(const ProductSet& relevant, std::size_t k) { return k == 0 || relevant.empty(); }

nlohmann::json MetricsToJson(const RankingMetrics& m) {
  return {{"precision", m.precision}, {"recall", m.recall},    {"ndcg", m.ndcg}, {"map", m.map},
          {"hit_rate", m.hit_rate},   {"coverage", m.coverage}};
}

}  // namespace

double PrecisionAtK(std::span<const std::string> ranked, const ProductSet& relevant, std::size_t k) {
  if (Trivial(relevant, k)) return 0;
  return static_cast<double>(HitRanks(ranked, relevant, k).size()) / static_cast<double>(k);
}

double RecallAtK(std::span<const std::string> ranked, const ProductSet& relevant, std::size_t k) {
  if (Trivial(relevant, k)) return 0;
  return static_cast<double>(HitRanks(ranked, relevant, k).size()) / static_cast<double>(relevant.size());
}

double NdcgAtK(std::span<const std::string> ranked, const ProductSet& relevant, std::size_t k) {
  if (Trivial(relevant, k)) return 0;
  double dcg = 0;
  for (std::size_t rank : HitRanks(ranked, relevant, k))
    dcg += 1.0 / std::log2(static_cast<double>(rank) + 1.0);
  double ideal = 0;
  for (std::size_t rank = 1; rank <= std::min(k, relevant.size()); ++rank) {
    ideal += 1.0 / std::log2(static_cast<double>(rank) + 1.0);
  }
  return dcg / ideal;
}

double AveragePrecisionAtK(std::span<const std::string> ranked, const ProductSet& relevant, std::size_t k) {
  if (Trivial(relevant, k)) return 0;
  double sum = 0;
  std::size_t hits = 0;
  for (std::size_t rank : HitRanks(ranked, relevant, k)) {
    ++hits;
    sum += static_cast<double>(hits) / static_cast<double>(rank);
  }
  return sum / static_cast<double>(std::min(k, relevant.size()));
}

double HitAtK(std::span<const std::string> ranked, const ProductSet& relevant, std::size_t k) {
  if (Trivial(relevant, k)) return 0;
  return HitRanks(ranked, relevant, k).empty() ? 0.0 : 1.0;
}

double CatalogueCoverage(const std::vector<std::vector<std::string>>& recommendations,
                         std::size_t catalogue_size) {
  if (catalogue_size == 0) return 0;
  ProductSet distinct;
  for (const auto& list : recommendations) distinct.insert(list.begin(), list.end());
  return static_cast<double>(distinct.size()) / static_cast<double>(catalogue_size);
}

nlohmann::json EvaluationReport::ToJson() const {
  return {{"k", k},
          {"users_evaluated", users_evaluated},
          {"recommenders", {{"cohort", MetricsToJson(cohort)}, {"popularity", MetricsToJson(popularity)}}}};
}

std::unordered_map<std::string, ProductSet> RelevantPurchases(std::span<const domain::Event> train,
                                                              std::span<const domain::Event> test) {
  std::unordered_map<std::string, ProductSet> bought_before;
  for (const domain::Event& e : train) {
    ProductSet& bought = bought_before[e.user_id];  // every user with a training event
    if (e.type == domain::kPurchase && e.product_id) bought.insert(*e.product_id);
  }
  std::unordered_map<std::string, ProductSet> relevant;
  for (const domain::Event& e : test) {
    if (e.type != domain::kPurchase || !e.product_id) continue;
    const auto before = bought_before.find(e.user_id);
    if (before == bought_before.end() || before->second.contains(*e.product_id)) continue;
    relevant[e.user_id].insert(*e.product_id);
  }
  return relevant;
}

EvaluationReport EvaluateRecommenders(std::span<const domain::Event> train,
                                      std::span<const domain::Event> test, std::int64_t split_micros,
                                      const std::unordered_map<std::string, std::string>& user_country,
                                      const std::unordered_map<std::string, std::string>& product_category,
                                      const EvaluationOptions& options) {
  EvaluationReport report;
  report.k = options.k;
  const std::unordered_map<std::string, ProductSet> relevant = RelevantPurchases(train, test);
  report.users_evaluated = relevant.size();
  if (relevant.empty()) return report;

  const RecommenderModel cohort =
      RecommenderModel::Train(train, user_country, product_category, options.recommender);
  const RecommenderModel popularity = RecommenderModel::Train(train, user_country, product_category,
                                                              RecommenderOptions::PopularityBaseline());

  std::unordered_map<std::string, std::vector<domain::Event>> histories;
  for (const auto& entry : relevant) histories[entry.first];
  for (const domain::Event& e : train) {
    const auto it = histories.find(e.user_id);
    if (it != histories.end()) it->second.push_back(e);
  }

  RecommendQuery query;
  query.limit = options.k;
  struct Side {
    const RecommenderModel* model;
    RankingMetrics* metrics;
    std::vector<std::vector<std::string>> lists;
  };
  Side sides[] = {{&cohort, &report.cohort, {}}, {&popularity, &report.popularity, {}}};
  for (const auto& [user_id, products] : relevant) {
    UserContext user;
    user.history = histories[user_id];
    const auto country = user_country.find(user_id);
    if (country != user_country.end()) user.country = country->second;
    user.now_micros = split_micros;
    for (Side& side : sides) {
      std::vector<std::string> ranked;
      for (Recommendation& r : side.model->Recommend(user, query)) ranked.push_back(std::move(r.product_id));
      RankingMetrics& m = *side.metrics;
      m.precision += PrecisionAtK(ranked, products, options.k);
      m.recall += RecallAtK(ranked, products, options.k);
      m.ndcg += NdcgAtK(ranked, products, options.k);
      m.map += AveragePrecisionAtK(ranked, products, options.k);
      m.hit_rate += HitAtK(ranked, products, options.k);
      side.lists.push_back(std::move(ranked));
    }
  }
  const auto users = static_cast<double>(relevant.size());
  for (Side& side : sides) {
    RankingMetrics& m = *side.metrics;
    for (double* v : {&m.precision, &m.recall, &m.ndcg, &m.map, &m.hit_rate}) *v /= users;
    m.coverage = CatalogueCoverage(side.lists, cohort.product_count());
  }
  return report;
}

}  // namespace cohort::analytics
