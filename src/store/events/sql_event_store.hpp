#pragma once
// The event store on the SQL layer: one implementation for SQLite and PostgreSQL (the events table of
// event_schema.hpp).
//
// Append stores a batch whole or not at all, keyed by event_id: events already stored, and repeats inside the
// batch after the first, count as duplicates. SQLite inserts each event with a prepared
// INSERT ... ON CONFLICT DO NOTHING in one transaction; PostgreSQL COPYs the batch into a temporary table and
// moves it with one INSERT ... SELECT ... ON CONFLICT DO NOTHING (five statements per batch, whatever its size).
// UserEvents returns the newest first; events of the same instant in descending binary order of event_id, as
// the MongoDB backend does. Aggregate runs a pipeline as one SQL statement (sql_pipeline.hpp) with
// limits.timeout as its time limit (kDeadlineExceeded) and refuses results past limits.max_rows
// (kResourceExhausted).

#include <memory>
#include <string>

#include "common/result.hpp"
#include "store/events/event_store.hpp"
#include "store/sql/database.hpp"

namespace cohort::store {

// An event store on an open database. Does not migrate.
Result<std::unique_ptr<EventStore>> OpenSqlEventStore(std::unique_ptr<sql::Database> db);

// Opens SQLite at `sqlite_path`, or PostgreSQL when `postgres_url` is not empty. Does not migrate.
Result<std::unique_ptr<EventStore>> OpenSqlEventStore(const std::string& sqlite_path, const std::string& postgres_url,
                                                      std::size_t max_connections);

}  // namespace cohort::store
