#pragma once
// Answers a GET from the tiered cache: the JSON text comes from L1, L2 or `compute`, and the response says
// which in `X-Cache: l1|l2|miss`.

#include <chrono>
#include <functional>

#include <nlohmann/json.hpp>

#include "api/http_types.hpp"
#include "cache/tiered_cache.hpp"
#include "common/result.hpp"

namespace cohort::api {

Result<HttpResponse> CachedJson(cache::TieredCache& cache, const cache::CacheKey& key, std::chrono::seconds ttl,
                                const cache::ComputeFn& compute);

// The cache's counters per tier, for GET /api/admin/cache.
nlohmann::json CacheStatsJson(const cache::CacheStats& stats);

// The canonical query string of a request (names in order of arrival), for cache keys.
std::string QueryKey(const HttpRequest& request);

}  // namespace cohort::api
