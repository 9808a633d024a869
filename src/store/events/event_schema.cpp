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
    // Each user's events again, 16 to a row, as the values quote() writes (event_history.hpp): the main request
    // reads a user's history as a few rows where the index gave one row per event, in a third of the time. The
    // trigger appends to the user's last row until it holds 16; it runs in the transaction of the INSERT, for
    // every writer of the table, and not for a row that ON CONFLICT DO NOTHING skipped. Growing rows are what it
    // costs: SQLite loads events a quarter slower with 16 to a row, 40 % slower with 32.
    {3, "each user's events in a few rows, kept by a trigger", R"sql(
CREATE TABLE event_history (
  id INTEGER PRIMARY KEY,
  user_id TEXT NOT NULL,
  part INTEGER NOT NULL,
  n INTEGER NOT NULL,
  events TEXT NOT NULL,
  UNIQUE (user_id, part)
);
CREATE TRIGGER events_history AFTER INSERT ON events BEGIN
  INSERT INTO event_history (user_id, part, n, events)
  VALUES (NEW.user_id,
          COALESCE((SELECT part + (n >= 16) FROM event_history WHERE user_id = NEW.user_id ORDER BY part DESC
                    LIMIT 1), 0),
          1,
          quote(NEW.event_id) || ',' || quote(NEW.type) || ',' || quote(NEW.product_id) || ',' ||
          quote(NEW.category) || ',' || quote(NEW.price) || ',' || quote(NEW.quantity) || ',' || quote(NEW.ts) || ',')
  ON CONFLICT (user_id, part) DO UPDATE SET n = n + 1, events = events || excluded.events;
END;
INSERT INTO event_history (user_id, part, n, events)
SELECT user_id, i / 16, COUNT(*), group_concat(record, '')
FROM (SELECT user_id, row_number() OVER (PARTITION BY user_id ORDER BY seq) - 1 AS i,
             quote(event_id) || ',' || quote(type) || ',' || quote(product_id) || ',' || quote(category) || ',' ||
             quote(price) || ',' || quote(quantity) || ',' || quote(ts) || ',' AS record
      FROM events)
GROUP BY user_id, i / 16;
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
