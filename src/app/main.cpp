// The `cohort` command line: parses flags, loads the configuration, runs one subcommand.

#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "app/commands.hpp"
#include "app/config.hpp"
#include "app/training.hpp"
#include "common/time.hpp"

namespace {

using cohort::app::ConfigOverrides;

// Flags every subcommand takes.
struct CommonFlags {
  std::optional<std::string> config_file;
  std::optional<std::string> data_dir;
  std::optional<std::string> postgres_url;

  void AddTo(CLI::App* cmd) {
    cmd->add_option("--config", config_file, "TOML configuration file (also COHORT_CONFIG)");
    cmd->add_option("--data-dir", data_dir, "folder of the embedded database (COHORT_DATA_DIR, default ./data)");
    cmd->add_option("--postgres-url", postgres_url, "use PostgreSQL at this URI (COHORT_POSTGRES_URL)");
  }
  ConfigOverrides Overrides() const {
    ConfigOverrides out;
    if (data_dir) out.emplace_back("data_dir", *data_dir);
    if (postgres_url) out.emplace_back("store.postgres_url", *postgres_url);
    return out;
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Cohort: customer intelligence for online shops.\n"
               "Segments, churn risk, lifetime value and recommendations for every customer, over HTTP."};
  app.require_subcommand(1);
  app.footer("\n" + cohort::app::DescribeSettings() +
             "\nPrecedence: defaults < TOML file < environment < command-line flags.");

  CommonFlags common;
  std::optional<std::string> host, port, threads, port_file;
  auto* serve = app.add_subcommand("serve", "Serve the HTTP API (applies migrations first)");
  common.AddTo(serve);
  serve->add_option("--host", host, "address to listen on (COHORT_HOST, default 127.0.0.1)");
  serve->add_option("--port", port, "port to listen on, 0 for any free port (COHORT_PORT, default 8080)");
  serve->add_option("--threads", threads, "worker threads (COHORT_THREADS, default one per core)");
  serve->add_option("--port-file", port_file, "write the bound port to this file once listening");

  auto* migrate = app.add_subcommand("migrate", "Apply database migrations and print the schema version");
  common.AddTo(migrate);

  auto* worker = app.add_subcommand("worker", "Run the message consumers and the outbox relay, without HTTP");
  common.AddTo(worker);

  cohort::app::DemoOptions demo_options;
  auto* demo = app.add_subcommand("demo", "Fill an empty store with a reproducible demo data set");
  common.AddTo(demo);
  demo->add_option("--users", demo_options.users, "number of users")->check(CLI::Range(1, 10'000'000));
  demo->add_option("--products", demo_options.products, "number of products")->check(CLI::Range(1, 1'000'000));
  demo->add_option("--seed", demo_options.seed, "random seed: the same seed gives the same data");
  std::optional<std::string> until;
  demo->add_option("--until", until, "events end at this RFC 3339 time (default: today 00:00 UTC)");

  auto* import = app.add_subcommand("import", "Import events from a file");
  import->require_subcommand(1);
  std::string import_file;
  auto* import_events = import->add_subcommand(
      "events", "NDJSON (one event per line) or CSV with a header naming the event fields");
  auto* import_retail = import->add_subcommand(
      "retail", "The UCI Online Retail CSV layout: creates countries, users, products and purchase events");
  for (auto* cmd : {import_events, import_retail}) {
    common.AddTo(cmd);
    cmd->add_option("FILE", import_file, "the file to import")->required()->check(CLI::ExistingFile);
  }

  cohort::app::TrainArgs train_args;
  auto* train = app.add_subcommand(
      "train", "Build every model (BG/NBD, Gamma-Gamma, churn, recommender) from the stores and save a new version");
  common.AddTo(train);
  train->add_option("--until", train_args.until,
                    "learn from events up to and including this day (YYYY-MM-DD or RFC 3339; default: now)");
  train->add_option("--time-unit", train_args.time_unit, "BG/NBD time unit: days or weeks (COHORT_TIME_UNIT)")
      ->check(CLI::IsMember({"days", "weeks"}));
  train->add_flag("--json", train_args.json, "print the model's parameters as JSON");

  cohort::app::EvalArgs eval_args;
  auto* eval = app.add_subcommand(
      "eval", "Offline evaluation: train before a split date, measure recommendations, churn and BG/NBD after it");
  common.AddTo(eval);
  eval->add_option("--split", eval_args.split,
                   "YYYY-MM-DD (default: the day that leaves the last 20% of events for testing)");
  eval->add_option("--k", eval_args.k, "list length of the ranking metrics (default 10)")->check(CLI::Range(1, 1000));
  eval->add_option("--json", eval_args.json_file, "also write the results as JSON to this file");

  auto* version = app.add_subcommand("version", "Print the version");

  CLI11_PARSE(app, argc, argv);

  if (version->parsed()) {
    std::cout << "cohort " << COHORT_VERSION << '\n';
    return 0;
  }

  ConfigOverrides overrides = common.Overrides();
  if (host) overrides.emplace_back("server.host", *host);
  if (port) overrides.emplace_back("server.port", *port);
  if (threads) overrides.emplace_back("server.threads", *threads);
  auto config = cohort::app::LoadConfig(common.config_file, cohort::app::ProcessEnvironment(), overrides);
  if (!config) {
    std::cerr << "cohort: configuration error: " << config.error().client_message << '\n';
    return 2;
  }
  cohort::app::SetUpLogging(*config);
  const int code = [&]() -> int {
    if (serve->parsed()) return cohort::app::RunServe(*config, port_file);
    if (migrate->parsed()) return cohort::app::RunMigrate(*config);
    if (worker->parsed()) return cohort::app::RunWorker(*config);
    if (demo->parsed()) {
      if (until) {
        auto t = cohort::ParseRfc3339(*until);
        if (!t) {
          std::cerr << "cohort: --until must be an RFC 3339 time, like 2026-11-01T00:00:00Z\n";
          return 2;
        }
        demo_options.until_micros = std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch()).count();
      } else {
        const auto today = std::chrono::floor<std::chrono::days>(cohort::Clock::now());
        demo_options.until_micros = std::chrono::duration_cast<std::chrono::microseconds>(today.time_since_epoch()).count();
      }
      return cohort::app::RunDemo(*config, demo_options);
    }
    if (import_events->parsed()) return cohort::app::RunImport(*config, "events", import_file);
    if (import_retail->parsed()) return cohort::app::RunImport(*config, "retail", import_file);
    if (train->parsed()) return cohort::app::RunTrain(*config, train_args);
    if (eval->parsed()) return cohort::app::RunEval(*config, eval_args);
    return 1;
  }();
  spdlog::shutdown();  // flushes the asynchronous log
  return code;
}
