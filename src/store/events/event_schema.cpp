// The events schema, per dialect. A new migration is appended; an applied one is never edited.

#include "store/events/event_schema.hpp"

namespace cohort::store {
namespace {

constexpr sql::Migration kSqlite[] = {
    {1, "events with indexes by user, type, product and category", R"sql(
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL,
  type TEXT NOT NULL,
  product_id TEXT,
  category TEXT,
  price REAL CHECK (price >= 0),
  quantity INTEGER NOT NULL DEFAULT 1 CHECK (quantity >= 1),
  ts INTEGER NOT NULL,
  properties TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_user_ts ON events (user_id, ts);
CREATE INDEX events_type_ts ON events (type, ts);
CREATE INDEX events_product ON events (product_id);
CREATE INDEX events_category ON events (category);
)sql"},
    // The main request reads a user's newest events: from this index alone they are one contiguous run of
    // entries, where (user_id, ts) left a table lookup per event, each on another page.
    {2, "events by user and time with every column, read from the index alone", R"sql(
CREATE INDEX events_user_history ON events (user_id, ts, event_id, type, product_id, category, price, quantity,
                                            properties);
DROP INDEX events_user_ts;
)sql"},
};

constexpr sql::Migration kPostgres[] = {
    {1, "events with indexes by user, type, product and category", R"sql(
CREATE TABLE events (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id TEXT COLLATE "C" NOT NULL UNIQUE,
  user_id TEXT COLLATE "C" NOT NULL,
  type TEXT NOT NULL,
  product_id TEXT,
  category TEXT,
  price DOUBLE PRECISION CHECK (price >= 0),
  quantity BIGINT NOT NULL DEFAULT 1 CHECK (quantity >= 1),
  ts BIGINT NOT NULL,
  properties JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX events_user_ts ON events (user_id, ts);
CREATE INDEX events_type_ts ON events (type, ts);
CREATE INDEX events_product ON events (product_id);
CREATE INDEX events_category ON events (category);
)sql"},
};

}  // namespace

std::span<const sql::Migration> EventMigrations(sql::Dialect dialect) {
  if (dialect == sql::Dialect::kSqlite) return kSqlite;
  return kPostgres;
}

}  // namespace cohort::store
