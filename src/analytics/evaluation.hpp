#pragma once
// Offline evaluation of recommendations: ranking metrics at k on one list, and the protocol that trains on
// the events before a split and asks whether users then bought what was recommended. Pure computation: no
// I/O.
//
// Protocol: a user is evaluated when they have training events and, in the test events, bought at least one
// product they had not bought in the training events; those new products are the relevant set. Cohort's
// recommender and the popularity baseline (RecommenderOptions::PopularityBaseline) are trained on the
// training events only; each evaluated user gets k recommendations (history = their training events, now =
// the split, purchased products excluded). Metrics are means over the evaluated users; coverage is the share
// of the trained catalogue (products seen in the training events) recommended to at least one of them.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "analytics/recommender.hpp"
#include "domain/event.hpp"

namespace cohort::analytics {

using ProductSet = std::unordered_set<std::string>;

// Binary relevance on the first k entries of `ranked` (duplicates count once). All are 0 when k is 0 or
// nothing is relevant. Precision = hits / k; recall = hits / |relevant|; hit = 1 when any hit, else 0.
double PrecisionAtK(std::span<const std::string> ranked, const ProductSet& relevant, std::size_t k);
double RecallAtK(std::span<const std::string> ranked, const ProductSet& relevant, std::size_t k);
double HitAtK(std::span<const std::string> ranked, const ProductSet& relevant, std::size_t k);
// DCG = sum over hits at rank i (from 1) of 1 / log2(i + 1); ideal DCG puts min(k, |relevant|) hits first.
double NdcgAtK(std::span<const std::string> ranked, const ProductSet& relevant, std::size_t k);
// Sum of precision at each hit's rank, over min(k, |relevant|); MAP is its mean over users.
double AveragePrecisionAtK(std::span<const std::string> ranked, const ProductSet& relevant, std::size_t k);
// Distinct recommended products / catalogue size (0 for an empty catalogue).
double CatalogueCoverage(const std::vector<std::vector<std::string>>& recommendations,
                         std::size_t catalogue_size);

struct RankingMetrics {
  double precision = 0;
  double recall = 0;
  double ndcg = 0;
  double map = 0;
  double hit_rate = 0;
  double coverage = 0;
};

struct EvaluationOptions {
  std::size_t k = 10;
  RecommenderOptions recommender;  // Cohort's; the baseline uses
                                   // RecommenderOptions::PopularityBaseline()
};

struct EvaluationReport {
  RankingMetrics cohort;
  RankingMetrics popularity;
  std::size_t users_evaluated = 0;
  std::size_t k = 0;

  // {"k":10,"users_evaluated":N,"recommenders":{"cohort":{"precision",...,"coverage"},"popularity":{...}}}
  nlohmann::json ToJson() const;
};

// The users the protocol evaluates and their relevant sets: user id -> products bought in `test` and not in
// `train`.
std::unordered_map<std::string, ProductSet> RelevantPurchases(std::span<const domain::Event> train,
                                                              std::span<const domain::Event> test);

// train: events before split_micros; test: events from it on (the caller splits; events in any order).
EvaluationReport EvaluateRecommenders(std::span<const domain::Event> train,
                                      std::span<const domain::Event> test, std::int64_t split_micros,
                                      const std::unordered_map<std::string, std::string>& user_country,
                                      const std::unordered_map<std::string, std::string>& product_category,
                                      const EvaluationOptions& options);

}  // namespace cohort::analytics
