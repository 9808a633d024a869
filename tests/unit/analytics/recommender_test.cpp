// Recommender: co-occurrence on hand-made baskets, exclusions, filters, cold start, popular-item damping,
// sessions, reasons, and the JSON round trip.

#include "analytics/recommender.hpp"

#include <gtest/gtest.h>

#include "synthetic_retail.hpp"

namespace cohort::analytics {
namespace {

constexpr std::int64_t kDay = 86'400LL * 1'000'000;
constexpr std::int64_t kStart = 1'700'000'000LL * 1'000'000;

domain::Event MakeEvent(const std::string& user, std::string_view type, const std::string& product,
                        std::int64_t ts, const std::string& properties = "{}",
                        const std::string& category = "") {
  domain::Event e;
  e.event_id = user + "-" + product + "-" + std::to_string(ts);
  e.user_id = user;
  e.type = std::string(type);
  e.product_id = product;
  if (!category.empty()) e.category = category;
  e.ts_micros = ts;
  e.properties = properties;
  return e;
}

// One invoice per basket: all its items bought at the same time by `user`.
void AddBasket(std::vector<domain::Event>& events, const std::string& user,
               const std::vector<std::string>& items, std::int64_t ts) {
  const std::string invoice = "{\"invoice\":\"" + user + std::to_string(ts) + "\"}";
  for (const std::string& item : items)
    events.push_back(MakeEvent(user, domain::kPurchase, item, ts, invoice));
}

std::vector<std::string> Ids(const std::vector<Recommendation>& recommendations) {
  std::vector<std::string> ids;
  for (const Recommendation& r : recommendations) ids.push_back(r.product_id);
  return ids;
}

bool Contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// A and B are bought together by five users, A and C by one; D and E form a separate pair.
class RecommenderBasketsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int u = 0; u < 5; ++u) AddBasket(events_, "u" + std::to_string(u), {"A", "B"}, kStart + u * kDay);
    AddBasket(events_, "u5", {"A", "C"}, kStart + 5 * kDay);
    for (int u = 6; u < 9; ++u) AddBasket(events_, "u" + std::to_string(u), {"D", "E"}, kStart + u * kDay);
    catalog_ = {{"A", "kitchen"}, {"B", "kitchen"}, {"C", "garden"}, {"D", "garden"}, {"E", "toys"}};
    model_ = RecommenderModel::Train(events_, {}, catalog_, RecommenderOptions{});
  }

  std::vector<Recommendation> For(const std::vector<domain::Event>& history,
                                  const RecommendQuery& query = {}) {
    UserContext user;
    user.history = history;
    user.now_micros = kStart + 10 * kDay;
    return model_.Recommend(user, query);
  }

  std::vector<domain::Event> events_;
  std::unordered_map<std::string, std::string> catalog_;
  RecommenderModel model_;
};

TEST_F(RecommenderBasketsTest, BoughtTogetherComesFirstWithItsReason) {
  EXPECT_EQ(model_.product_count(), 5u);
  const auto recommendations = For({MakeEvent("x", domain::kPurchase, "A", kStart + 9 * kDay)});
  ASSERT_GE(recommendations.size(), 2u);
  EXPECT_EQ(recommendations[0].product_id, "B");
  EXPECT_EQ(recommendations[0].category, "kitchen");
  EXPECT_EQ(recommendations[0].reason, "bought together with A");
  EXPECT_EQ(recommendations[1].product_id, "C");
  EXPECT_EQ(recommendations[1].reason, "bought together with A");
  for (std::size_t i = 1; i < recommendations.size(); ++i) {
    EXPECT_GE(recommendations[i - 1].score, recommendations[i].score);
  }
  const auto neighbours = model_.Neighbours("A");
  ASSERT_EQ(neighbours.size(), 2u);
  EXPECT_EQ(neighbours[0].first, "B");
  EXPECT_GT(neighbours[0].second, neighbours[1].second);
  EXPECT_TRUE(model_.Neighbours("unknown").empty());
}

TEST_F(RecommenderBasketsTest, ViewedItemsGiveAViewedReason) {
  const auto recommendations = For({MakeEvent("x", domain::kView, "D", kStart + 9 * kDay)});
  ASSERT_FALSE(recommendations.empty());
  EXPECT_EQ(recommendations[0].product_id, "E");
  EXPECT_EQ(recommendations[0].reason, "viewed together with D");
}

