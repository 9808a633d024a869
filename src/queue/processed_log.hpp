#pragma once
// Processed-message records (processed_messages in the relational database, messaging_schema.hpp): what makes
// at-least-once delivery safe. The consumer runtime skips a message already recorded for its consumer and
// records it after a successful handling; a handler whose effect lives in the same database records it inside
// the effect's own transaction with ClaimIn, so the effect and the record commit together.

#include <string_view>

#include "common/result.hpp"
#include "store/sql/database.hpp"

namespace cohort::queue {

class ProcessedLog {
 public:
  explicit ProcessedLog(store::sql::Database& db) : db_(db) {}

  Result<bool> Contains(std::string_view consumer, std::string_view message_id);
  Result<void> Record(std::string_view consumer, std::string_view message_id);  // idempotent

  // Records on `conn` (inside the caller's transaction); false when it was recorded already, and the caller
  // then leaves its effect out.
  static Result<bool> ClaimIn(store::sql::Connection& conn, std::string_view consumer,
                              std::string_view message_id);

  store::sql::Database& db() { return db_; }

 private:
  store::sql::Database& db_;
};

}  // namespace cohort::queue
