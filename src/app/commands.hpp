#pragma once
// The `cohort` subcommands, each a function of the configuration; main.cpp only parses the command line.

#include <optional>
#include <string>

#include "app/config.hpp"
#include "app/demo_data.hpp"

namespace cohort::app {

int RunServe(const Config& config, const std::optional<std::string>& port_file);
int RunMigrate(const Config& config);
// The outbox relay and the message consumers, without HTTP, until SIGTERM or SIGINT (worker.cpp).
int RunWorker(const Config& config);
int RunDemo(const Config& config, const DemoOptions& options);
// `kind` is "events" or "retail".
int RunImport(const Config& config, const std::string& kind, const std::string& path);

void SetUpLogging(const Config& config);

}  // namespace cohort::app