TEST_F(RecommenderBasketsTest, PurchasedItemsAreExcludedUnlessAsked) {
  const std::vector<domain::Event> history = {MakeEvent("x", domain::kPurchase, "A", kStart + 8 * kDay),
                                              MakeEvent("x", domain::kPurchase, "B", kStart + 9 * kDay),
                                              MakeEvent("x", domain::kReturn, "B", kStart + 9 * kDay + 1)};
  const auto ids = Ids(For(history));
  EXPECT_FALSE(Contains(ids, "A"));
  EXPECT_FALSE(Contains(ids, "B"));  // bought then returned is still bought
  EXPECT_EQ(ids.size(), 3u);
  RecommendQuery query;
  query.exclude_purchased = false;
  const auto all = Ids(For(history, query));
  EXPECT_TRUE(Contains(all, "A"));
  EXPECT_TRUE(Contains(all, "B"));
}

TEST_F(RecommenderBasketsTest, FiltersAndLimitAreHonoured) {
  const std::vector<domain::Event> history = {MakeEvent("x", domain::kView, "A", kStart + 9 * kDay)};
  RecommendQuery query;
  query.categories = {"garden", "toys"};
  for (const Recommendation& r : For(history, query))
    EXPECT_TRUE(r.category == "garden" || r.category == "toys");
  EXPECT_EQ(For(history, query).size(), 3u);

  query = {};
  query.exclude_categories = {"garden"};
  query.exclude_products = {"B"};
  const auto ids = Ids(For(history, query));
  EXPECT_EQ(ids, (std::vector<std::string>{"A", "E"}));  // the viewed, unbought A stays a candidate

  query = {};
  query.limit = 2;
  EXPECT_EQ(For(history, query).size(), 2u);
  query.limit = 0;
  EXPECT_TRUE(For(history, query).empty());
  query = {};
  query.categories = {"no such category"};
  EXPECT_TRUE(For(history, query).empty());
}

TEST_F(RecommenderBasketsTest, BoundedPairCountDropsTheLightestPairs) {
  RecommenderOptions options;
  options.max_pairs = 2;  // A-B, A-C, D-E: one too many, and A-C is the lightest once D-E is seen again
  const RecommenderModel bounded = RecommenderModel::Train(events_, {}, catalog_, options);
  const auto a = bounded.Neighbours("A");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].first, "B");
  ASSERT_EQ(bounded.Neighbours("D").size(), 1u);
  EXPECT_EQ(bounded.Neighbours("D")[0].first, "E");
  EXPECT_EQ(model_.Neighbours("A").size(), 2u);
}

TEST(RecommenderTest, ColdStartUsesTheCountryThenGlobalPopularity) {
  std::vector<domain::Event> events;
  std::unordered_map<std::string, std::string> country;
  // Globally G1 > G2 > G3 (bought in Great Britain); in Ukraine only L1 (two buyers) and L2 (one).
  for (int u = 0; u < 12; ++u) {
    const std::string user = "gb" + std::to_string(u);
    country[user] = "GB";
    AddBasket(events, user, {"G1"}, kStart + u);
    if (u < 8) AddBasket(events, user, {"G2"}, kStart + kDay + u);
    if (u < 4) AddBasket(events, user, {"G3"}, kStart + 2 * kDay + u);
  }
  for (int u = 0; u < 2; ++u) {
    const std::string user = "ua" + std::to_string(u);
    country[user] = "UA";
    AddBasket(events, user, {"L1"}, kStart + u);
    if (u == 0) AddBasket(events, user, {"L2"}, kStart + kDay);
  }
  const RecommenderModel model = RecommenderModel::Train(events, country, {}, RecommenderOptions{});

  UserContext user;
  user.country = "UA";
  user.country_name = "Ukraine";
  user.now_micros = kStart + 3 * kDay;
  RecommendQuery query;
  query.limit = 4;
  const auto recommendations = model.Recommend(user, query);
  EXPECT_EQ(Ids(recommendations), (std::vector<std::string>{"L1", "L2", "G1", "G2"}));
  ASSERT_EQ(recommendations.size(), 4u);
  EXPECT_EQ(recommendations[0].reason, "popular in Ukraine");
  EXPECT_EQ(recommendations[2].reason, "popular now");

  user.country_name.clear();
  EXPECT_EQ(model.Recommend(user, query)[0].reason, "popular in UA");
  user.country = "ZZ";  // no buyers there: global popularity only
  EXPECT_EQ(Ids(model.Recommend(user, query)), (std::vector<std::string>{"G1", "G2", "G3", "L1"}));
}

