#pragma once
// HTTP routes of the event store: ingestion, per-user history, aggregation pipelines and the named
// analytics built on them.

#include "api/router.hpp"
#include "store/events/event_store.hpp"
#include "store/relational/relational_store.hpp"

namespace cohort::api {

struct EventRoutesOptions {
  store::events::PipelineLimits pipeline_limits;
};

void AddEventRoutes(Router& router, store::EventStore& events, store::RelationalStore& relational,
                    EventRoutesOptions options);

}  // namespace cohort::api
