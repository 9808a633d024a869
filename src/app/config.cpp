#include "app/config.hpp"

#include <charconv>
#include <functional>

#include <fmt/format.h>
#include <toml++/toml.h>

extern char** environ;

namespace cohort::app {
namespace {

using Setter = std::function<std::optional<std::string>(Config&, const std::string&)>;  // error or nullopt

struct Setting {
  std::string_view key;  // TOML key, dotted
  std::string_view env;  // environment variable
  std::string_view meaning;
  Setter set;
};

Setter Text(std::string Config::*field) {
  return [field](Config& c, const std::string& v) -> std::optional<std::string> {
    c.*field = v;
    return std::nullopt;
  };
}

template <typename T>
Setter Number(T Config::*field, long long min, long long max) {
  return [field, min, max](Config& c, const std::string& v) -> std::optional<std::string> {
    long long n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n < min || n > max)
      return fmt::format("must be an integer from {} to {} (got '{}')", min, max, v);
    c.*field = static_cast<T>(n);
    return std::nullopt;
  };
}

Setter Decimal(double Config::*field, double min, double max) {
  return [field, min, max](Config& c, const std::string& v) -> std::optional<std::string> {
    double d = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
    if (ec != std::errc{} || end != v.data() + v.size() || !(d >= min && d <= max))
      return fmt::format("must be a number from {} to {} (got '{}')", min, max, v);
    c.*field = d;
    return std::nullopt;
  };
}

Setter Bool(bool Config::*field) {
  return [field](Config& c, const std::string& v) -> std::optional<std::string> {
    if (v == "true" || v == "1" || v == "yes" || v == "on") {
      c.*field = true;
    } else if (v == "false" || v == "0" || v == "no" || v == "off") {
      c.*field = false;
    } else {
      return fmt::format("must be true or false (got '{}')", v);
    }
    return std::nullopt;
  };
}

std::optional<std::string> CheckApiKeys(const std::string& v) {
  std::size_t start = 0;
  while (start < v.size()) {
    std::size_t end = v.find(',', start);
    if (end == std::string::npos) end = v.size();
    const std::string_view entry(v.data() + start, end - start);
    const auto colon = entry.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
      return std::string("each entry must be KEY:ROLE with ROLE read, write or admin");
    const auto role = entry.substr(colon + 1);
    if (role != "read" && role != "write" && role != "admin")
      return fmt::format("unknown role '{}' (read, write or admin)", role);
    if (colon < 16) return std::string("keys must be at least 16 characters long");
    start = end + 1;
  }
  return std::nullopt;
}

const std::vector<Setting>& Settings() {
  static const std::vector<Setting> settings = {
      {"data_dir", "COHORT_DATA_DIR", "folder of the embedded database (cohort.db)", Text(&Config::data_dir)},
      {"server.host", "COHORT_HOST", "address to listen on", Text(&Config::host)},
      {"server.port", "COHORT_PORT", "port to listen on (0: any free port)", Number(&Config::port, 0, 65535)},
      {"server.threads", "COHORT_THREADS", "worker threads (0: one per core)", Number(&Config::threads, 0, 256)},
      {"server.body_limit", "COHORT_BODY_LIMIT", "largest request body in bytes",
       Number(&Config::body_limit, 1024, 1LL << 30)},
      {"server.read_timeout_ms", "COHORT_READ_TIMEOUT_MS", "time to receive a whole request",
       Number(&Config::read_timeout_ms, 100, 600'000)},
      {"server.idle_timeout_ms", "COHORT_IDLE_TIMEOUT_MS", "idle keep-alive connections are closed after this",
       Number(&Config::idle_timeout_ms, 100, 3'600'000)},
      {"store.postgres_url", "COHORT_POSTGRES_URL", "PostgreSQL URI; empty: embedded SQLite",
       Text(&Config::postgres_url)},
      {"store.mongo_url", "COHORT_MONGO_URL", "MongoDB URI for the event store; empty: events beside the users",
       Text(&Config::mongo_url)},
      {"store.catalog_refresh_ms", "COHORT_CATALOG_REFRESH_MS",
       "how often the product catalogue held in memory looks for other processes' product writes",
       Number(&Config::catalog_refresh_ms, 0, 3'600'000)},
      {"pipeline.max_rows", "COHORT_PIPELINE_MAX_ROWS", "largest result of an aggregation pipeline",
       Number(&Config::pipeline_max_rows, 1, 10'000'000)},
      {"pipeline.timeout_ms", "COHORT_PIPELINE_TIMEOUT_MS", "time limit of an aggregation pipeline",
       Number(&Config::pipeline_timeout_ms, 10, 600'000)},
      {"cache.enabled", "COHORT_CACHE_ENABLED", "false: no caching at all (every request computed)",
       Bool(&Config::cache_enabled)},
      {"cache.l1_enabled", "COHORT_CACHE_L1_ENABLED", "the in-process LRU tier", Bool(&Config::cache_l1_enabled)},
      {"cache.l2_enabled", "COHORT_CACHE_L2_ENABLED", "the Redis tier (needs cache.redis_url)",
       Bool(&Config::cache_l2_enabled)},
      {"cache.l1_max_bytes", "COHORT_CACHE_L1_MAX_BYTES", "size bound of the in-process tier",
       Number(&Config::cache_l1_max_bytes, 0, 1LL << 40)},
      {"cache.redis_url", "COHORT_REDIS_URL", "redis://host:port[/db] for the shared tier; empty: none",
       Text(&Config::redis_url)},
      {"cache.key_prefix", "COHORT_CACHE_KEY_PREFIX", "prefix of every Redis key (one per deployment)",
       Text(&Config::cache_key_prefix)},
      {"cache.version_staleness_ms", "COHORT_CACHE_VERSION_STALENESS_MS",
       "0: every read checks invalidations in Redis; above: trust known versions this long",
       Number(&Config::cache_version_staleness_ms, 0, 600'000)},
      {"cache.user_ttl_s", "COHORT_CACHE_USER_TTL_S", "TTL of cached users", Number(&Config::cache_user_ttl_s, 0, 604'800)},
      {"cache.analytics_ttl_s", "COHORT_CACHE_ANALYTICS_TTL_S", "TTL of cached analytics answers",
       Number(&Config::cache_analytics_ttl_s, 0, 604'800)},
      {"queue.amqp_url", "COHORT_AMQP_URL", "amqp://user:password@host:port/vhost of RabbitMQ; empty: embedded queue",
       Text(&Config::amqp_url)},
      {"queue.path", "COHORT_QUEUE_PATH", "file of the embedded queue; empty: data_dir/queue.db",
       Text(&Config::queue_path)},
      {"queue.max_attempts", "COHORT_QUEUE_MAX_ATTEMPTS", "attempts before a message goes to the dead-letter queue",
       Number(&Config::queue_max_attempts, 1, 100)},
      {"queue.backoff_ms", "COHORT_QUEUE_BACKOFF_MS", "retry delay after the first attempt (doubles each attempt)",
       Number(&Config::queue_backoff_ms, 0, 3'600'000)},
      {"queue.backoff_max_ms", "COHORT_QUEUE_BACKOFF_MAX_MS", "longest retry delay",
       Number(&Config::queue_backoff_max_ms, 0, 86'400'000)},
      {"queue.visibility_timeout_ms", "COHORT_QUEUE_VISIBILITY_TIMEOUT_MS",
       "embedded queue: a taken, unsettled message is delivered again after this",
       Number(&Config::queue_visibility_timeout_ms, 100, 86'400'000)},
      {"queue.prefetch", "COHORT_QUEUE_PREFETCH",
       "unsettled deliveries a consumer thread holds at most (the impressions consumer's: at least 2048)",
       Number(&Config::queue_prefetch, 1, 10'000)},
      {"queue.worker_threads", "COHORT_QUEUE_WORKER_THREADS", "threads per consumer",
       Number(&Config::queue_worker_threads, 1, 64)},
      {"queue.relay_batch", "COHORT_QUEUE_RELAY_BATCH", "outbox rows the relay publishes at a time",
       Number(&Config::queue_relay_batch, 1, 100'000)},
      {"queue.relay_interval_ms", "COHORT_QUEUE_RELAY_INTERVAL_MS", "how often the relay looks at an empty outbox",
       Number(&Config::queue_relay_interval_ms, 1, 60'000)},
      {"queue.processed_retention_h", "COHORT_QUEUE_PROCESSED_RETENTION_H",
       "processed-message records (consumer idempotency) are pruned after this many hours (0: kept forever)",
       Number(&Config::queue_processed_retention_h, 0, 87'600)},
      {"queue.serve_consumers", "COHORT_QUEUE_SERVE_CONSUMERS",
       "auto (consumers in serve with the embedded queue only), on or off",
       [](Config& c, const std::string& v) -> std::optional<std::string> {
         if (v != "auto" && v != "on" && v != "off") return fmt::format("must be auto, on or off (got '{}')", v);
         c.queue_serve_consumers = v;
         return std::nullopt;
       }},
      {"webhook.url", "COHORT_WEBHOOK_URL", "welcome notifications are POSTed here; empty: notifications table",
       Text(&Config::webhook_url)},
      {"webhook.timeout_ms", "COHORT_WEBHOOK_TIMEOUT_MS", "time limit of one webhook call",
       Number(&Config::webhook_timeout_ms, 10, 600'000)},
      {"segments.dormant_days", "COHORT_SEGMENTS_DORMANT_DAYS", "DORMANT: no activity for more than this many days",
       Number(&Config::segment_dormant_days, 1, 3650)},
      {"segments.new_user_grace_days", "COHORT_SEGMENTS_NEW_USER_GRACE_DAYS",
       "DORMANT: never active and registered more than this many days ago",
       Number(&Config::segment_new_user_grace_days, 0, 3650)},
      {"segments.at_risk_min_days", "COHORT_SEGMENTS_AT_RISK_MIN_DAYS",
       "AT_RISK: a buyer whose last activity is at least this many days old", Number(&Config::segment_at_risk_min_days, 1, 3650)},
      {"segments.at_risk_churn", "COHORT_SEGMENTS_AT_RISK_CHURN", "AT_RISK: churn risk at or above this",
       Decimal(&Config::segment_at_risk_churn, 0, 1)},
      {"segments.vip_top_share", "COHORT_SEGMENTS_VIP_TOP_SHARE", "VIP: this top share of buyers by revenue",
       Decimal(&Config::segment_vip_top_share, 0, 1)},
      {"segments.vip_min_revenue", "COHORT_SEGMENTS_VIP_MIN_REVENUE", "VIP: revenue at or above this (0: off)",
       Decimal(&Config::segment_vip_min_revenue, 0, 1e15)},
      {"analytics.churn_window_days", "COHORT_CHURN_WINDOW_DAYS",
       "churn label: no purchase in this many days after a cutoff", Number(&Config::churn_window_days, 1, 3650)},
      {"analytics.ltv_months", "COHORT_LTV_MONTHS", "lifetime value horizon in months", Number(&Config::ltv_months, 1, 600)},
      {"analytics.ltv_monthly_discount", "COHORT_LTV_MONTHLY_DISCOUNT", "monthly discount rate of lifetime value",
       Decimal(&Config::ltv_monthly_discount, 0, 1)},
      {"analytics.time_unit", "COHORT_TIME_UNIT", "BG/NBD time unit of `cohort train`: days or weeks",
       [](Config& c, const std::string& v) -> std::optional<std::string> {
         if (v != "days" && v != "weeks") return fmt::format("must be days or weeks (got '{}')", v);
         c.time_unit = v;
         return std::nullopt;
       }},
      {"analytics.model_poll_s", "COHORT_MODEL_POLL_S", "serve looks for a newer model this often (0: at start only)",
       Number(&Config::model_poll_s, 0, 86'400)},
      {"analytics.retrain_interval_s", "COHORT_RETRAIN_INTERVAL_S", "cohort worker retrains this often (0: never)",
       Number(&Config::retrain_interval_s, 0, 31'536'000)},
      {"analytics.user_events_limit", "COHORT_USER_EVENTS_LIMIT", "newest events read per user for an answer",
       Number(&Config::user_events_limit, 1, 1'000'000)},
      {"analytics.events_deadline_ms", "COHORT_EVENTS_DEADLINE_MS",
       "recommendations: wait this long for the user's events, then answer degraded",
       Number(&Config::events_deadline_ms, 1, 600'000)},
      {"cache.recommendations_ttl_s", "COHORT_CACHE_RECOMMENDATIONS_TTL_S", "TTL of cached recommendation answers",
       Number(&Config::cache_recommendations_ttl_s, 0, 604'800)},
      {"auth.api_keys", "COHORT_API_KEYS", "KEY:ROLE,... with ROLE read|write|admin; empty: open, loopback only",
       [](Config& c, const std::string& v) -> std::optional<std::string> {
         if (auto e = CheckApiKeys(v)) return e;
         c.api_keys = v;
         return std::nullopt;
       }},
      {"log.level", "COHORT_LOG_LEVEL", "trace, debug, info, warn, error",
       [](Config& c, const std::string& v) -> std::optional<std::string> {
         if (v != "trace" && v != "debug" && v != "info" && v != "warn" && v != "error")
           return fmt::format("must be trace, debug, info, warn or error (got '{}')", v);
         c.log_level = v;
         return std::nullopt;
       }},
  };
  return settings;
}

const Setting* FindByKey(std::string_view key) {
  for (const auto& s : Settings())
    if (s.key == key) return &s;
  return nullptr;
}

// TOML scalars and arrays of strings become the same text a variable would carry.
std::optional<std::string> TomlText(const toml::node& node) {
  if (auto s = node.value<std::string>()) return *s;
  if (node.is_integer()) return std::to_string(*node.value<std::int64_t>());
  if (node.is_floating_point()) return fmt::format("{}", *node.value<double>());
  if (node.is_boolean()) return *node.value<bool>() ? "true" : "false";
  if (const auto* array = node.as_array()) {
    std::string joined;
    for (const auto& item : *array) {
      auto s = item.value<std::string>();
      if (!s) return std::nullopt;
      joined += (joined.empty() ? "" : ",") + *s;
    }
    return joined;
  }
  return std::nullopt;
}

Error ConfigError(std::string message) {
  return Error{ErrorCode::kInvalidArgument, std::move(message), {}};
}

Result<void> Apply(Config& config, const Setting& setting, const std::string& value, std::string_view source) {
  if (auto problem = setting.set(config, value))
    return ConfigError(fmt::format("{} ({}): {}", setting.key, source, *problem));
  return {};
}

Result<void> ApplyTable(Config& config, const toml::table& table, const std::string& prefix,
                        const std::string& file) {
  for (const auto& [name, node] : table) {
    const std::string key = prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
    if (const auto* sub = node.as_table()) {
      COHORT_TRY(ApplyTable(config, *sub, key, file));
      continue;
    }
    const Setting* setting = FindByKey(key);
    if (!setting) return ConfigError(fmt::format("{}: unknown key '{}'", file, key));
    auto text = TomlText(node);
    if (!text) return ConfigError(fmt::format("{} ({}): unsupported value type", key, file));
    COHORT_TRY(Apply(config, *setting, *text, file));
  }
  return {};
}

}  // namespace

Result<Config> LoadConfig(const std::optional<std::string>& file, const std::map<std::string, std::string>& environment,
                          const ConfigOverrides& flags) {
  Config config;
  std::optional<std::string> path = file;
  if (!path) {
    if (auto it = environment.find("COHORT_CONFIG"); it != environment.end() && !it->second.empty())
      path = it->second;
  }
  if (path) {
    toml::table table;
    try {
      table = toml::parse_file(*path);
    } catch (const toml::parse_error& err) {
      return ConfigError(fmt::format("{}:{}:{}: {}", *path, err.source().begin.line, err.source().begin.column,
                                     err.description()));
    }
    COHORT_TRY(ApplyTable(config, table, "", *path));
  }
  for (const auto& [name, value] : environment) {
    if (!name.starts_with("COHORT_") || name == "COHORT_CONFIG" || name.starts_with("COHORT_TEST_")) continue;
    const Setting* setting = nullptr;
    for (const auto& s : Settings())
      if (s.env == name) setting = &s;
    if (!setting) return ConfigError(fmt::format("unknown environment variable {}", name));
    COHORT_TRY(Apply(config, *setting, value, name));
  }
  for (const auto& [key, value] : flags) {
    const Setting* setting = FindByKey(key);
    if (!setting) return ConfigError(fmt::format("unknown setting '{}'", key));
    COHORT_TRY(Apply(config, *setting, value, "command line"));
  }
  return config;
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string_view::npos) env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return env;
}

std::string DescribeSettings() {
  std::string out = "Settings (TOML key / environment variable):\n";
  for (const auto& s : Settings()) out += fmt::format("  {:<24} {:<24} {}\n", s.key, s.env, s.meaning);
  return out;
}

}  // namespace cohort::app