// H is in every basket; the real pairs are (P0, P1), (P2, P3), ..., and each P is also bought once with H
// alone, so that H co-occurs with every P more often than its partner does.
std::vector<domain::Event> BasketsWithAHugelyPopularItem() {
  std::vector<domain::Event> events;
  for (int p = 0; p < 20; ++p)
    AddBasket(events, "x" + std::to_string(p), {"P" + std::to_string(p), "H"}, kStart + p);
  for (int pair = 0; pair < 10; ++pair) {
    for (int u = 0; u < 3; ++u) {
      const std::string user = "u" + std::to_string(pair) + "_" + std::to_string(u);
      AddBasket(events, user, {"P" + std::to_string(2 * pair), "P" + std::to_string(2 * pair + 1), "H"},
                kStart + pair * kDay + u);
    }
  }
  for (int u = 0; u < 50; ++u) AddBasket(events, "h" + std::to_string(u), {"H"}, kStart + u);
  return events;
}

TEST(RecommenderTest, DampingKeepsAHugelyPopularItemFromDominatingNeighbours) {
  const auto events = BasketsWithAHugelyPopularItem();
  const RecommenderModel damped = RecommenderModel::Train(events, {}, {}, RecommenderOptions{});
  RecommenderOptions raw_options;
  raw_options.popularity_damping = 0;
  const RecommenderModel raw = RecommenderModel::Train(events, {}, {}, raw_options);
  for (int p = 0; p < 20; ++p) {
    const std::string id = "P" + std::to_string(p);
    const std::string partner = "P" + std::to_string(p ^ 1);
    const auto neighbours = damped.Neighbours(id);
    ASSERT_FALSE(neighbours.empty());
    EXPECT_EQ(neighbours[0].first, partner);
    // Without damping the raw count puts H first: the same data can fail the check above.
    EXPECT_EQ(raw.Neighbours(id)[0].first, "H");
  }
  EXPECT_EQ(damped.Neighbours("H").size(), 20u);
}

TEST(RecommenderTest, SessionsSplitOnInactivityAndLaterSessionsCountLess) {
  std::vector<domain::Event> events;
  for (int u = 0; u < 4; ++u) {
    const std::string user = "u" + std::to_string(u);
    const std::int64_t t = kStart + u * kDay;
    events.push_back(MakeEvent(user, domain::kView, "A", t));
    events.push_back(MakeEvent(user, domain::kView, "B", t + 10LL * 60 * 1'000'000));
    events.push_back(MakeEvent(user, domain::kView, "C", t + 3LL * 3600 * 1'000'000));  // a later session
  }
  std::reverse(events.begin(), events.end());  // any order is accepted
  const RecommenderModel model = RecommenderModel::Train(events, {}, {}, RecommenderOptions{});
  const auto neighbours = model.Neighbours("A");
  ASSERT_EQ(neighbours.size(), 2u);
  EXPECT_EQ(neighbours[0].first, "B");
  EXPECT_EQ(neighbours[1].first, "C");
  EXPECT_GT(neighbours[0].second, neighbours[1].second);

  RecommenderOptions within_sessions;
  within_sessions.cross_session_weight = 0;
  const auto only_b = RecommenderModel::Train(events, {}, {}, within_sessions).Neighbours("A");
  ASSERT_EQ(only_b.size(), 1u);
  EXPECT_EQ(only_b[0].first, "B");

  RecommenderOptions long_sessions = within_sessions;
  long_sessions.session_gap_micros = 4LL * 3600 * 1'000'000;
  EXPECT_EQ(RecommenderModel::Train(events, {}, {}, long_sessions).Neighbours("A").size(), 2u);
}

