#include "api/system_routes.hpp"

#include "api/error_response.hpp"

namespace cohort::api {

void AddSystemRoutes(Router& router, SystemProbes probes) {
  router.Add("GET", "/healthz", [](const HttpRequest&) { return JsonResponse(200, Json{{"status", "ok"}}); });
  router.Add("GET", "/readyz", [ready = probes.ready](const HttpRequest&) {
    if (auto r = ready(); !r) return ErrorResponse(503, "unavailable", r.error().client_message);
    return JsonResponse(200, Json{{"status", "ready"}});
  });
  router.Add("GET", "/api/admin/stats",
             [stats = probes.stats](const HttpRequest&) { return JsonResponse(200, stats()); });
  router.Add("GET", "/api/admin/cache",
             [cache = probes.cache](const HttpRequest&) { return JsonResponse(200, cache()); });
}

}  // namespace cohort::api
