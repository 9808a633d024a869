#pragma once
// What operators and tools read about the server itself:
//   GET /metrics           Prometheus text format 0.0.4: requests and latencies per route, method and status;
//                          cache hits, misses and errors per tier; queue depths and dead letters; the model
//                          in use and its age; store errors
//   GET /openapi.json      the OpenAPI 3.0 document of every route (openapi_document.cpp)
//   GET /api/admin/routes  {"routes":[{"method","pattern"}]}: every registered route, in registration order
// Each source is a callback from `serve`, so that api/ depends on no concrete backend; an empty one is left
// out of /metrics.

#include <functional>
#include <string_view>
#include <vector>

#include "api/analytics_routes.hpp"
#include "api/metrics.hpp"
#include "api/router.hpp"
#include "cache/tiered_cache.hpp"
#include "queue/message_queue.hpp"

namespace cohort::api {

// What became of the messages an answer causes (recommendation.served) once they left the request.
struct ServedCounts {
  std::uint64_t published = 0;  // straight to the queue
  std::uint64_t outboxed = 0;   // into the outbox, the broker being away
  std::uint64_t dropped = 0;    // over the buffer's bound
};

struct MetricsSources {
  std::function<cache::CacheStats()> cache;
  std::function<Result<std::vector<queue::QueueStats>>()> queues;
  ModelSource model;
  std::function<ServedCounts()> served;
};

// The OpenAPI document served at /openapi.json.
std::string_view OpenApiDocument();

// `router` and `metrics` must outlive the server; /api/admin/routes lists the routes at the time of the call.
void AddObservabilityRoutes(Router& router, const HttpMetrics& metrics, MetricsSources sources);

// The body of GET /metrics.
std::string RenderMetrics(const HttpMetrics& metrics, const MetricsSources& sources);

}  // namespace cohort::api
