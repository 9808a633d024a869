#pragma once
// GET /api/users/{id}/personalized-recommendations: the product's main request, in the six steps of the design:
//   1. cache: L1, then L2 (TieredCache), keyed by user, model version and query, so a new event or profile change
//      (which invalidates the user) or a new model (a new key) is seen by the next request, without a Redis scan;
//   2. the user with address, city and country, in one statement (404 when unknown);
//   3. the user's newest events, within `events_deadline`;
//   4. the analytics engine: segment, offer, churn risk, P(alive), lifetime value, recommendations, with the
//      recommended products' names and prices from the store's in-memory catalogue (RelationalStore::GetProducts);
//   5. the answer cached for `ttl` in both tiers;
//   6. `recommendation.served` handed to `publish`, which must not block (the outbox buffer).
// When the event store does not answer within the deadline, or fails, the answer is the best one without events, marked
// "degraded": true and not cached: segment, churn risk and lifetime value from the features the event.ingested
// consumer stored for the user (or from the profile alone when it stored none), popular items in the user's
// country.
// `?explain=true` adds each step's source and time.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "api/analytics_routes.hpp"
#include "api/router.hpp"
#include "cache/tiered_cache.hpp"
#include "domain/messages.hpp"
#include "store/events/event_store.hpp"
#include "store/relational/relational_store.hpp"

namespace cohort::api {

struct RecommendationRoutesOptions {
  analytics::EngineOptions engine;
  std::size_t user_events_limit = 5000;
  std::chrono::seconds ttl{3600};
  std::chrono::milliseconds events_deadline{500};
  // The user's stored feature state (queue::LoadUserFeatures), read only for degraded answers; may be empty.
  std::function<Result<std::optional<analytics::FeatureState>>(std::string_view user_id)> stored_features;
};

// Receives what an answer served; called on the request's thread, so it must only hand the message over.
using PublishServed = std::function<void(const domain::MessageDraft& message)>;

void AddRecommendationRoutes(Router& router, store::RelationalStore& relational, store::EventStore& events,
                             cache::TieredCache& cache, ModelSource model, PublishServed publish,
                             RecommendationRoutesOptions options);

}  // namespace cohort::api
