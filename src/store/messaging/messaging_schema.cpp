// A new migration is appended; an applied one is never edited.

#include "store/messaging/messaging_schema.hpp"

namespace cohort::store {
namespace {

constexpr sql::Migration kSqlite[] = {
    {1, "outbox, processed messages, notifications, counters", R"sql(
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
);
CREATE TABLE processed_messages (
  consumer TEXT NOT NULL,
  message_id TEXT NOT NULL,
  processed_at_ms INTEGER NOT NULL,
  PRIMARY KEY (consumer, message_id)
);
CREATE TABLE notifications (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
);
CREATE TABLE user_event_counters (
  user_id TEXT PRIMARY KEY,
  events INTEGER NOT NULL,
  purchases INTEGER NOT NULL,
  revenue REAL NOT NULL,
  last_ts_micros INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE TABLE impression_counters (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  impressions INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
);
)sql"},
    // The consumer runtime prunes records by age (ProcessedLog::Prune).
    {2, "processed messages by age", "CREATE INDEX processed_messages_age ON processed_messages (processed_at_ms);"},
    // analytics::FeatureState as JSON, kept by the event.ingested consumer.
    {3, "user features", "ALTER TABLE user_event_counters ADD COLUMN features TEXT;"},
    {4, "outbox rows that carry their message id", "ALTER TABLE outbox ADD COLUMN message_id TEXT;"},
};

constexpr sql::Migration kPostgres[] = {
    {1, "outbox, processed messages, notifications, counters", R"sql(
CREATE TABLE IF NOT EXISTS outbox (
  id BIGSERIAL PRIMARY KEY,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS processed_messages (
  consumer TEXT NOT NULL,
  message_id TEXT NOT NULL,
  processed_at_ms BIGINT NOT NULL,
  PRIMARY KEY (consumer, message_id)
);
CREATE TABLE IF NOT EXISTS notifications (
  id BIGSERIAL PRIMARY KEY,
  message_id TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS user_event_counters (
  user_id TEXT PRIMARY KEY,
  events BIGINT NOT NULL,
  purchases BIGINT NOT NULL,
  revenue DOUBLE PRECISION NOT NULL,
  last_ts_micros BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS impression_counters (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  impressions BIGINT NOT NULL,
  PRIMARY KEY (scope, key)
);
)sql"},
    {2, "processed messages by age",
     "CREATE INDEX IF NOT EXISTS processed_messages_age ON processed_messages (processed_at_ms);"},
    {3, "user features", "ALTER TABLE user_event_counters ADD COLUMN IF NOT EXISTS features TEXT;"},
    {4, "outbox rows that carry their message id", "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS message_id TEXT;"},
};

}  // namespace

std::span<const sql::Migration> MessagingMigrations(sql::Dialect dialect) {
  if (dialect == sql::Dialect::kSqlite) return kSqlite;
  return kPostgres;
}

}  // namespace cohort::store
