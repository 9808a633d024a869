#pragma once
// HTTP routes of the analytics engine: one customer's insights, the segment totals, and the models.

#include <functional>
#include <memory>

#include "analytics/engine.hpp"
#include "api/router.hpp"
#include "store/events/event_store.hpp"
#include "store/models/model_store.hpp"
#include "store/relational/relational_store.hpp"

namespace cohort::api {

struct AnalyticsRoutesOptions {
  analytics::EngineOptions engine;
  std::size_t user_events_limit = 5000;  // newest events read per user
};

// The model in use (null before the first training).
using ModelSource = std::function<std::shared_ptr<const analytics::Model>()>;

// What the engine needs to know of a user.
analytics::UserProfile ProfileOf(const domain::User& user);

void AddAnalyticsRoutes(Router& router, store::RelationalStore& relational, store::EventStore& events,
                        store::ModelStore& models, ModelSource model, AnalyticsRoutesOptions options);

}  // namespace cohort::api
