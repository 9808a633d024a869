// BG/NBD against the published CDNOW results (Fader, Hardie & Lee 2005), the paper's closed forms, and
// awkward data.

#include "analytics/bgnbd.hpp"

#include <gtest/gtest.h>

// Boost 1.74's hypergeometric_pFq.hpp uses lgamma and expm1 without including them.
#include <boost/math/special_functions/expm1.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <boost/math/special_functions/hypergeometric_pFq.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "cdnow_data.hpp"

namespace cohort::analytics {
namespace {

// FHL 2005, table 1 (CDNOW, weeks).
const BgNbdModel kPublished{0.243, 4.414, 0.793, 2.426, TimeUnit::kWeeks, -9582.43};
const PurchaseSummary kCustomer{2, 30.43, 38.86, 0.0};

// FHL eq. 10 as printed, with Boost's 2F1: an independent check of the transformed form bgnbd.cpp uses.
double PaperConditionalExpectation(const BgNbdModel& m, const PurchaseSummary& c, double t) {
  const double x = static_cast<double>(c.x);
  const double z = t / (m.alpha + c.t_cal + t);
  const double f = boost::math::hypergeometric_pFq({m.r + x, m.b + x}, {m.a + m.b + x - 1.0}, z);
  const double bracket = 1.0 - std::pow((m.alpha + c.t_cal) / (m.alpha + c.t_cal + t), m.r + x) * f;
  const double alive =
      1.0 +
      (c.x > 0 ? m.a / (m.b + x - 1.0) * std::pow((m.alpha + c.t_cal) / (m.alpha + c.t_x), m.r + x) : 0.0);
  return (m.a + m.b + x - 1.0) / (m.a - 1.0) * bracket / alive;
}

TEST(BgNbdTest, ConditionalExpectationMatchesThePaper) {
  const auto expected = ConditionalExpectedPurchases(kPublished, kCustomer, 39.0);
  ASSERT_TRUE(expected);
  EXPECT_NEAR(*expected, 1.226, 0.001);
}

TEST(BgNbdTest, NewCustomerNoPurchaseProbabilityMatchesThePaper) {
  const auto p0 = ProbabilityNoPurchaseNewCustomer(kPublished, 39.0);
  ASSERT_TRUE(p0);
  EXPECT_NEAR(*p0, 0.5738, 0.0001);
}

// The paper's 1.444 comes from the unrounded estimates (checked to 0.001 in FitReproducesCdnow); with the
// parameters rounded to three decimals, as published, E[X(52)] is 1.4461: the rounding alone moves it by
// 0.002.
TEST(BgNbdTest, NewCustomerExpectationMatchesThePaperUpToParameterRounding) {
  const auto expected = ExpectedPurchasesNewCustomer(kPublished, 52.0);
  ASSERT_TRUE(expected);
  EXPECT_NEAR(*expected, 1.444, 0.003);
}

TEST(BgNbdTest, AgreesWithThePapersClosedForm) {
  const std::vector<BgNbdModel> models{kPublished,
                                       {0.5, 10.0, 2.5, 4.0, TimeUnit::kDays, 0.0},
                                       {1.2, 3.0, 0.4, 0.3, TimeUnit::kDays, 0.0},  // a + b < 1
                                       {0.2, 50.0, 5.0, 1.5, TimeUnit::kDays, 0.0}};
  const std::vector<PurchaseSummary> customers{{0, 0.0, 0.0, 0.0},
                                               {0, 0.0, 20.0, 0.0},
                                               {2, 30.43, 38.86, 0.0},
                                               {7, 12.0, 40.0, 0.0},
                                               {40, 39.0, 40.0, 0.0}};
  for (const BgNbdModel& m : models)
    for (const PurchaseSummary& c : customers)
      for (double t : {1.0, 39.0, 200.0}) {
        const auto ours = ConditionalExpectedPurchases(m, c, t);
        ASSERT_TRUE(ours);
        const double paper = PaperConditionalExpectation(m, c, t);
        EXPECT_NEAR(*ours, paper, 1e-9 * std::max(1.0, std::abs(paper)))
            << "r=" << m.r << " a=" << m.a << " x=" << c.x << " T=" << c.t_cal << " t=" << t;
      }
}

// The paper's form divides by a - 1; ours is continuous through a = 1.
TEST(BgNbdTest, ExpectationIsContinuousThroughAEqualsOne) {
  BgNbdModel m = kPublished;
  for (const PurchaseSummary& c : {PurchaseSummary{}, kCustomer}) {
    m.a = 1.0;
    const auto at_one = ConditionalExpectedPurchases(m, c, 52.0);
    ASSERT_TRUE(at_one);
    EXPECT_TRUE(std::isfinite(*at_one));
    EXPECT_GT(*at_one, 0.0);
    for (double a : {1.0 - 1e-6, 1.0 + 1e-6}) {
      m.a = a;
      EXPECT_NEAR(*ConditionalExpectedPurchases(m, c, 52.0), *at_one, 1e-5);
    }
  }
}

TEST(BgNbdTest, ExpectationGrowsWithTheHorizon) {
  double previous = 0.0;
  for (double t : {0.0, 1.0, 10.0, 52.0, 520.0, 5200.0}) {
    const double e = *ConditionalExpectedPurchases(kPublished, kCustomer, t);
    EXPECT_GE(e, previous) << t;
    previous = e;
  }
  EXPECT_EQ(*ConditionalExpectedPurchases(kPublished, kCustomer, 0.0), 0.0);
}

// A curve of horizons in one call (each series stops at its own term, and past the switch the integral serves
// a horizon) gives what each horizon gives alone; one bad horizon fails the whole call.
TEST(BgNbdTest, CurveOfHorizonsMatchesEachHorizonAlone) {
  const BgNbdModel wide{0.5, 2.0, 1000.0, 3000.0, TimeUnit::kWeeks, 0.0};
  for (const BgNbdModel& m : {kPublished, wide})
    for (const PurchaseSummary& c : {PurchaseSummary{}, kCustomer}) {
      const std::vector<double> t{52.0, 0.0, 1.0, 4.3, 39.0, 520.0, 1e6, 10.0};
      std::vector<double> curve(t.size(), -1.0);
      ASSERT_TRUE(ConditionalExpectedPurchases(m, c, t, curve));
      for (std::size_t i = 0; i < t.size(); ++i)
        EXPECT_DOUBLE_EQ(curve[i], *ConditionalExpectedPurchases(m, c, t[i])) << "a=" << m.a << " t=" << t[i];
    }
  std::vector<double> curve(3);
  EXPECT_FALSE(ConditionalExpectedPurchases(kPublished, kCustomer, std::vector<double>{1.0, -1.0, 2.0}, curve));
  EXPECT_FALSE(ConditionalExpectedPurchases(kPublished, kCustomer, std::vector<double>{1.0}, curve));
}

TEST(BgNbdTest, ProbabilityAlive) {
  EXPECT_EQ(*ProbabilityAlive(kPublished, {0, 0.0, 30.0, 0.0}), 1.0);  // never bought again: no drop-out seen
  // A long silence since the last purchase lowers it; a recent last purchase raises it.
  const double recent = *ProbabilityAlive(kPublished, {5, 38.0, 39.0, 0.0});
  const double silent = *ProbabilityAlive(kPublished, {5, 10.0, 39.0, 0.0});
  EXPECT_GT(recent, silent);
  EXPECT_GT(recent, 0.8);
  EXPECT_LT(silent, 0.5);
  // FHL eq. 13 by hand for the paper's customer.
  const double odds = 0.793 / (2.426 + 1.0) * std::pow((4.414 + 38.86) / (4.414 + 30.43), 0.243 + 2.0);
  EXPECT_NEAR(*ProbabilityAlive(kPublished, kCustomer), 1.0 / (1.0 + odds), 1e-12);
  // A heavy buyer whose last purchase is long ago: no overflow, just a tiny probability.
  const auto gone = ProbabilityAlive(kPublished, {2000, 1.0, 500.0, 0.0});
  ASSERT_TRUE(gone);
  EXPECT_GE(*gone, 0.0);
  EXPECT_LT(*gone, 1e-6);
}

// With a large a the series would be too long and an integral over the drop-out probability takes over
// (bgnbd.cpp): on both sides of the switch the two must agree.
TEST(BgNbdTest, SeriesAndQuadratureAgreeAtTheSwitch) {
  const BgNbdModel m{0.5, 2.0, 1000.0, 3000.0, TimeUnit::kWeeks, 0.0};
  for (const PurchaseSummary& c : {PurchaseSummary{}, PurchaseSummary{3, 8.0, 10.0, 0.0}}) {
    // The switch is where (a z + 40) / (1 - z) = 1e5.
    const double z_switch = (1e5 - 40.0) / (1e5 + m.a);
    const double base = m.alpha + c.t_cal;
    const double below =
        *ConditionalExpectedPurchases(m, c, base * (z_switch - 1e-9) / (1.0 - z_switch + 1e-9));
    const double above =
        *ConditionalExpectedPurchases(m, c, base * (z_switch + 1e-9) / (1.0 - z_switch - 1e-9));
    EXPECT_NEAR(below, above, 1e-6 * below) << c.x;
  }
}

// With a and b in the millions the drop-out probability is a point mass p = a / (a + b), for which E[Y(t)]
// has a closed form: (1 - (1 + p u)^-(r + x)) / p * P(alive), u = t / (alpha + T).
TEST(BgNbdTest, PointMassDropOutLimit) {
  const BgNbdModel m{0.3, 5.0, 2e6, 8e6, TimeUnit::kWeeks, 0.0};
  for (const PurchaseSummary& c : {PurchaseSummary{}, PurchaseSummary{4, 20.0, 30.0, 0.0}}) {
    const double x = static_cast<double>(c.x);
    const double p = m.a / (m.a + m.b + x);
    const double u = 52.0 / (m.alpha + c.t_cal);
    const double limit = (1.0 - std::pow(1.0 + p * u, -(m.r + x))) / p * *ProbabilityAlive(m, c);
    const auto expected = ConditionalExpectedPurchases(m, c, 52.0);
    ASSERT_TRUE(expected) << expected.error().internal_message;
    EXPECT_NEAR(*expected, limit, 1e-4 * limit) << c.x;
  }
}

// A model in days is the model in weeks with alpha scaled by 7: the same forecasts.
TEST(BgNbdTest, DaysAndWeeksGiveTheSameForecast) {
  BgNbdModel days = kPublished;
  days.alpha *= 7.0;
  days.time_unit = TimeUnit::kDays;
  const PurchaseSummary in_days{kCustomer.x, kCustomer.t_x * 7.0, kCustomer.t_cal * 7.0, 0.0};
  EXPECT_NEAR(*ConditionalExpectedPurchases(days, in_days, 273.0),
              *ConditionalExpectedPurchases(kPublished, kCustomer, 39.0), 1e-9);
  EXPECT_NEAR(*ProbabilityAlive(days, in_days), *ProbabilityAlive(kPublished, kCustomer), 1e-12);
}

TEST(BgNbdTest, RejectsInvalidInput) {
  BgNbdModel bad = kPublished;
  bad.r = -1.0;
  EXPECT_EQ(ConditionalExpectedPurchases(bad, kCustomer, 1.0).error().code, ErrorCode::kInvalidArgument);
  bad = kPublished;
  bad.alpha = std::nan("");
  EXPECT_FALSE(ExpectedPurchasesNewCustomer(bad, 1.0));
  EXPECT_FALSE(ProbabilityAlive(bad, kCustomer));
  EXPECT_FALSE(ProbabilityNoPurchaseNewCustomer(bad, 1.0));
  EXPECT_FALSE(ConditionalExpectedPurchases(kPublished, kCustomer, -1.0));
  EXPECT_FALSE(ConditionalExpectedPurchases(kPublished, kCustomer, std::nan("")));
  EXPECT_FALSE(ProbabilityAlive(kPublished, {2, 40.0, 38.0, 0.0}));  // t_x > T
  EXPECT_FALSE(ProbabilityAlive(kPublished, {-1, 0.0, 38.0, 0.0}));
  EXPECT_FALSE(ProbabilityAlive(kPublished, {0, 3.0, 38.0, 0.0}));  // recency without a repeat purchase
  const std::vector<PurchaseSummary> one{kCustomer, {1, 5.0, 2.0, 0.0}};
  EXPECT_EQ(FitBgNbd(one, TimeUnit::kWeeks).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(BgNbdLogLikelihood(kPublished, one).error().code, ErrorCode::kInvalidArgument);
}

TEST(BgNbdTest, FitNeedsRepeatPurchasesAndTime) {
  EXPECT_EQ(FitBgNbd({}, TimeUnit::kWeeks).error().code, ErrorCode::kFailedPrecondition);
  const std::vector<PurchaseSummary> no_repeat(100, PurchaseSummary{0, 0.0, 20.0, 0.0});
  EXPECT_EQ(FitBgNbd(no_repeat, TimeUnit::kWeeks).error().code, ErrorCode::kFailedPrecondition);
  const std::vector<PurchaseSummary> no_time(100, PurchaseSummary{});
  EXPECT_EQ(FitBgNbd(no_time, TimeUnit::kWeeks).error().code, ErrorCode::kFailedPrecondition);
}

TEST(BgNbdTest, JsonRoundTrip) {
  const nlohmann::json json = ToJson(kPublished);
  EXPECT_EQ(json["time_unit"], "weeks");
  const auto back = BgNbdModelFromJson(json);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->r, kPublished.r);
  EXPECT_EQ(back->alpha, kPublished.alpha);
  EXPECT_EQ(back->a, kPublished.a);
  EXPECT_EQ(back->b, kPublished.b);
  EXPECT_EQ(back->log_likelihood, kPublished.log_likelihood);
  EXPECT_EQ(back->time_unit, TimeUnit::kWeeks);
  for (const char* field : {"r", "alpha", "a", "b", "time_unit", "log_likelihood"}) {
    nlohmann::json broken = json;
    broken.erase(field);
    EXPECT_EQ(BgNbdModelFromJson(broken).error().code, ErrorCode::kInvalidArgument) << field;
  }
  nlohmann::json negative = json;
  negative["a"] = -0.5;
  EXPECT_FALSE(BgNbdModelFromJson(negative));
  nlohmann::json unit = json;
  unit["time_unit"] = "fortnights";
  EXPECT_FALSE(BgNbdModelFromJson(unit));
  EXPECT_FALSE(BgNbdModelFromJson(nlohmann::json::array()));
}

TEST(BgNbdTest, FitReproducesCdnow) {
  if (!cdnow::HaveCdnow()) GTEST_SKIP() << cdnow::kNoCdnow;
  const auto customers = cdnow::SummariesOnly(cdnow::ReadCdnowSummaries());
  const auto fit = FitBgNbd(customers, TimeUnit::kWeeks);
  ASSERT_TRUE(fit) << fit.error().client_message;
  EXPECT_TRUE(fit->report.converged);
  EXPECT_FALSE(fit->report.at_bound);
  EXPECT_EQ(fit->report.observations, 2357u);
  EXPECT_NEAR(fit->model.r, 0.243, 0.005 * 0.243);
  EXPECT_NEAR(fit->model.alpha, 4.414, 0.005 * 4.414);
  EXPECT_NEAR(fit->model.a, 0.793, 0.005 * 0.793);
  EXPECT_NEAR(fit->model.b, 2.426, 0.005 * 2.426);
  EXPECT_NEAR(fit->model.log_likelihood, -9582.43, 0.05);
  EXPECT_EQ(fit->report.log_likelihood, fit->model.log_likelihood);
  EXPECT_NEAR(*ExpectedPurchasesNewCustomer(fit->model, 52.0), 1.444, 0.001);
  EXPECT_NEAR(*ConditionalExpectedPurchases(fit->model, kCustomer, 39.0), 1.226, 0.001);
  // The published parameters are no better than the fit.
  EXPECT_LE(*BgNbdLogLikelihood(kPublished, customers), fit->model.log_likelihood + 1e-6);
}

// Draws customers from the BG/NBD process itself.
std::vector<PurchaseSummary> SimulateBgNbd(const BgNbdModel& m, int customers, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::gamma_distribution<double> rate(m.r, 1.0 / m.alpha);
  std::gamma_distribution<double> beta_a(m.a, 1.0);
  std::gamma_distribution<double> beta_b(m.b, 1.0);
  std::uniform_real_distribution<double> age(10.0, 60.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<PurchaseSummary> out;
  for (int i = 0; i < customers; ++i) {
    const double lambda = rate(rng);
    const double ga = beta_a(rng);
    const double p = ga / (ga + beta_b(rng));
    const double t_cal = age(rng);
    PurchaseSummary c{0, 0.0, t_cal, 0.0};
    std::exponential_distribution<double> gap(lambda);
    double now = 0.0;
    while (true) {
      now += gap(rng);
      if (now > t_cal) break;
      ++c.x;
      c.t_x = now;
      if (unit(rng) < p) break;  // drops out after this purchase
    }
    out.push_back(c);
  }
  return out;
}

TEST(BgNbdTest, FitRecoversSimulatedParameters) {
  const BgNbdModel truth{0.5, 6.0, 0.8, 2.5, TimeUnit::kWeeks, 0.0};
  const auto customers = SimulateBgNbd(truth, 8000, 20261201);
  const auto fit = FitBgNbd(customers, TimeUnit::kWeeks);
  ASSERT_TRUE(fit) << fit.error().client_message;
  EXPECT_TRUE(fit->report.converged);
  EXPECT_NEAR(fit->model.r, truth.r, 0.2 * truth.r);
  EXPECT_NEAR(fit->model.alpha, truth.alpha, 0.2 * truth.alpha);
  EXPECT_NEAR(fit->model.a, truth.a, 0.3 * truth.a);
  EXPECT_NEAR(fit->model.b, truth.b, 0.3 * truth.b);
  EXPECT_GE(fit->model.log_likelihood, *BgNbdLogLikelihood(truth, customers));
}

// 5,000 one-time buyers and five heavy buyers: the data pin the parameters down badly, the fit must still
// stop at a finite, stationary, better-than-the-starts point whose forecasts are finite.
TEST(BgNbdTest, FitConvergesOnAFewHeavyBuyersAmongManyOneTimeBuyers) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> age(1.0, 52.0);
  std::vector<PurchaseSummary> customers;
  for (int i = 0; i < 5000; ++i) customers.push_back({0, 0.0, age(rng), 0.0});
  for (int i = 0; i < 5; ++i) customers.push_back({40 + 10 * i, 51.5, 52.0, 0.0});  // bought last week
  const auto fit = FitBgNbd(customers, TimeUnit::kWeeks);
  ASSERT_TRUE(fit) << fit.error().client_message;
  EXPECT_TRUE(fit->report.converged);
  EXPECT_TRUE(std::isfinite(fit->model.log_likelihood));
  EXPECT_GE(fit->model.log_likelihood, *BgNbdLogLikelihood(kPublished, customers));
  EXPECT_GE(fit->model.log_likelihood,
            *BgNbdLogLikelihood({1.0, 1.0, 1.0, 1.0, TimeUnit::kWeeks, 0.0}, customers));
  for (const PurchaseSummary& c : {customers.front(), customers.back()}) {
    const auto alive = ProbabilityAlive(fit->model, c);
    ASSERT_TRUE(alive);
    EXPECT_TRUE(*alive >= 0.0 && *alive <= 1.0);
    const auto expected = ConditionalExpectedPurchases(fit->model, c, 52.0);
    ASSERT_TRUE(expected) << expected.error().internal_message;
    EXPECT_TRUE(std::isfinite(*expected) && *expected >= 0.0);
  }
  // The heavy buyers, still buying at the end, are expected to go on buying.
  EXPECT_GT(*ConditionalExpectedPurchases(fit->model, customers.back(), 52.0), 10.0);
}

TEST(BgNbdTest, FitConvergesWhenAlmostNobodyComesBack) {
  std::vector<PurchaseSummary> customers(3000, PurchaseSummary{0, 0.0, 30.0, 0.0});
  customers.push_back({1, 2.0, 30.0, 0.0});
  customers.push_back({1, 25.0, 30.0, 0.0});
  customers.push_back({2, 10.0, 30.0, 0.0});
  const auto fit = FitBgNbd(customers, TimeUnit::kWeeks);
  ASSERT_TRUE(fit) << fit.error().client_message;
  EXPECT_TRUE(fit->report.converged);
  EXPECT_TRUE(std::isfinite(fit->model.log_likelihood));
  const auto expected = ExpectedPurchasesNewCustomer(fit->model, 52.0);
  ASSERT_TRUE(expected);
  EXPECT_LT(*expected, 0.01);  // about 4 repeat purchases in 3,003 customers over 30 weeks
}

}  // namespace
}  // namespace cohort::analytics
