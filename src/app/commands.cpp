#include "app/commands.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/async.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "api/analytics_routes.hpp"
#include "api/auth.hpp"
#include "api/cached_response.hpp"
#include "api/error_response.hpp"
#include "api/http_server.hpp"
#include "api/metrics.hpp"
#include "api/observability_routes.hpp"
#include "api/relational_routes.hpp"
#include "api/event_routes.hpp"
#include "api/queue_routes.hpp"
#include "api/recommendation_routes.hpp"
#include "api/system_routes.hpp"
#include "app/import.hpp"
#include "app/model_registry.hpp"
#include "app/outbox_buffer.hpp"
#include "app/training.hpp"
#include "app/messaging.hpp"
#include "app/stores.hpp"
#include "cache/tiered_cache.hpp"

namespace cohort::app {
namespace {

bool IsLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.starts_with("127.");
}

int ThreadCount(const Config& config) {
  return config.threads > 0 ? config.threads : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
}

cache::CacheOptions CacheOptionsFrom(const Config& config) {
  cache::CacheOptions options;
  options.enabled = config.cache_enabled;
  options.l1_enabled = config.cache_l1_enabled;
  options.l2_enabled = config.cache_l2_enabled;
  options.l1_max_bytes = config.cache_l1_max_bytes;
  options.redis_url = config.redis_url;
  options.key_prefix = config.cache_key_prefix;
  options.version_max_staleness = std::chrono::milliseconds(config.cache_version_staleness_ms);
  return options;
}

int Fail(const Error& error) {
  spdlog::error("{}", error.client_message);
  if (!error.internal_message.empty()) spdlog::debug("{}", error.internal_message);
  return 1;
}

constexpr const char* kAccessLogger = "access";
// The longest a log line waits in BufferedStderrSink.
constexpr std::chrono::seconds kLogFlushInterval{1};

// Gathers formatted lines and writes them to stderr in blocks of up to kBlockBytes: at the block size, on a
// warning or worse, at kLogFlushInterval and at exit. One write per request costs a busy server more than the
// rest of its logging.
class BufferedStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  ~BufferedStderrSink() override { flush_(); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    block_.append(line.data(), line.size());
    if (block_.size() >= kBlockBytes) flush_();
  }
  void flush_() override {
    if (block_.empty()) return;
    std::fwrite(block_.data(), 1, block_.size(), stderr);
    std::fflush(stderr);
    block_.clear();
  }

 private:
  static constexpr std::size_t kBlockBytes = 64 * 1024;
  std::string block_;
};

