#include "app/commands.hpp"

#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "api/auth.hpp"
#include "api/error_response.hpp"
#include "api/http_server.hpp"
#include "api/relational_routes.hpp"
#include "api/system_routes.hpp"
#include "store/relational/relational_store.hpp"

namespace cohort::app {
namespace {

bool IsLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.starts_with("127.");
}

int ThreadCount(const Config& config) {
  return config.threads > 0 ? config.threads : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
}

// Opens the relational store (creating the data folder for SQLite) and applies migrations.
Result<std::unique_ptr<store::RelationalStore>> OpenStore(const Config& config, std::size_t connections) {
  if (config.postgres_url.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec)
      return Error{ErrorCode::kUnavailable,
                   fmt::format("cannot create data folder '{}': {}", config.data_dir, ec.message()), {}};
  }
  COHORT_ASSIGN_OR_RETURN(auto store, store::OpenRelationalStore(config.SqlitePath(), config.postgres_url, connections));
  COHORT_ASSIGN_OR_RETURN(int version, store->Migrate());
  spdlog::info("relational store: backend={} schema_version={}", store->backend(), version);
  return store;
}

int Fail(const Error& error) {
  spdlog::error("{}", error.client_message);
  if (!error.internal_message.empty()) spdlog::debug("{}", error.internal_message);
  return 1;
}

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
  auto logger = spdlog::stderr_color_mt("cohort");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ level=%l %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_default_logger(logger);
}

int RunServe(const Config& config, const std::optional<std::string>& port_file) {
  const int threads = ThreadCount(config);
  auto store = OpenStore(config, static_cast<std::size_t>(threads) + 2);
  if (!store) return Fail(store.error());

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
  store::RelationalStore& relational = **store;
  api::AddSystemRoutes(router, {[&relational] { return relational.Ping(); },
                                [&relational] {
                                  return api::Json{{"relational",
                                                    {{"backend", relational.backend()},
                                                     {"statements", relational.statement_count()}}}};
                                }});
  api::AddRelationalRoutes(router, relational);

  api::HttpServerOptions options;
  options.host = host;
  options.port = static_cast<std::uint16_t>(config.port);
  options.threads = threads;
  options.body_limit = config.body_limit;
  options.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
  options.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  api::HttpServer server(options, [&](api::HttpRequest& request) {
    if (auto allowed = auth.Authorize(request); !allowed) {
      auto response = api::ErrorResponse(allowed.error());
      if (allowed.error().code == ErrorCode::kUnauthenticated)
        response.headers.emplace_back("WWW-Authenticate", "Bearer");
      return response;
    }
    return router.Dispatch(request);
  });
  auto port = server.Start();
  if (!port) return Fail(port.error());
  if (port_file) WritePortFile(*port_file, *port);
  server.RunUntilSignal();
  spdlog::info("stopped");
  return 0;
}

int RunMigrate(const Config& config) {
  auto store = OpenStore(config, 1);
  if (!store) return Fail(store.error());
  fmt::print("schema is at version {} ({})\n", (*store)->SchemaVersion().value(), (*store)->backend());
  return 0;
}

int RunDemo(const Config& config, const DemoOptions& options) {
  auto store = OpenStore(config, 1);
  if (!store) return Fail(store.error());
  auto empty = (*store)->IsEmpty();
  if (!empty) return Fail(empty.error());
  if (!*empty) {
    fmt::print("the store already holds data; the demo data set is loaded only into an empty store\n");
    return 0;
  }
  if (auto r = (*store)->UpsertProducts(DemoProducts(options)); !r) return Fail(r.error());
  constexpr int kBatch = 5000;
  const bool tty = isatty(fileno(stdout)) != 0;
  for (int first = 1; first <= options.users; first += kBatch) {
    const int count = std::min(kBatch, options.users - first + 1);
    if (auto r = (*store)->CreateUsers(DemoUsers(options, first, count)); !r) return Fail(r.error());
    if (tty) fmt::print("\rdemo: {} of {} users", first + count - 1, options.users);
  }
  fmt::print("{}demo: {} users and {} products created (seed {})\n", tty ? "\n" : "", options.users,
             options.products, options.seed);
  return 0;
}

}  // namespace cohort::app
