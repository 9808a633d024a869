#pragma once
// The events table, per SQL dialect. Columns: seq (arrival order), event_id (unique), user_id, type,
// product_id, category, price, quantity, ts (microseconds since the Unix epoch, UTC, as a 64-bit integer in
// both dialects), properties (a JSON object: TEXT in SQLite, JSONB in PostgreSQL).

#include <span>

#include "store/sql/migrations.hpp"

namespace cohort::store {

inline constexpr std::string_view kEventsComponent = "events";
std::span<const sql::Migration> EventMigrations(sql::Dialect dialect);

}  // namespace cohort::store
