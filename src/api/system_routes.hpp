#pragma once
// Liveness, readiness and the admin view of the stores.

#include <functional>

#include "api/json_codec.hpp"
#include "api/router.hpp"

namespace cohort::api {

struct SystemProbes {
  std::function<Result<void>()> ready;  // every store answers
  std::function<Json()> stats;          // GET /api/admin/stats
  std::function<Json()> cache;          // GET /api/admin/cache
};

void AddSystemRoutes(Router& router, SystemProbes probes);

}  // namespace cohort::api
