#include "api/cached_response.hpp"

namespace cohort::api {

Result<HttpResponse> CachedJson(cache::TieredCache& cache, const cache::CacheKey& key, std::chrono::seconds ttl,
                                const cache::ComputeFn& compute) {
  COHORT_ASSIGN_OR_RETURN(cache::Lookup found, cache.GetOrCompute(key, ttl, compute));
  HttpResponse response{200, std::move(found.value), "application/json", {}};
  response.headers.emplace_back("X-Cache", found.source == cache::Source::kComputed
                                               ? "miss"
                                               : std::string(cache::SourceName(found.source)));
  return response;
}

nlohmann::json CacheStatsJson(const cache::CacheStats& stats) {
  const auto& l1 = stats.l1;
  const auto& redis = stats.l2.redis;
  return {{"enabled", stats.enabled},
          {"l1",
           {{"enabled", stats.l1_enabled}, {"hits", l1.hits}, {"misses", l1.misses}, {"evictions", l1.evictions},
            {"expirations", l1.expirations}, {"entries", l1.entries}, {"bytes", l1.bytes},
            {"max_bytes", l1.max_bytes}}},
          {"l2",
           {{"enabled", stats.l2_enabled}, {"hits", stats.l2.hits}, {"misses", stats.l2.misses},
            {"decode_errors", stats.l2.decode_errors}, {"commands", redis.commands}, {"errors", redis.errors},
            {"timeouts", redis.timeouts}, {"connect_failures", redis.connect_failures},
            {"bad_replies", redis.bad_replies}, {"open_connections", redis.open_connections},
            {"breaker",
             {{"state", cache::BreakerStateName(redis.breaker.state)}, {"opens", redis.breaker.opens},
              {"rejected", redis.breaker.rejected}}}}},
          {"computes", stats.computes},
          {"compute_errors", stats.compute_errors},
          {"shared_computes", stats.shared_computes},
          {"invalidations", stats.invalidations},
          {"pending_invalidations", stats.pending_invalidations}};
}

std::string QueryKey(const HttpRequest& request) {
  std::string key;
  for (const auto& [name, value] : request.query) {
    key += key.empty() ? "" : "&";
    key += name;
    key += '=';
    key += value;
  }
  return key;
}

}  // namespace cohort::api
