// The churn score: monotone by construction, its sign-constrained fit, and AUC.

#include "analytics/churn.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

namespace cohort::analytics {
namespace {

double Risk(const ChurnCoefficients& c, double recency, double frequency, double events) {
  const auto risk = ChurnRisk(c, {recency, frequency, events});
  EXPECT_TRUE(risk);
  return risk ? *risk : -1.0;
}

// Over a grid: more silence never lowers the risk; more purchases or more recent events never raise it.
void ExpectMonotone(const ChurnCoefficients& c) {
  const std::vector<double> recencies{0, 1, 7, 30, 45, 90, 180, 365, 3650};
  const std::vector<double> counts{0, 1, 2, 5, 10, 100, 10000};
  for (double r : recencies)
    for (double f : counts)
      for (double e : counts) {
        const double here = Risk(c, r, f, e);
        EXPECT_GE(here, 0.0);
        EXPECT_LE(here, 1.0);
        EXPECT_GE(Risk(c, r + 10.0, f, e), here) << r << " " << f << " " << e;
        EXPECT_LE(Risk(c, r, f + 1.0, e), here) << r << " " << f << " " << e;
        EXPECT_LE(Risk(c, r, f, e + 1.0), here) << r << " " << f << " " << e;
      }
}

TEST(ChurnTest, DefaultsAreMonotone) { ExpectMonotone(ChurnCoefficients{}); }

// The anchors documented in churn.hpp.
TEST(ChurnTest, DefaultsMatchTheDocumentedAnchors) {
  const ChurnCoefficients c;
  EXPECT_NEAR(Risk(c, 30, 1, 0), 0.37, 0.01);
  EXPECT_NEAR(Risk(c, 60, 1, 0), 0.59, 0.01);
  EXPECT_NEAR(Risk(c, 90, 1, 0), 0.78, 0.01);
  EXPECT_NEAR(Risk(c, 0, 1, 0), 0.20, 0.01);
}

TEST(ChurnTest, RejectsBadFeaturesAndNonMonotoneCoefficients) {
  const ChurnCoefficients c;
  EXPECT_EQ(ChurnRisk(c, {-1.0, 0.0, 0.0}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(ChurnRisk(c, {1.0, std::nan(""), 0.0}));
  EXPECT_FALSE(ChurnRisk(c, {1.0, 0.0, INFINITY}));
  EXPECT_FALSE(ChurnRisk({-1.0, -0.5, -0.6, -0.8}, {1.0, 0.0, 0.0}));  // w1 < 0
  EXPECT_FALSE(ChurnRisk({-1.0, 0.9, 0.6, -0.8}, {1.0, 0.0, 0.0}));    // w2 > 0
  EXPECT_FALSE(ChurnRisk({-1.0, 0.9, -0.6, 0.8}, {1.0, 0.0, 0.0}));    // w3 > 0
}

TEST(ChurnTest, JsonRoundTripKeepsTheSignRule) {
  const ChurnCoefficients c{-0.3, 1.1, -0.2, -0.9};
  const nlohmann::json json = ToJson(c);
  const auto back = ChurnCoefficientsFromJson(json);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->w0, c.w0);
  EXPECT_EQ(back->w1, c.w1);
  EXPECT_EQ(back->w2, c.w2);
  EXPECT_EQ(back->w3, c.w3);
  nlohmann::json wrong_sign = json;
  wrong_sign["w3"] = 0.5;
  EXPECT_EQ(ChurnCoefficientsFromJson(wrong_sign).error().code, ErrorCode::kInvalidArgument);
  nlohmann::json missing = json;
  missing.erase("w0");
  EXPECT_FALSE(ChurnCoefficientsFromJson(missing));
}

// Rows drawn from the logistic model with coefficients `truth` (whatever their signs).
std::vector<ChurnExample> Simulate(const ChurnCoefficients& truth, int rows, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> recency(0.0, 180.0);
  std::geometric_distribution<int> frequency(0.3);
  std::geometric_distribution<int> events(0.1);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<ChurnExample> out;
  for (int i = 0; i < rows; ++i) {
    const ChurnFeatures f{recency(rng), static_cast<double>(frequency(rng)),
                          static_cast<double>(events(rng))};
    const double s = truth.w0 + truth.w1 * f.recency_days / 30.0 + truth.w2 * std::log1p(f.frequency) +
                     truth.w3 * std::log1p(f.events_30d);
    out.push_back({f, unit(rng) < 1.0 / (1.0 + std::exp(-s))});
  }
  return out;
}

TEST(ChurnTest, FitRecoversKnownCoefficients) {
  const ChurnCoefficients truth{-0.5, 0.8, -0.7, -0.5};
  const auto rows = Simulate(truth, 20000, 1234);
  const auto fit = FitChurnCoefficients(rows);
  ASSERT_TRUE(fit) << fit.error().client_message;
  EXPECT_TRUE(fit->report.converged);
  EXPECT_FALSE(fit->report.at_bound);
  EXPECT_EQ(fit->report.observations, rows.size());
  EXPECT_NEAR(fit->coefficients.w0, truth.w0, 0.15);
  EXPECT_NEAR(fit->coefficients.w1, truth.w1, 0.15);
  EXPECT_NEAR(fit->coefficients.w2, truth.w2, 0.15);
  EXPECT_NEAR(fit->coefficients.w3, truth.w3, 0.15);
  EXPECT_LT(fit->report.log_likelihood, 0.0);
  ExpectMonotone(fit->coefficients);
}

// Data in which more recent events go with more churn: the fit must not follow it past zero.
TEST(ChurnTest, FitRespectsTheSignBounds) {
  const ChurnCoefficients wrong_way{-0.5, 0.8, -0.7, 0.6};
  const auto fit = FitChurnCoefficients(Simulate(wrong_way, 10000, 99));
  ASSERT_TRUE(fit) << fit.error().client_message;
  EXPECT_TRUE(fit->report.converged);
  EXPECT_TRUE(fit->report.at_bound);
  EXPECT_EQ(fit->coefficients.w3, 0.0);
  EXPECT_GT(fit->coefficients.w1, 0.3);
  EXPECT_LT(fit->coefficients.w2, -0.1);
  ExpectMonotone(fit->coefficients);
}

TEST(ChurnTest, FitNeedsBothClassesAndValidRows) {
  std::vector<ChurnExample> rows(10, ChurnExample{{10.0, 1.0, 1.0}, true});
  EXPECT_EQ(FitChurnCoefficients(rows).error().code, ErrorCode::kFailedPrecondition);
  rows.push_back({{-5.0, 1.0, 1.0}, false});
  EXPECT_EQ(FitChurnCoefficients(rows).error().code, ErrorCode::kInvalidArgument);
  rows.back().features.recency_days = 5.0;
  EXPECT_FALSE(FitChurnCoefficients(rows, {-1.0}));
  EXPECT_TRUE(FitChurnCoefficients(rows));
}

TEST(ChurnTest, AucOnHandMadeCases) {
  const std::vector<ScoredLabel> perfect{{0.1, false}, {0.2, false}, {0.8, true}, {0.9, true}};
  EXPECT_DOUBLE_EQ(*Auc(perfect), 1.0);
  const std::vector<ScoredLabel> reversed{{0.1, true}, {0.2, true}, {0.8, false}, {0.9, false}};
  EXPECT_DOUBLE_EQ(*Auc(reversed), 0.0);
  const std::vector<ScoredLabel> all_tied{{0.5, true}, {0.5, false}, {0.5, true}, {0.5, false}};
  EXPECT_DOUBLE_EQ(*Auc(all_tied), 0.5);
  // Pairs: 0.5+ beats 0.1- (1) and ties 0.5- (1/2); 0.9+ beats both (2): 3.5 of 4.
  const std::vector<ScoredLabel> some_ties{{0.9, true}, {0.5, false}, {0.1, false}, {0.5, true}};
  EXPECT_DOUBLE_EQ(*Auc(some_ties), 0.875);
}

TEST(ChurnTest, AucNeedsBothClassesAndFiniteScores) {
  EXPECT_FALSE(Auc(std::vector<ScoredLabel>{}));
  EXPECT_FALSE(Auc(std::vector<ScoredLabel>{{0.1, true}, {0.2, true}}));
  EXPECT_FALSE(Auc(std::vector<ScoredLabel>{{0.1, true}, {std::nan(""), false}}));
}

}  // namespace
}  // namespace cohort::analytics
