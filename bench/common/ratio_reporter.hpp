#pragma once
// The console reporter of every Google Benchmark program here: it keeps each benchmark's time per iteration (the
// median when repetitions are asked for, else the single run) and, once all have run, hands them to a summary
// that prints ratios against a reference measured in the same run.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace cohort::bench {

struct Timing {
  double real_seconds = 0;  // per iteration
  double cpu_seconds = 0;
};

// By benchmark name as printed ("BM_Train/iterations:3") and by function name ("BM_Train").
using Timings = std::map<std::string, Timing>;

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  using Summary = std::function<void(const Timings&)>;
  explicit RatioReporter(Summary summary) : summary_(std::move(summary)) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      if (run.error_occurred) continue;
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.run_type != Run::RT_Iteration && !median) continue;
      const double unit = benchmark::GetTimeUnitMultiplier(run.time_unit);
      const Timing timing{run.GetAdjustedRealTime() / unit, run.GetAdjustedCPUTime() / unit};
      for (const std::string& name : {run.run_name.str(), run.run_name.function_name}) {
        if (median || !from_median_[name]) {
          timings_[name] = timing;
          from_median_[name] = median;
        }
      }
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    summary_(timings_);
  }

 private:
  Summary summary_;
  Timings timings_;
  std::map<std::string, bool> from_median_;
};

// Prints "<name>  <wall ratio>x (wall) <cpu ratio>x (cpu) <reference>" for each {name, reference} pair that ran.
inline void PrintRatios(const Timings& timings, std::initializer_list<std::pair<const char*, const char*>> pairs) {
  for (const auto& [name, reference] : pairs) {
    const auto found = timings.find(name);
    const auto base = timings.find(reference);
    if (found == timings.end() || base == timings.end() || base->second.real_seconds <= 0 ||
        base->second.cpu_seconds <= 0)
      continue;
    std::printf("%-34s %8.2fx (wall) %8.2fx (cpu) %s\n", name, found->second.real_seconds / base->second.real_seconds,
                found->second.cpu_seconds / base->second.cpu_seconds, reference);
  }
}

// The main() of a benchmark program.
inline int RunBenchmarks(int argc, char** argv, RatioReporter::Summary summary) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter(std::move(summary));
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace cohort::bench
