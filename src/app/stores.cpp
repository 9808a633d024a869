#include "app/stores.hpp"

#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "store/events/mongo/mongo_event_store.hpp"
#include "store/events/sql_event_store.hpp"

namespace cohort::app {

Result<Stores> OpenStores(const Config& config, std::size_t connections) {
  if (config.postgres_url.empty()) {  // SQLite holds the users (and the events unless MongoDB does)
    std::error_code ec;
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec)
      return Error{ErrorCode::kUnavailable,
                   fmt::format("cannot create data folder '{}': {}", config.data_dir, ec.message()), {}};
  }
  Stores stores;
  COHORT_ASSIGN_OR_RETURN(stores.relational,
                          store::OpenRelationalStore(config.SqlitePath(), config.postgres_url, connections,
                                                     std::chrono::milliseconds(config.catalog_refresh_ms)));
  COHORT_ASSIGN_OR_RETURN(int relational_version, stores.relational->Migrate());
  if (config.mongo_url.empty()) {
    COHORT_ASSIGN_OR_RETURN(stores.events,
                            store::OpenSqlEventStore(config.SqlitePath(), config.postgres_url, connections));
  } else {
    // The event.ingested messages go to the outbox of the relational database (mongo_event_store.hpp).
    COHORT_ASSIGN_OR_RETURN(auto outbox,
                            store::sql::OpenDatabase(config.SqlitePath(), config.postgres_url, connections));
    COHORT_ASSIGN_OR_RETURN(stores.events,
                            store::OpenMongoEventStore(config.mongo_url, connections, std::move(outbox)));
  }
  COHORT_ASSIGN_OR_RETURN(int events_version, stores.events->Migrate());
  spdlog::info("stores: relational={} (schema {}), events={} (schema {})", stores.relational->backend(),
               relational_version, stores.events->backend(), events_version);
  return stores;
}

}  // namespace cohort::app
