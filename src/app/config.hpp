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
  int catalog_refresh_ms = 1'000;  // a product written by another process is seen within this
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
  // Messaging: the queue backend, retries, the outbox relay, the consumers.
  std::string amqp_url;                       // empty: the embedded SQLite queue
  std::string queue_path;                     // embedded queue file; empty: data_dir/queue.db
  int queue_max_attempts = 5;
  int queue_backoff_ms = 1000;
  int queue_backoff_max_ms = 300'000;
  int queue_visibility_timeout_ms = 30'000;
  int queue_prefetch = 32;
  int queue_worker_threads = 1;               // per consumer
  int queue_relay_batch = 500;
  int queue_relay_interval_ms = 100;
  int queue_processed_retention_h = 168;      // processed-message records kept this long (0: forever)
  std::string queue_serve_consumers = "auto";  // auto: serve runs the consumers with the embedded queue only
  std::string webhook_url;                    // empty: welcome notifications go to the notifications table
  int webhook_timeout_ms = 5000;
  std::string log_level = "info";
  // Analytics: segment rules, churn label window, lifetime value, model reloading.
  int segment_dormant_days = 90;
  int segment_new_user_grace_days = 30;
  int segment_at_risk_min_days = 31;
  double segment_at_risk_churn = 0.7;
  double segment_vip_top_share = 0.05;
  double segment_vip_min_revenue = 0;  // 0: only the top share
  int churn_window_days = 90;          // churned: no purchase in this many days after a cutoff
  int ltv_months = 12;
  double ltv_monthly_discount = 0.01;
  std::string time_unit = "days";  // BG/NBD time unit of `cohort train`: days or weeks
  int model_poll_s = 30;           // how often `serve` looks for a newer model (0: only at start)
  int retrain_interval_s = 0;      // `cohort worker` retrains this often (0: never)
  std::size_t user_events_limit = 5000;  // newest events read per user for an answer
  int events_deadline_ms = 500;          // past this, a recommendations answer is served degraded
  int cache_recommendations_ttl_s = 3600;

  std::string SqlitePath() const { return data_dir + "/cohort.db"; }
  std::string QueuePath() const { return queue_path.empty() ? data_dir + "/queue.db" : queue_path; }
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
