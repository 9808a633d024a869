#pragma once
// Configuration: defaults, then a TOML file (--config or COHORT_CONFIG), then COHORT_* environment
// variables, then command-line flags. Every setting is declared once in config.cpp's table, which gives
// its TOML key, its environment variable and its check.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace cohort::app {

struct Config {
  std::string data_dir = "./data";
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 0;  // 0: one per core
  std::size_t body_limit = 4 * 1024 * 1024;
  int read_timeout_ms = 10'000;
  int idle_timeout_ms = 60'000;
  std::string postgres_url;  // empty: the embedded SQLite store
  std::string mongo_url;     // set: events in MongoDB
  std::size_t pipeline_max_rows = 10'000;
  int pipeline_timeout_ms = 5'000;
  std::string api_keys;      // "KEY:ROLE,KEY:ROLE"; empty: open, loopback only
  bool cache_enabled = true;
  bool cache_l1_enabled = true;
  bool cache_l2_enabled = true;
  std::size_t cache_l1_max_bytes = 64 * 1024 * 1024;
  std::string redis_url;  // empty: no L2
  std::string cache_key_prefix = "cohort";
  int cache_version_staleness_ms = 0;
  int cache_user_ttl_s = 3600;
  int cache_analytics_ttl_s = 60;
  std::string log_level = "info";

  std::string SqlitePath() const { return data_dir + "/cohort.db"; }
};

// Overrides from flags, by TOML key ("server.port" → "9000").
using ConfigOverrides = std::vector<std::pair<std::string, std::string>>;

// `environment` is passed in (not read from the process) so that tests are hermetic.
Result<Config> LoadConfig(const std::optional<std::string>& file, const std::map<std::string, std::string>& environment,
                          const ConfigOverrides& flags);

// The process environment as a map.
std::map<std::string, std::string> ProcessEnvironment();

// One line per setting: key, environment variable, default, meaning (for --help and the README).
std::string DescribeSettings();

}  // namespace cohort::app
