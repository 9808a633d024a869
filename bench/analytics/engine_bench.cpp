// Cost of one user's full answer (features, segment, churn, P(alive), lifetime value both ways and the top 10
// recommendations) for a user with 200 events, next to the reference measured in the same run: reading those
// 200 events from a SQLite event store (EventStore::UserEvents). The model is trained with ModelTrainer on a
// synthetic shop of 20k users, whose events also fill the store so that the read goes through a real index.
// The store lives in a temporary folder removed at exit. After the run, each figure is printed as a ratio to
// the read.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "analytics/engine.hpp"
#include "analytics/recommender.hpp"
#include "analytics/trainer.hpp"
#include "store/events/sql_event_store.hpp"
#include "synthetic_retail.hpp"
#include "bench/common/ratio_reporter.hpp"

namespace cohort::analytics {
namespace {

constexpr std::size_t kHistory = 200;
constexpr char kUser[] = "bench-user";

struct Fixture {
  testing::SyntheticRetail shop;
  std::vector<domain::Event> history;  // the bench user's events, as read from the store
  UserProfile profile;
  std::int64_t now_micros = 0;
  Model model;
  std::filesystem::path folder;
  std::unique_ptr<store::EventStore> store;

  ~Fixture() {
    store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(folder, ignored);
  }
};

[[noreturn]] void Fail(const std::string& what, const Error& error) {
  std::fprintf(stderr, "engine_bench setup: %s: %s\n", what.c_str(), error.client_message.c_str());
  std::exit(1);
}

Fixture& Setup() {
  static const std::unique_ptr<Fixture> f = [] {
    auto owned = std::make_unique<Fixture>();
    Fixture& fx = *owned;
    testing::SyntheticRetailOptions options;
    options.users = 20000;
    options.categories = 100;
    options.products_per_category = 50;
    fx.shop = testing::MakeSyntheticRetail(options);
    fx.now_micros = fx.shop.events.back().ts_micros;

    // The bench user: the shop's last 200 events relabelled, so their products are in the model.
    for (std::size_t i = fx.shop.events.size() - kHistory; i < fx.shop.events.size(); ++i) {
      domain::Event e = fx.shop.events[i];
      e.event_id = "B";
      e.event_id += std::to_string(i);
      e.user_id = kUser;
      fx.history.push_back(std::move(e));
    }
    fx.profile.id = kUser;
    fx.profile.country = "GB";
    fx.profile.country_name = "United Kingdom";
    fx.profile.registered_micros = fx.history.front().ts_micros;

    TrainOptions train;
    train.until_micros = EndOfUtcDay(fx.now_micros);
    ModelTrainer trainer(train);
    std::unordered_map<std::string, std::vector<domain::Event>> by_user;
    for (const domain::Event& e : fx.shop.events) by_user[e.user_id].push_back(e);
    for (const auto& [user, events] : by_user) {
      UserProfile profile;
      profile.id = user;
      profile.country = fx.shop.user_country.at(user);
      trainer.AddUser(profile, events);
    }
    trainer.AddUser(fx.profile, fx.history);
    auto model = trainer.Finish(fx.shop.product_category, [](std::string_view) {});
    if (!model) Fail("training", model.error());
    fx.model = std::move(*model);

    fx.folder =
        std::filesystem::temp_directory_path() / ("cohort-engine-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(fx.folder);
    auto opened = store::OpenSqlEventStore((fx.folder / "events.db").string(), "", 1);
    if (!opened) Fail("opening the store", opened.error());
    fx.store = std::move(*opened);
    if (auto migrated = fx.store->Migrate(); !migrated) Fail("migrating", migrated.error());
    constexpr std::size_t kBatch = 10000;
    for (std::size_t i = 0; i < fx.shop.events.size(); i += kBatch) {
      const std::size_t n = std::min(kBatch, fx.shop.events.size() - i);
      if (auto appended = fx.store->Append(std::span(fx.shop.events).subspan(i, n)); !appended)
        Fail("appending the shop", appended.error());
    }
    if (auto appended = fx.store->Append(fx.history); !appended) Fail("appending the user", appended.error());
    // The answers are computed on what the store gives back, as the server does.
    auto read = fx.store->UserEvents({.user_id = kUser, .limit = kHistory});
    if (!read) Fail("reading the user", read.error());
    if (read->size() != kHistory) {
      std::fprintf(stderr, "engine_bench setup: read %zu events, expected %zu\n", read->size(), kHistory);
      std::exit(1);
    }
    fx.history = std::move(*read);
    return owned;
  }();
  return *f;
}

void BM_ReadUserEvents(benchmark::State& state) {
  Fixture& f = Setup();
  const store::EventQuery query{.user_id = kUser, .limit = kHistory};
  for (auto _ : state) {
    auto events = f.store->UserEvents(query);
    benchmark::DoNotOptimize(events);
  }
  state.counters["events"] = static_cast<double>(kHistory);
}
BENCHMARK(BM_ReadUserEvents);

// The answer the server gives: the insight and, with a model, the top 10 recommendations.
void FullAnswer(benchmark::State& state, const Model* model) {
  Fixture& f = Setup();
  const EngineOptions options;
  UserContext user;
  user.history = f.history;
  user.country = f.profile.country;
  user.country_name = f.profile.country_name;
  user.now_micros = f.now_micros;
  const RecommendQuery query{.limit = 10};
  for (auto _ : state) {
    Insight insight = ScoreUser(model, f.profile, f.history, f.now_micros, options);
    benchmark::DoNotOptimize(insight);
    if (model != nullptr) {
      auto recommendations = model->recommender.Recommend(user, query);
      benchmark::DoNotOptimize(recommendations.data());
    }
  }
}

void BM_FullAnswer(benchmark::State& state) {
  FullAnswer(state, &Setup().model);
  state.counters["products"] = static_cast<double>(Setup().model.recommender.product_count());
}
BENCHMARK(BM_FullAnswer);

// Without a model: the features, the default churn score and the simple lifetime value, no recommendations.
void BM_FullAnswerNoModel(benchmark::State& state) { FullAnswer(state, nullptr); }
BENCHMARK(BM_FullAnswerNoModel);

}  // namespace
}  // namespace cohort::analytics

int main(int argc, char** argv) {
  return cohort::bench::RunBenchmarks(argc, argv, [](const cohort::bench::Timings& timings) {
    cohort::bench::PrintRatios(timings,
                               {{"BM_FullAnswer", "BM_ReadUserEvents"}, {"BM_FullAnswerNoModel", "BM_ReadUserEvents"}});
  });
}
