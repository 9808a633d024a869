// Cost of the recommender, each next to a reference measured in the same run:
//   scoring one user with 200 events of history, next to copying those 200 events (what loading the history
//   costs at the least);
//   training on a synthetic shop of about 1M events, next to sorting the events by user and time (the least a
//   trainer must do).
// After the run, each figure is printed as a ratio to its reference.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "analytics/recommender.hpp"
#include "synthetic_retail.hpp"
#include "bench/common/ratio_reporter.hpp"

namespace cohort::analytics {
namespace {

const testing::SyntheticRetail& Shop() {
  static const testing::SyntheticRetail shop = [] {
    testing::SyntheticRetailOptions options;
    options.users = 16000;
    options.categories = 100;
    options.products_per_category = 50;
    return testing::MakeSyntheticRetail(options);
  }();
  return shop;
}

const RecommenderModel& Model() {
  static const RecommenderModel model = RecommenderModel::Train(
      Shop().events, Shop().user_country, Shop().product_category, RecommenderOptions{});
  return model;
}

// 200 events of the shop's events, relabelled as one user's history.
const std::vector<domain::Event>& History() {
  static const std::vector<domain::Event> history = [] {
    std::vector<domain::Event> events(Shop().events.end() - 200, Shop().events.end());
    for (domain::Event& e : events) e.user_id = "bench-user";
    return events;
  }();
  return history;
}

void BM_CopyHistory(benchmark::State& state) {
  const std::vector<domain::Event>& history = History();
  for (auto _ : state) {
    std::vector<domain::Event> copy = history;
    benchmark::DoNotOptimize(copy.data());
  }
}
BENCHMARK(BM_CopyHistory);

void BM_Recommend(benchmark::State& state) {
  const RecommenderModel& model = Model();
  UserContext user;
  user.history = History();
  user.country = "GB";
  user.now_micros = Shop().events.back().ts_micros;
  const RecommendQuery query;
  for (auto _ : state) {
    auto recommendations = model.Recommend(user, query);
    benchmark::DoNotOptimize(recommendations.data());
  }
  state.counters["products"] = static_cast<double>(model.product_count());
}
BENCHMARK(BM_Recommend);

void BM_SortEventsByUser(benchmark::State& state) {
  const auto& events = Shop().events;
  for (auto _ : state) {
    std::vector<std::uint32_t> order(events.size());
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(), [&events](std::uint32_t a, std::uint32_t b) {
      return events[a].user_id < events[b].user_id ||
             (events[a].user_id == events[b].user_id && events[a].ts_micros < events[b].ts_micros);
    });
    benchmark::DoNotOptimize(order.data());
  }
  state.counters["events"] = static_cast<double>(events.size());
}
BENCHMARK(BM_SortEventsByUser)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_Train(benchmark::State& state) {
  const auto& shop = Shop();
  for (auto _ : state) {
    RecommenderModel model =
        RecommenderModel::Train(shop.events, shop.user_country, shop.product_category, RecommenderOptions{});
    benchmark::DoNotOptimize(model.product_count());
  }
  state.counters["events"] = static_cast<double>(shop.events.size());
}
BENCHMARK(BM_Train)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace cohort::analytics

int main(int argc, char** argv) {
  return cohort::bench::RunBenchmarks(argc, argv, [](const cohort::bench::Timings& timings) {
    cohort::bench::PrintRatios(timings, {{"BM_Recommend", "BM_CopyHistory"}, {"BM_Train", "BM_SortEventsByUser"}});
  });
}
