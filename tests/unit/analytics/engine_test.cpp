// Features from events, the per-user answer of the engine, and the saved model's round trip.

#include "analytics/engine.hpp"

#include <gtest/gtest.h>

#include "analytics/trainer.hpp"

namespace cohort::analytics {
namespace {

constexpr std::int64_t kDay = kMicrosPerDay;
constexpr std::int64_t kNow = 20'000 * kDay;  // 2024-10-04, midnight UTC

domain::Event Make(std::string type, std::int64_t ts, std::string product = "p1", double price = 10,
                   std::int64_t quantity = 1, std::string category = "books") {
  domain::Event e;
  e.event_id = type + std::to_string(ts) + product;
  e.user_id = "u1";
  e.type = std::move(type);
  e.product_id = std::move(product);
  e.category = std::move(category);
  e.price = price;
  e.quantity = quantity;
  e.ts_micros = ts;
  return e;
}

TEST(FeaturesTest, OnePassOverTheEvents) {
  const std::vector<domain::Event> events = {
      Make("view", kNow - 100 * kDay, "p1", 10, 1, "books"),
      Make("purchase", kNow - 60 * kDay, "p1", 10, 2, "books"),  // 20
      Make("purchase", kNow - 60 * kDay + 3600'000'000, "p2", 5, 1, "music"),  // same day: one purchase
      Make("purchase", kNow - 20 * kDay, "p3", 30, 1, "books"),
      Make("return", kNow - 19 * kDay, "p3", 30, 1, "books"),
      Make("add_to_cart", kNow - 5 * kDay, "p4", 7, 1, "games"),
      Make("view", kNow - 1 * kDay, "p4", 7, 1, "games"),
      Make("view", kNow + 1 * kDay, "p5", 7, 1, "games"),  // after now: ignored
  };
  const UserFeatures f = ComputeFeatures(events, kNow, TimeUnit::kDays);
  EXPECT_EQ(f.events, 7);
  EXPECT_EQ(f.purchases, 2);
  EXPECT_EQ(f.repeat_purchases, 1);
  EXPECT_DOUBLE_EQ(f.revenue, 20 + 5 + 30 - 30);
  EXPECT_DOUBLE_EQ(f.average_order_value, 25.0 / 2);
  EXPECT_EQ(f.events_7d, 2);
  EXPECT_EQ(f.events_30d, 4);
  EXPECT_EQ(f.events_90d, 6);
  EXPECT_EQ(f.views_30d, 1);
  EXPECT_EQ(f.carts_30d, 1);
  EXPECT_EQ(*f.last_activity_micros, kNow - kDay);
  EXPECT_EQ(*f.first_purchase_micros, kNow - 60 * kDay);
  EXPECT_EQ(f.summary.x, 1);
  EXPECT_DOUBLE_EQ(f.summary.t_x, 40);
  EXPECT_DOUBLE_EQ(f.summary.t_cal, 60);
  ASSERT_EQ(f.category_shares.size(), 3U);
  EXPECT_EQ(f.category_shares[0].first, "books");
  EXPECT_DOUBLE_EQ(f.category_shares[0].second, 4.0 / 7);
  EXPECT_DOUBLE_EQ(*f.DaysSinceActivity(kNow), 1.0);
}

TEST(FeaturesTest, NoEventsMeansNeverActive) {
  const UserFeatures f = ComputeFeatures({}, kNow, TimeUnit::kDays);
  EXPECT_EQ(f.events, 0);
  EXPECT_FALSE(f.DaysSinceActivity(kNow));
  EXPECT_EQ(f.purchases, 0);
}

// A year of one user's events in an order that is not time order, with views, carts, purchases and returns.
std::vector<domain::Event> Year() {
  std::vector<domain::Event> events;
  const char* types[] = {"view", "add_to_cart", "purchase", "view", "return", "view", "purchase"};
  const char* categories[] = {"books", "music", "games"};
  for (int i = 0; i < 140; ++i) {
    const std::int64_t ts = kNow - ((i * 37) % 365) * kDay - (i % 5) * 3600'000'000LL;
    events.push_back(Make(types[i % 7], ts, "p" + std::to_string(i % 11), 3.5 + i % 9, 1 + i % 3, categories[i % 3]));
  }
  return events;
}

TEST(FeatureStateTest, StoredStateGivesTheComputedFeaturesAtAnyLaterMoment) {
  const std::vector<domain::Event> events = Year();
  FeatureState state;
  for (const auto& e : events) state.Add(e);
  auto stored = FeatureState::FromJson(nlohmann::json::parse(state.ToJson().dump()));
  ASSERT_TRUE(stored.ok()) << stored.error().client_message;
  EXPECT_EQ(stored->events(), 140);
  // The stored JSON dropped the window entries older than 90 days before the last event: no later moment needs
  // them, so the features agree with a pass over every event, today and as time goes by.
  EXPECT_LT(stored->ToJson()["recent"].size(), events.size());
  for (std::int64_t later : {0, 1, 6, 8, 29, 31, 89, 91, 400}) {
    const std::int64_t now = kNow + later * kDay;
    for (TimeUnit unit : {TimeUnit::kDays, TimeUnit::kWeeks})
      EXPECT_EQ(stored->Features(now, unit), ComputeFeatures(events, now, unit)) << "days after: " << later;
  }
  // Folding the same events in another order gives the same state.
  FeatureState reversed;
  for (auto it = events.rbegin(); it != events.rend(); ++it) reversed.Add(*it);
  const UserFeatures a = reversed.Features(kNow, TimeUnit::kDays);
  const UserFeatures b = state.Features(kNow, TimeUnit::kDays);
  EXPECT_EQ(a.events_30d, b.events_30d);
  EXPECT_EQ(a.summary.x, b.summary.x);
  EXPECT_NEAR(a.revenue, b.revenue, 1e-9);
}

TEST(FeatureStateTest, RejectsStatesItDidNotWrite) {
  FeatureState state;
  for (const auto& e : Year()) state.Add(e);
  const nlohmann::json good = state.ToJson();
  EXPECT_TRUE(FeatureState::FromJson(good).ok());
  auto with = [&](const std::string& key, nlohmann::json value) {
    nlohmann::json j = good;
    j[key] = std::move(value);
    return FeatureState::FromJson(j);
  };
  EXPECT_FALSE(FeatureState::FromJson(nlohmann::json::array()).ok());
  EXPECT_FALSE(with("version", 2).ok());
  EXPECT_FALSE(with("events", -1).ok());
  EXPECT_FALSE(with("last_activity_micros", nullptr).ok());
  EXPECT_FALSE(with("purchases", nlohmann::json::array({nlohmann::json::array({1, -5.0})})).ok());
  EXPECT_FALSE(with("recent", nlohmann::json::array({nlohmann::json::array({1, 3})})).ok());
  EXPECT_FALSE(with("categories", {{"books", 0}}).ok());
  EXPECT_FALSE(with("returned", "x").ok());
}

UserProfile Profile() { return {"u1", kNow - 400 * kDay, "UA", "Ukraine"}; }

// The same history moved `shift` days closer to now.
std::vector<domain::Event> History(std::int64_t shift_days) {
  std::vector<domain::Event> events;
  for (int i = 0; i < 4; ++i) events.push_back(Make("purchase", kNow - (200 - 30 * i - shift_days) * kDay));
  return events;
}

TEST(EngineTest, MoreRecentActivityNeverRaisesChurnRisk) {
  double previous = 1.0;
  for (std::int64_t shift = 0; shift <= 100; shift += 5) {
    const auto events = History(shift);
    const Insight insight = ScoreUser(nullptr, Profile(), events, kNow, {});
    EXPECT_LE(insight.churn_risk, previous + 1e-12) << "shift " << shift;
    previous = insight.churn_risk;
  }
}

TEST(EngineTest, WithoutAModelTheSimpleLifetimeValueAnswers) {
  const auto events = History(100);
  const Insight insight = ScoreUser(nullptr, Profile(), events, kNow, {});
  EXPECT_FALSE(insight.p_alive);
  EXPECT_FALSE(insight.ltv_probabilistic);
  EXPECT_EQ(insight.ltv().method, kClvMethodSimple);
  EXPECT_GT(insight.ltv().value, 0);
  EXPECT_EQ(insight.ToJson(kNow)["ltv"]["method"], "simple");
}

Model PublishedModel() {
  Model m;
  m.version = "v1";
  m.time_unit = TimeUnit::kWeeks;
  m.bgnbd = BgNbdFit{{0.243, 4.414, 0.793, 2.426, TimeUnit::kWeeks, -9582.43}, {}};
  m.gamma_gamma = GammaGammaFit{{6.25, 3.74, 15.44, -4055.92}, {}};
  return m;
}

TEST(EngineTest, WithAModelPAliveAndProbabilisticValue) {
  const Model m = PublishedModel();
  const auto events = History(100);
  const Insight insight = ScoreUser(&m, Profile(), events, kNow, {});
  ASSERT_TRUE(insight.p_alive);
  EXPECT_GT(*insight.p_alive, 0);
  EXPECT_LE(*insight.p_alive, 1);
  ASSERT_TRUE(insight.ltv_probabilistic);
  EXPECT_EQ(insight.ltv().method, kClvMethodProbabilistic);
  // A customer who stopped long ago is less likely alive than one who bought last week.
  const auto old = History(0);
  EXPECT_LT(*ScoreUser(&m, Profile(), old, kNow, {}).p_alive, *insight.p_alive);
}

TEST(EngineTest, SavedModelRoundTrips) {
  TrainOptions options;
  options.until_micros = kNow;
  options.version = "20240101T000000.000000Z";
  options.trained_at = "2024-01-01T00:00:00Z";
  ModelTrainer trainer(options);
  for (int u = 0; u < 40; ++u) {
    std::vector<domain::Event> events;
    for (int i = 0; i <= u % 5; ++i) {
      auto e = Make("purchase", kNow - (300 - 40 * i - u) * kDay, "p" + std::to_string((u + i) % 7), 10.0 + u);
      e.user_id = "u" + std::to_string(u);
      events.push_back(e);
    }
    trainer.AddUser({"u" + std::to_string(u), kNow - 500 * kDay, "UA", "Ukraine"}, events);
  }
  auto model = trainer.Finish({}, [](std::string_view) {});
  ASSERT_TRUE(model) << model.error().internal_message;
  ASSERT_TRUE(model->bgnbd);
  std::int64_t users = 0;
  for (const auto& s : model->segments) users += s.users;
  EXPECT_EQ(users, 40);

  auto loaded = ModelFromJson(nlohmann::json::parse(ModelToJson(*model).dump()));
  ASSERT_TRUE(loaded) << loaded.error().client_message;
  EXPECT_EQ(ModelSummaryJson(*loaded)["segments"], ModelSummaryJson(*model)["segments"]);
  EXPECT_EQ(ModelSummaryJson(*loaded)["churn"], ModelSummaryJson(*model)["churn"]);
  EXPECT_EQ(loaded->version, model->version);
  EXPECT_DOUBLE_EQ(loaded->bgnbd->model.r, model->bgnbd->model.r);
  EXPECT_DOUBLE_EQ(loaded->vip_revenue_cut, model->vip_revenue_cut);
  EXPECT_EQ(loaded->recommender.product_count(), model->recommender.product_count());

  nlohmann::json broken = ModelToJson(*model);
  broken.erase("churn");
  EXPECT_FALSE(ModelFromJson(broken));
  EXPECT_FALSE(ModelFromJson(nlohmann::json::array()));
}

}  // namespace
}  // namespace cohort::analytics
