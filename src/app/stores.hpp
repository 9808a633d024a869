#pragma once
// Which store implementation runs is decided here and nowhere else: SQLite by default, PostgreSQL when
// store.postgres_url is set, and MongoDB for events when store.mongo_url is set.

#include <memory>

#include "app/config.hpp"
#include "store/events/event_store.hpp"
#include "store/relational/relational_store.hpp"

namespace cohort::app {

struct Stores {
  std::unique_ptr<store::RelationalStore> relational;
  std::unique_ptr<store::EventStore> events;
};

// Opens both stores (creating the data folder for SQLite) and applies their migrations.
Result<Stores> OpenStores(const Config& config, std::size_t connections);

}  // namespace cohort::app
