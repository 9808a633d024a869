#include "api/observability_routes.hpp"

#include <fmt/format.h>

#include <chrono>

#include "analytics/model.hpp"
#include "api/json_codec.hpp"
#include "common/time.hpp"

namespace cohort::api {
namespace {

constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string Label(std::string_view name, std::string_view value) {
  return fmt::format("{}=\"{}\"", name, EscapeLabelValue(value));
}

void AppendCache(std::string& out, const cache::CacheStats& stats) {
  AppendHeader(out, "cohort_cache_hits_total", "counter", "Cache lookups answered by a tier.");
  AppendSample(out, "cohort_cache_hits_total", Label("tier", "l1"), static_cast<double>(stats.l1.hits));
  AppendSample(out, "cohort_cache_hits_total", Label("tier", "l2"), static_cast<double>(stats.l2.hits));
  AppendHeader(
      out, "cohort_cache_misses_total", "counter",
      "Cache lookups a tier could not answer (absent, expired, stale version, or Redis unreachable).");
  AppendSample(out, "cohort_cache_misses_total", Label("tier", "l1"), static_cast<double>(stats.l1.misses));
  AppendSample(out, "cohort_cache_misses_total", Label("tier", "l2"), static_cast<double>(stats.l2.misses));
  AppendHeader(out, "cohort_cache_errors_total", "counter", "Failed Redis commands of the shared tier.");
  AppendSample(out, "cohort_cache_errors_total", Label("tier", "l2"),
               static_cast<double>(stats.l2.redis.errors));
  AppendHeader(out, "cohort_cache_computes_total", "counter", "Values computed because no tier had them.");
  AppendSample(out, "cohort_cache_computes_total", "", static_cast<double>(stats.computes));
}

void AppendQueues(std::string& out, const Result<std::vector<queue::QueueStats>>& stats) {
  AppendHeader(out, "cohort_queue_up", "gauge", "1 when the message queue answered this scrape, else 0.");
  AppendSample(out, "cohort_queue_up", "", stats ? 1 : 0);
  if (!stats) return;
  const auto gauge = [&](std::string_view name, std::string_view help, auto field) {
    AppendHeader(out, name, "gauge", help);
    for (const auto& s : *stats)
      AppendSample(out, name, Label("queue", s.queue), static_cast<double>(s.*field));
  };
  gauge("cohort_queue_depth", "Messages waiting to be delivered.", &queue::QueueStats::ready);
  gauge("cohort_queue_in_flight", "Messages delivered and not settled yet (-1: the backend cannot tell).",
        &queue::QueueStats::in_flight);
  gauge("cohort_queue_dead_letters", "Messages parked in the dead-letter queue.",
        &queue::QueueStats::dead_lettered);
  AppendHeader(out, "cohort_queue_dead_lettered_total", "counter",
               "Messages this process moved to the dead-letter queue.");
  for (const auto& s : *stats)
    AppendSample(out, "cohort_queue_dead_lettered_total", Label("queue", s.queue),
                 static_cast<double>(s.dead_lettered_total));
}

void AppendModel(std::string& out, const analytics::Model* model) {
  AppendHeader(out, "cohort_model_info", "gauge", "The model in use: 1, with its version as a label.");
  if (model != nullptr) AppendSample(out, "cohort_model_info", Label("version", model->version), 1);
  AppendHeader(out, "cohort_model_age_seconds", "gauge", "Seconds since the model in use was trained.");
  if (model == nullptr) return;
  if (const auto trained = ParseRfc3339(model->trained_at)) {
    AppendSample(out, "cohort_model_age_seconds", "",
                 std::chrono::duration<double>(Clock::now() - *trained).count());
  }
}

}  // namespace

std::string RenderMetrics(const HttpMetrics& metrics, const MetricsSources& sources) {
  std::string out;
  metrics.Render(out);
  if (sources.cache) AppendCache(out, sources.cache());
  if (sources.queues) AppendQueues(out, sources.queues());
  if (sources.model) AppendModel(out, sources.model().get());
  if (sources.served) {
    const ServedCounts served = sources.served();
    AppendHeader(out, "cohort_served_messages_total", "counter",
                 "recommendation.served messages by what became of them: published to the queue, written to the "
                 "outbox (broker away), or dropped (buffer full).");
    AppendSample(out, "cohort_served_messages_total", Label("outcome", "published"),
                 static_cast<double>(served.published));
    AppendSample(out, "cohort_served_messages_total", Label("outcome", "outboxed"),
                 static_cast<double>(served.outboxed));
    AppendSample(out, "cohort_served_messages_total", Label("outcome", "dropped"),
                 static_cast<double>(served.dropped));
  }
  AppendHeader(out, "cohort_store_errors_total", "counter",
               "Store errors: requests answered 503 or 504 because a store was unavailable or too slow, and "
               "recommendations answered degraded because reading the events failed.");
  AppendSample(out, "cohort_store_errors_total", "", static_cast<double>(StoreErrors()));
  return out;
}

void AddObservabilityRoutes(Router& router, const HttpMetrics& metrics, MetricsSources sources) {
  router.Add("GET", "/metrics", [&metrics, sources = std::move(sources)](const HttpRequest&) {
    return HttpResponse{200, RenderMetrics(metrics, sources), std::string(kPrometheusContentType), {}};
  });
  router.Add("GET", "/openapi.json", [](const HttpRequest&) {
    return HttpResponse{200, std::string(OpenApiDocument()), "application/json", {}};
  });
  router.Add("GET", "/api/admin/routes", [&router](const HttpRequest&) {
    Json routes = Json::array();
    for (const RouteInfo& route : router.Routes())
      routes.push_back(Json{{"method", route.method}, {"pattern", route.pattern}});
    return JsonResponse(200, Json{{"routes", std::move(routes)}});
  });
}

}  // namespace cohort::api