TEST(RecommenderTest, IgnoredEventTypesTeachNothing) {
  std::vector<domain::Event> events = {MakeEvent("u", domain::kRemoveFromCart, "A", kStart),
                                       MakeEvent("u", domain::kReturn, "B", kStart),
                                       MakeEvent("u", "wishlist", "C", kStart)};
  const RecommenderModel model = RecommenderModel::Train(events, {}, {}, RecommenderOptions{});
  EXPECT_EQ(model.product_count(), 0u);
  UserContext user;
  user.history = events;
  EXPECT_TRUE(model.Recommend(user, {}).empty());
}

TEST(RecommenderTest, JsonRoundTripGivesIdenticalRecommendations) {
  testing::SyntheticRetailOptions options;
  options.users = 300;
  const testing::SyntheticRetail shop = testing::MakeSyntheticRetail(options);
  const RecommenderModel model =
      RecommenderModel::Train(shop.events, shop.user_country, shop.product_category, RecommenderOptions{});
  auto loaded = RecommenderModel::FromJson(nlohmann::json::parse(model.ToJson().dump()));
  ASSERT_TRUE(loaded.ok()) << loaded.error().client_message;
  EXPECT_EQ(loaded->product_count(), model.product_count());
  EXPECT_EQ(loaded->ToJson(), model.ToJson());

  std::unordered_map<std::string, std::vector<domain::Event>> histories;
  for (const domain::Event& e : shop.events) histories[e.user_id].push_back(e);
  int compared = 0;
  for (int u = 0; u < 300; u += 7) {
    UserContext user;
    const std::string id = "U" + std::to_string(u);
    user.history = histories[id];
    user.country = shop.user_country.at(id);
    user.now_micros = shop.Day(options.days);
    const auto expected = model.Recommend(user, {});
    const auto actual = loaded->Recommend(user, {});
    ASSERT_EQ(expected.size(), actual.size());
    ASSERT_EQ(expected.size(), 10u);
    for (std::size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(expected[i].product_id, actual[i].product_id);
      EXPECT_EQ(expected[i].score, actual[i].score);
      EXPECT_EQ(expected[i].reason, actual[i].reason);
    }
    ++compared;
  }
  EXPECT_GT(compared, 40);
}

TEST(RecommenderTest, MalformedJsonIsAnErrorNotACrash) {
  std::vector<domain::Event> events;
  AddBasket(events, "u", {"A", "B"}, kStart);
  const nlohmann::json good =
      RecommenderModel::Train(events, {{"u", "GB"}}, {}, RecommenderOptions{}).ToJson();
  ASSERT_TRUE(RecommenderModel::FromJson(good).ok());

  std::vector<nlohmann::json> bad = {nlohmann::json(), nlohmann::json::array(), nlohmann::json("model")};
  const auto with = [&good](const nlohmann::json::json_pointer& at, nlohmann::json value) {
    nlohmann::json j = good;
    j[at] = std::move(value);
    return j;
  };
  using Pointer = nlohmann::json::json_pointer;
  bad.push_back(with(Pointer("/format"), "other"));
  bad.push_back(with(Pointer("/version"), 99));
  bad.push_back(with(Pointer("/products"), "A"));
  bad.push_back(with(Pointer("/products"), {"A", "A"}));
  bad.push_back(with(Pointer("/product_category"), {0}));
  bad.push_back(with(Pointer("/product_category"), {0, 7}));
  bad.push_back(with(Pointer("/popularity"), {1.0, -1.0}));
  bad.push_back(with(Pointer("/neighbours/ids"), {1, 9}));
  bad.push_back(with(Pointer("/neighbours/offsets"), {0, 2, 1}));
  bad.push_back(with(Pointer("/neighbours/scores"), {0.5}));
  bad.push_back(with(Pointer("/options/view_weight"), -1));
  bad.push_back(with(Pointer("/options/neighbours"), "many"));
  bad.push_back(with(Pointer("/countries/GB/products"), {5}));
  nlohmann::json missing = good;
  missing.erase("neighbours");
  bad.push_back(missing);
  for (const nlohmann::json& j : bad) {
    const auto loaded = RecommenderModel::FromJson(j);
    ASSERT_FALSE(loaded.ok()) << j.dump();
    EXPECT_EQ(loaded.error().code, ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace cohort::analytics