void WritePortFile(const std::string& path, std::uint16_t port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << port << '\n';
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

void SetUpLogging(const Config& config) {
  // Asynchronous: a request's log line never waits for stderr. When the queue is full the oldest lines are
  // dropped rather than slowing the server. A terminal gets each line at once (in colour); a file or pipe gets
  // them in blocks (BufferedStderrSink). The access log ("access") shares the sink: the HTTP server formats its
  // lines itself and hands them over in blocks (api::HttpServerOptions::access_log).
  spdlog::init_thread_pool(8192, 1);
  spdlog::sink_ptr sink;
  if (::isatty(STDERR_FILENO) != 0) {
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  } else {
    sink = std::make_shared<BufferedStderrSink>();
    spdlog::flush_every(kLogFlushInterval);
  }
  auto make = [&sink](const std::string& name, const std::string& pattern) {
    auto logger = std::make_shared<spdlog::async_logger>(name, sink, spdlog::thread_pool(),
                                                         spdlog::async_overflow_policy::overrun_oldest);
    logger->set_pattern(pattern, spdlog::pattern_time_type::utc);
    logger->flush_on(spdlog::level::warn);
    spdlog::register_logger(logger);
    return logger;
  };
  auto logger = make("cohort", "%Y-%m-%dT%H:%M:%S.%fZ level=%l %v");
  logger->set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_default_logger(logger);
  make(kAccessLogger, "%v");
}

int RunServe(const Config& config, const std::optional<std::string>& port_file) {
  const int threads = ThreadCount(config);
  // The API's threads, the event.ingested consumer's threads, and two spare.
  auto stores = OpenStores(config, static_cast<std::size_t>(threads + config.queue_worker_threads) + 2);
  if (!stores) return Fail(stores.error());

  api::Authenticator auth(config.api_keys);
  std::string host = config.host;
  if (auth.open()) {
    if (!IsLoopback(host)) {
      spdlog::warn("no API keys are configured (COHORT_API_KEYS): refusing to listen on {}; binding to 127.0.0.1",
                   host);
      host = "127.0.0.1";
    }
    spdlog::warn("no API keys are configured: the API is open to anyone who can reach 127.0.0.1");
  }

  api::Router router;
  store::RelationalStore& relational = *stores->relational;
  store::EventStore& events = *stores->events;
  auto cache = cache::TieredCache::Create(CacheOptionsFrom(config));
  if (!cache) return Fail(cache.error());
  cache::TieredCache& tiers = **cache;
  api::AddSystemRoutes(router, {[&relational, &events]() -> Result<void> {
                                  COHORT_TRY(relational.Ping());
                                  return events.Ping();
                                },
                                [&relational, &events] {
                                  return api::Json{{"relational",
                                                    {{"backend", relational.backend()},
                                                     {"statements", relational.statement_count()}}},
                                                   {"events", {{"backend", events.backend()}}}};
                                },
                                [&tiers] { return api::CacheStatsJson(tiers.Stats()); }});
  const api::CacheTtls ttls{std::chrono::seconds(config.cache_user_ttl_s),
                            std::chrono::seconds(config.cache_analytics_ttl_s)};
  api::AddRelationalRoutes(router, relational, tiers, ttls);
  auto messaging =
      Messaging::Start(config, MessagingRole::kServe, events, [&tiers](std::string_view user) { tiers.Invalidate(user); });
  if (!messaging) return Fail(messaging.error());
  Messaging& background = **messaging;
  api::AddQueueRoutes(router, {&background.queue(), [&background] { return background.outbox().Pending(); },
                               [&background] { return background.relayed_total(); }});
  auto model_store = store::OpenModelStore(config.SqlitePath(), config.postgres_url, 2);
  if (!model_store) return Fail(model_store.error());
  if (auto migrated = (*model_store)->Migrate(); !migrated) return Fail(migrated.error());
  ModelRegistry models(**model_store, std::chrono::seconds(config.model_poll_s));
  OutboxBuffer served(background.database(), 100'000, std::chrono::milliseconds(100),
                      [&background](std::span<const domain::MessageDraft> messages) {
                        return background.PublishNow(messages);
                      });
  api::AddRecommendationRoutes(
      router, relational, events, tiers, [&models] { return models.Current(); },
      [&served](const domain::MessageDraft& message) { served.Post(message); },
      {.engine = EngineOptionsFrom(config),
       .user_events_limit = config.user_events_limit,
       .ttl = std::chrono::seconds(config.cache_recommendations_ttl_s),
       .events_deadline = std::chrono::milliseconds(config.events_deadline_ms),
       .stored_features = [&background](std::string_view user) {
         return queue::LoadUserFeatures(background.database(), user);
       }});
  api::AddAnalyticsRoutes(router, relational, events, **model_store, [&models] { return models.Current(); },
                          {.engine = EngineOptionsFrom(config), .user_events_limit = config.user_events_limit});
  api::AddEventRoutes(router, events, relational, tiers,
                      {.pipeline_limits = {.max_rows = config.pipeline_max_rows,
                                           .timeout = std::chrono::milliseconds(config.pipeline_timeout_ms)},
                       .ttls = ttls});
  api::HttpMetrics metrics;
  api::AddObservabilityRoutes(router, metrics,
                              {.cache = [&tiers] { return tiers.Stats(); },
                               .queues = [&background] { return background.queue().Stats(); },
                               .model = [&models] { return models.Current(); },
                               .served = [&served] {
                                 const OutboxBuffer::Counts c = served.counts();
                                 return api::ServedCounts{c.published, c.outboxed, c.dropped};
                               }});

  api::HttpServerOptions options;
  options.host = host;
  options.port = static_cast<std::uint16_t>(config.port);
  options.threads = threads;
  options.body_limit = config.body_limit;
  options.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
  options.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  // Access-log lines are at level info, as the server's own lines are.
  if (auto access = spdlog::get(kAccessLogger); access && spdlog::should_log(spdlog::level::info)) {
    options.access_log = [access](std::string_view lines) {
      if (lines.ends_with('\n')) lines.remove_suffix(1);  // the pattern ends the block with one
      access->info("{}", lines);
    };
  }
  api::HttpServer server(options, api::Instrument(metrics, [&](api::HttpRequest& request) {
    if (auto allowed = auth.Authorize(request); !allowed) {
      auto response = api::ErrorResponse(allowed.error());
      if (allowed.error().code == ErrorCode::kUnauthenticated)
        response.headers.emplace_back("WWW-Authenticate", "Bearer");
      return response;
    }
    return router.Dispatch(request);
  }));
  auto port = server.Start();
  if (!port) return Fail(port.error());
  if (port_file) WritePortFile(*port_file, *port);
  server.RunUntilSignal();
  served.Stop();  // into the outbox before the relay stops
  background.Stop();
  return 0;
}

int RunMigrate(const Config& config) {
  auto stores = OpenStores(config, 1);
  if (!stores) return Fail(stores.error());
  fmt::print("relational schema at version {} ({}); event store ready ({})\n",
             stores->relational->SchemaVersion().value(), stores->relational->backend(), stores->events->backend());
  return 0;
}

int RunImport(const Config& config, const std::string& kind, const std::string& path) {
  auto stores = OpenStores(config, 2);
  if (!stores) return Fail(stores.error());
  return kind == "retail" ? RunImportRetail(*stores, path) : RunImportEvents(*stores, path);
}

int RunDemo(const Config& config, const DemoOptions& options) {
  auto stores = OpenStores(config, 1);
  if (!stores) return Fail(stores.error());
  store::RelationalStore& relational = *stores->relational;
  auto empty = relational.IsEmpty();
  if (!empty) return Fail(empty.error());
  if (!*empty) {
    fmt::print("the store already holds data; the demo data set is loaded only into an empty store\n");
    return 0;
  }
  const auto products = DemoProducts(options);
  if (auto r = relational.UpsertProducts(products); !r) return Fail(r.error());
  constexpr int kBatch = 2000;
  const DemoEventGenerator generator(options, products);
  std::size_t total_events = 0;
  const bool tty = isatty(fileno(stdout)) != 0;
  for (int first = 1; first <= options.users; first += kBatch) {
    const int count = std::min(kBatch, options.users - first + 1);
    const auto users = DemoUsers(options, first, count);
    if (auto r = relational.CreateUsers(users); !r) return Fail(r.error());
    std::vector<domain::Event> batch;
    for (std::size_t i = 0; i < users.size(); ++i) {
      auto events = generator.ForUser(first + static_cast<int>(i));
      batch.insert(batch.end(), std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
    }
    auto appended = stores->events->Append(batch);
    if (!appended) return Fail(appended.error());
    total_events += appended->accepted;
    if (tty) fmt::print("\rdemo: {} of {} users, {} events", first + count - 1, options.users, total_events);
  }
  fmt::print("{}demo: {} users, {} products and {} events created (seed {})\n", tty ? "\n" : "", options.users,
             options.products, total_events, options.seed);
  return 0;
}

}  // namespace cohort::app
