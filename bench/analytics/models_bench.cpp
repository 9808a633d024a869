// Cost of the probabilistic models on the CDNOW sample (2,357 customers, weeks), each next to a reference
// measured in the same run:
//   fits: FitBgNbd and FitGammaGamma, as multiples of one BgNbdLogLikelihood pass over all customers;
//   serving: ConditionalExpectedPurchases (52 weeks) and ProbabilisticClv (12 months) for one customer, as
//   multiples of ProbabilityAlive (a closed form) for the same customer.
// The data come from ../shared/data/cdnow beside the checkout; without them every benchmark reports an error.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "analytics/bgnbd.hpp"
#include "analytics/clv.hpp"
#include "analytics/gamma_gamma.hpp"
#include "common/csv.hpp"
#include "bench/common/ratio_reporter.hpp"

namespace cohort::analytics {
namespace {

const BgNbdModel kBgNbd{0.243, 4.414, 0.793, 2.426, TimeUnit::kWeeks, 0.0};
const GammaGammaModel kGammaGamma{6.25, 3.74, 15.44, 0.0};
const PurchaseSummary kCustomer{2, 30.43, 38.86, 22.35};

const std::vector<PurchaseSummary>& Cdnow() {
  static const std::vector<PurchaseSummary> customers = [] {
    std::vector<PurchaseSummary> out;
    std::ifstream in(std::filesystem::path(COHORT_SHARED_DATA_DIR) / "cdnow" /
                     "cdnow_customers_summary_with_transactions.csv");
    CsvReader reader(in);
    std::vector<std::string> fields;
    reader.Next(fields);  // ID,x,t_x,T,zbar
    while (reader.Next(fields))
      if (fields.size() == 5)
        out.push_back(
            {std::stoll(fields[1]), std::stod(fields[2]), std::stod(fields[3]), std::stod(fields[4])});
    return out;
  }();
  return customers;
}

bool HaveData(benchmark::State& state) {
  if (!Cdnow().empty()) return true;
  state.SkipWithError("CDNOW data not found beside the checkout (shared/data/cdnow)");
  return false;
}

void BM_BgNbdLogLikelihoodPass(benchmark::State& state) {
  if (!HaveData(state)) return;
  for (auto _ : state) benchmark::DoNotOptimize(BgNbdLogLikelihood(kBgNbd, Cdnow()));
}
BENCHMARK(BM_BgNbdLogLikelihoodPass)->Unit(benchmark::kMicrosecond);

void BM_FitBgNbd(benchmark::State& state) {
  if (!HaveData(state)) return;
  for (auto _ : state) benchmark::DoNotOptimize(FitBgNbd(Cdnow(), TimeUnit::kWeeks));
}
BENCHMARK(BM_FitBgNbd)->Unit(benchmark::kMillisecond);

void BM_FitGammaGamma(benchmark::State& state) {
  if (!HaveData(state)) return;
  for (auto _ : state) benchmark::DoNotOptimize(FitGammaGamma(Cdnow()));
}
BENCHMARK(BM_FitGammaGamma)->Unit(benchmark::kMillisecond);

void BM_ProbabilityAlive(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ProbabilityAlive(kBgNbd, kCustomer));
}
BENCHMARK(BM_ProbabilityAlive);

void BM_ConditionalExpectedPurchases(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ConditionalExpectedPurchases(kBgNbd, kCustomer, 52.0));
}
BENCHMARK(BM_ConditionalExpectedPurchases);

void BM_ProbabilisticClv(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ProbabilisticClv(kBgNbd, kGammaGamma, kCustomer));
}
BENCHMARK(BM_ProbabilisticClv);

}  // namespace
}  // namespace cohort::analytics

int main(int argc, char** argv) {
  return cohort::bench::RunBenchmarks(argc, argv, [](const cohort::bench::Timings& timings) {
    cohort::bench::PrintRatios(timings, {{"BM_FitBgNbd", "BM_BgNbdLogLikelihoodPass"},
                                         {"BM_FitGammaGamma", "BM_BgNbdLogLikelihoodPass"},
                                         {"BM_ConditionalExpectedPurchases", "BM_ProbabilityAlive"},
                                         {"BM_ProbabilisticClv", "BM_ProbabilityAlive"}});
  });
}
