#pragma once
// HTTP routes of the event store: ingestion, per-user history, aggregation pipelines and the named
// analytics built on them.

#include "api/relational_routes.hpp"
#include "api/router.hpp"
#include "cache/tiered_cache.hpp"
#include "store/events/event_store.hpp"
#include "store/relational/relational_store.hpp"

namespace cohort::api {

struct EventRoutesOptions {
  store::events::PipelineLimits pipeline_limits;
  CacheTtls ttls;
};

// The named analytics are answered through `cache`; ingested events invalidate their users' entries.
void AddEventRoutes(Router& router, store::EventStore& events, store::RelationalStore& relational,
                    cache::TieredCache& cache, EventRoutesOptions options);

}  // namespace cohort::api
