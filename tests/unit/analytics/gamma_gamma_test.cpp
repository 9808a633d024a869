// Gamma-Gamma spend model against the published CDNOW fit (Fader & Hardie 2013) and hand cases.

#include "analytics/gamma_gamma.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "cdnow_data.hpp"

namespace cohort::analytics {
namespace {

const GammaGammaModel kPublished{6.25, 3.74, 15.44, -4055.92};

TEST(GammaGammaTest, ExpectedSpendIsTheCredibilityWeightedMean) {
  const double p = kPublished.p, q = kPublished.q, v = kPublished.v;
  for (auto [x, zbar] : {std::pair{1, 10.0}, std::pair{2, 22.35}, std::pair{10, 80.0}}) {
    const double weight = p * x / (p * x + q - 1.0);
    const double population_mean = v * p / (q - 1.0);
    const auto spend = ExpectedAverageSpend(kPublished, x, zbar);
    ASSERT_TRUE(spend);
    EXPECT_NEAR(*spend, (1.0 - weight) * population_mean + weight * zbar, 1e-9);
  }
  // No repeat purchase: the population mean.
  EXPECT_NEAR(*ExpectedAverageSpend(kPublished, 0, 0.0), 15.44 * 6.25 / 2.74, 1e-9);
}

TEST(GammaGammaTest, InfinitePopulationMeanIsAnErrorNotANumber) {
  const GammaGammaModel heavy_tail{2.0, 0.8, 10.0, 0.0};
  const auto one_time = ExpectedAverageSpend(heavy_tail, 0, 0.0);
  ASSERT_FALSE(one_time);
  EXPECT_EQ(one_time.error().code, ErrorCode::kFailedPrecondition);
  // A repeat buyer's posterior mean still exists (p x + q > 1).
  const auto repeat = ExpectedAverageSpend(heavy_tail, 3, 25.0);
  ASSERT_TRUE(repeat);
  EXPECT_NEAR(*repeat, 2.0 * (10.0 + 3 * 25.0) / (6.0 + 0.8 - 1.0), 1e-9);
}

TEST(GammaGammaTest, RejectsInvalidInput) {
  EXPECT_FALSE(ExpectedAverageSpend({-1.0, 3.0, 10.0, 0.0}, 2, 10.0));
  EXPECT_FALSE(ExpectedAverageSpend(kPublished, 2, -10.0));
  EXPECT_FALSE(ExpectedAverageSpend(kPublished, -2, 10.0));
  EXPECT_FALSE(ExpectedAverageSpend(kPublished, 2, std::nan("")));
  const std::vector<PurchaseSummary> too_few{{0, 0.0, 10.0, 0.0}, {3, 5.0, 10.0, 20.0}, {2, 4.0, 10.0, 0.0}};
  EXPECT_EQ(FitGammaGamma(too_few).error().code, ErrorCode::kFailedPrecondition);
  const std::vector<PurchaseSummary> negative{{3, 5.0, 10.0, -20.0}, {3, 5.0, 10.0, 20.0}};
  EXPECT_EQ(FitGammaGamma(negative).error().code, ErrorCode::kInvalidArgument);
}

TEST(GammaGammaTest, JsonRoundTrip) {
  const nlohmann::json json = ToJson(kPublished);
  const auto back = GammaGammaModelFromJson(json);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->p, kPublished.p);
  EXPECT_EQ(back->q, kPublished.q);
  EXPECT_EQ(back->v, kPublished.v);
  EXPECT_EQ(back->log_likelihood, kPublished.log_likelihood);
  for (const char* field : {"p", "q", "v", "log_likelihood"}) {
    nlohmann::json broken = json;
    broken[field] = "six";
    EXPECT_EQ(GammaGammaModelFromJson(broken).error().code, ErrorCode::kInvalidArgument) << field;
  }
  nlohmann::json zero = json;
  zero["q"] = 0;
  EXPECT_FALSE(GammaGammaModelFromJson(zero));
}

// Fader & Hardie (2013): p = 6.25, q = 3.74, gamma = 15.44 on the 946 CDNOW repeat buyers. The
// log-likelihood -4055.92 is that of the density of zbar (with the p x ln x term), as in lifetimes.
TEST(GammaGammaTest, FitReproducesCdnow) {
  if (!cdnow::HaveCdnow()) GTEST_SKIP() << cdnow::kNoCdnow;
  const auto customers = cdnow::SummariesOnly(cdnow::ReadCdnowSummaries());
  const auto fit = FitGammaGamma(customers);
  ASSERT_TRUE(fit) << fit.error().client_message;
  EXPECT_TRUE(fit->report.converged);
  EXPECT_EQ(fit->report.observations, 946u);
  EXPECT_NEAR(fit->model.p, 6.25, 0.005 * 6.25);
  EXPECT_NEAR(fit->model.q, 3.74, 0.005 * 3.74);
  EXPECT_NEAR(fit->model.v, 15.44, 0.005 * 15.44);
  EXPECT_NEAR(fit->model.log_likelihood, -4055.92, 0.05);
  EXPECT_LE(*GammaGammaLogLikelihood(kPublished, customers), fit->model.log_likelihood + 1e-6);
  // lifetimes' documentation: conditional expected average profit of CDNOW customers 1 (x = 2,
  // zbar = 22.35) and 3 (x = 0): 24.658619 and 35.170981.
  EXPECT_NEAR(*ExpectedAverageSpend(fit->model, 2, 22.35), 24.6586, 0.01);
  EXPECT_NEAR(*ExpectedAverageSpend(fit->model, 0, 0.0), 35.1710, 0.01);
}

TEST(GammaGammaTest, FitRecoversSimulatedParameters) {
  const GammaGammaModel truth{4.0, 3.0, 20.0, 0.0};
  std::mt19937_64 rng(7);
  std::gamma_distribution<double> customer_rate(truth.q, 1.0 / truth.v);
  std::uniform_int_distribution<int> repeats(1, 12);
  std::vector<PurchaseSummary> customers;
  for (int i = 0; i < 4000; ++i) {
    const double nu = customer_rate(rng);
    std::gamma_distribution<double> amount(truth.p, 1.0 / nu);
    const int x = repeats(rng);
    double total = 0.0;
    for (int k = 0; k < x; ++k) total += amount(rng);
    customers.push_back({x, 1.0, 2.0, total / x});
  }
  customers.push_back({0, 0.0, 5.0, 0.0});  // carries no spend information: skipped
  const auto fit = FitGammaGamma(customers);
  ASSERT_TRUE(fit) << fit.error().client_message;
  EXPECT_TRUE(fit->report.converged);
  EXPECT_EQ(fit->report.observations, 4000u);
  EXPECT_NEAR(fit->model.p, truth.p, 0.15 * truth.p);
  EXPECT_NEAR(fit->model.q, truth.q, 0.15 * truth.q);
  EXPECT_NEAR(fit->model.v, truth.v, 0.2 * truth.v);
}

}  // namespace
}  // namespace cohort::analytics
