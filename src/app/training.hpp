#pragma once
// `cohort train` and `cohort eval`: read the whole history from the stores, then hand it to the pure trainer
// and evaluator in analytics/. Also the loader they share with the worker's periodic retraining.

#include <cstdint>
#include <optional>
#include <string>

#include "analytics/model.hpp"
#include "analytics/trainer.hpp"
#include "app/config.hpp"
#include "app/stores.hpp"
#include "store/models/model_store.hpp"

namespace cohort::app {

struct TrainArgs {
  std::optional<std::string> until;      // YYYY-MM-DD or RFC 3339; default: now
  std::optional<std::string> time_unit;  // days | weeks; default: analytics.time_unit
  bool json = false;                     // print the model summary as JSON on stdout
};

struct EvalArgs {
  std::optional<std::string> split;  // YYYY-MM-DD; default: the day that leaves the last 20% of events
  int k = 10;
  std::optional<std::string> json_file;
};

int RunTrain(const Config& config, const TrainArgs& args);
int RunEval(const Config& config, const EvalArgs& args);

// Trains on everything up to `until_micros` and saves the model; returns it. `progress` gets one line per stage.
Result<analytics::Model> TrainAndSave(const Config& config, Stores& stores, store::ModelStore& models,
                                      std::int64_t until_micros, analytics::TimeUnit unit,
                                      const analytics::Progress& progress);

analytics::EngineOptions EngineOptionsFrom(const Config& config);

}  // namespace cohort::app
