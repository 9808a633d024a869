// Offline evaluation: ranking metrics on hand-computed cases, who the protocol evaluates, and Cohort against
// the popularity baseline on synthetic shops with latent tastes.

#include "analytics/evaluation.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "synthetic_retail.hpp"

namespace cohort::analytics {
namespace {

constexpr std::int64_t kDay = 86'400LL * 1'000'000;
constexpr std::int64_t kStart = 1'700'000'000LL * 1'000'000;

TEST(EvaluationTest, MetricsOnAHandComputedList) {
  const std::vector<std::string> ranked = {"a", "b", "c", "d", "e"};
  const ProductSet relevant = {"b", "d", "x"};
  // Hits at ranks 2 and 4 of 5; three relevant products.
  EXPECT_DOUBLE_EQ(PrecisionAtK(ranked, relevant, 5), 0.4);
  EXPECT_DOUBLE_EQ(RecallAtK(ranked, relevant, 5), 2.0 / 3.0);
  // DCG = 1/log2(3) + 1/log2(5) = 1.061606; ideal = 1 + 1/log2(3) + 1/2 = 2.130930.
  EXPECT_NEAR(NdcgAtK(ranked, relevant, 5), 0.498189, 1e-6);
  EXPECT_DOUBLE_EQ(AveragePrecisionAtK(ranked, relevant, 5), (1.0 / 2 + 2.0 / 4) / 3);
  EXPECT_DOUBLE_EQ(HitAtK(ranked, relevant, 5), 1.0);

  EXPECT_DOUBLE_EQ(PrecisionAtK(ranked, relevant, 1), 0.0);
  EXPECT_DOUBLE_EQ(HitAtK(ranked, relevant, 1), 0.0);
  EXPECT_DOUBLE_EQ(NdcgAtK(ranked, relevant, 1), 0.0);
  EXPECT_DOUBLE_EQ(PrecisionAtK(ranked, relevant, 2), 0.5);
  EXPECT_DOUBLE_EQ(AveragePrecisionAtK(ranked, relevant, 2), 0.5 / 2);  // over min(k, |relevant|) = 2
  // NDCG@2 = (1/log2(3)) / (1 + 1/log2(3)) = 0.386853.
  EXPECT_NEAR(NdcgAtK(ranked, relevant, 2), 0.386853, 1e-6);
  // A list shorter than k still divides precision by k.
  EXPECT_DOUBLE_EQ(PrecisionAtK(std::vector<std::string>{"b"}, relevant, 10), 0.1);
  EXPECT_DOUBLE_EQ(NdcgAtK(std::vector<std::string>{"b"}, ProductSet{"b"}, 10), 1.0);
}

TEST(EvaluationTest, MetricsOnEdgeCases) {
  const std::vector<std::string> ranked = {"a", "a", "b"};
  EXPECT_DOUBLE_EQ(PrecisionAtK(ranked, {"a"}, 3), 1.0 / 3);  // a repeated product counts once
  EXPECT_DOUBLE_EQ(RecallAtK(ranked, {}, 3), 0.0);
  EXPECT_DOUBLE_EQ(NdcgAtK(ranked, {"a"}, 0), 0.0);
  EXPECT_DOUBLE_EQ(AveragePrecisionAtK({}, {"a"}, 3), 0.0);
  EXPECT_DOUBLE_EQ(CatalogueCoverage({{"a", "b"}, {"b", "c"}}, 10), 0.3);
  EXPECT_DOUBLE_EQ(CatalogueCoverage({{"a"}}, 0), 0.0);
}

domain::Event Event(const std::string& user, std::string_view type, const std::string& product,
                    std::int64_t ts) {
  domain::Event e;
  e.event_id = user + product + std::to_string(ts);
  e.user_id = user;
  e.type = std::string(type);
  e.product_id = product;
  e.ts_micros = ts;
  return e;
}

TEST(EvaluationTest, ProtocolEvaluatesUsersWhoBoughtSomethingNew) {
  const std::int64_t split = kStart + 10 * kDay;
  std::vector<domain::Event> train, test;
  // Background: A and B are bought together.
  for (int u = 0; u < 5; ++u) {
    const std::string user = "bg" + std::to_string(u);
    train.push_back(Event(user, domain::kPurchase, "A", kStart + u * kDay));
    train.push_back(Event(user, domain::kPurchase, "B", kStart + u * kDay));
  }
  train.push_back(Event("repeat", domain::kPurchase, "A", kStart));
  test.push_back(Event("repeat", domain::kPurchase, "A", split + kDay));  // bought before: not new
  train.push_back(Event("new", domain::kPurchase, "A", kStart));
  test.push_back(Event("new", domain::kPurchase, "B", split + kDay));  // new: evaluated with {B}
  test.push_back(Event("new", domain::kPurchase, "A", split + kDay));  // not new, not relevant
  train.push_back(Event("viewer", domain::kView, "C", kStart));
  test.push_back(Event("viewer", domain::kPurchase, "C", split + kDay));    // viewed, never bought: new
  test.push_back(Event("stranger", domain::kPurchase, "A", split + kDay));  // no history before the split
  train.push_back(Event("browser", domain::kPurchase, "A", kStart));
  test.push_back(Event("browser", domain::kView, "B", split + kDay));  // views only after the split

  const auto relevant = RelevantPurchases(train, test);
  ASSERT_EQ(relevant.size(), 2u);
  EXPECT_EQ(relevant.at("new"), (ProductSet{"B"}));
  EXPECT_EQ(relevant.at("viewer"), (ProductSet{"C"}));

  EvaluationOptions options;
  options.k = 1;
  const EvaluationReport report = EvaluateRecommenders(train, test, split, {}, {}, options);
  EXPECT_EQ(report.users_evaluated, 2u);
  // Cohort gives "new" B (bought with A) and "viewer" C (their viewed item); the baseline gives both A or B.
  EXPECT_DOUBLE_EQ(report.cohort.hit_rate, 1.0);
  EXPECT_DOUBLE_EQ(report.cohort.precision, 1.0);
  EXPECT_LT(report.popularity.hit_rate, 1.0);
  EXPECT_DOUBLE_EQ(report.cohort.coverage, 2.0 / 3.0);  // B and C of A, B, C

  const nlohmann::json json = report.ToJson();
  EXPECT_EQ(json.at("users_evaluated"), 2);
  for (const char* name : {"cohort", "popularity"}) {
    for (const char* metric : {"precision", "recall", "ndcg", "map", "hit_rate", "coverage"}) {
      EXPECT_TRUE(json.at("recommenders").at(name).at(metric).is_number()) << name << "." << metric;
    }
  }
}

TEST(EvaluationTest, NoEvaluableUsersGivesAnEmptyReport) {
  const std::vector<domain::Event> train = {Event("u", domain::kPurchase, "A", kStart)};
  const EvaluationReport report = EvaluateRecommenders(train, {}, kStart + kDay, {}, {}, EvaluationOptions{});
  EXPECT_EQ(report.users_evaluated, 0u);
  EXPECT_EQ(report.cohort.ndcg, 0.0);
}

void ExpectCohortBeatsPopularity(bool purchase_only) {
  testing::SyntheticRetailOptions shop_options;
  shop_options.purchase_only = purchase_only;
  const testing::SyntheticRetail shop = testing::MakeSyntheticRetail(shop_options);
  const std::int64_t split = shop.Day(300);
  std::vector<domain::Event> train, test;
  for (const domain::Event& e : shop.events) (e.ts_micros < split ? train : test).push_back(e);

  const EvaluationReport report =
      EvaluateRecommenders(train, test, split, shop.user_country, shop.product_category, EvaluationOptions{});
  std::cout << (purchase_only ? "purchases only: " : "sessions: ") << report.ToJson().dump() << "\n";
  EXPECT_GT(report.users_evaluated, 300u);
  EXPECT_GT(report.cohort.ndcg, report.popularity.ndcg * 1.2);
  EXPECT_GT(report.cohort.map, report.popularity.map);
  EXPECT_GT(report.cohort.coverage, report.popularity.coverage);
}

TEST(EvaluationTest, CohortBeatsPopularityOnASyntheticShopWithSessions) {
  ExpectCohortBeatsPopularity(false);
}

TEST(EvaluationTest, CohortBeatsPopularityOnASyntheticShopWithPurchasesOnly) {
  ExpectCohortBeatsPopularity(true);
}

}  // namespace
}  // namespace cohort::analytics
