#pragma once
// Ingestion of a parsed batch, shared by POST /api/events and `cohort import`: stores the valid events
// (idempotently, all or none) and counts those whose user is not known yet.

#include <span>

#include "common/result.hpp"
#include "domain/event.hpp"
#include "store/events/event_store.hpp"
#include "store/relational/relational_store.hpp"

namespace cohort::api {

struct IngestCounts {
  std::size_t accepted = 0;
  std::size_t duplicates = 0;
  std::size_t unknown_users = 0;  // events (accepted or duplicate) whose user_id is not a user
};

Result<IngestCounts> IngestEvents(store::EventStore& events, store::RelationalStore& relational,
                                  std::span<const domain::Event> batch);

}  // namespace cohort::api
