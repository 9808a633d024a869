#pragma once
// Processed-message records (processed_messages in the relational database, messaging_schema.hpp): what makes
// at-least-once delivery safe. The consumer runtime skips a message already recorded for its consumer and
// records it after a successful handling; a handler whose effect lives in the same database records it inside
// the effect's own transaction with ClaimIn, so the effect and the record commit together, and answers
// HandlerResult::AckRecorded so that the runtime does not write the record again.
//
// Records are pruned once older than a retention (queue.processed_retention_h; the consumer runtime does it):
// a record only matters while a duplicate of its message can still arrive (a redelivery after the visibility
// timeout, a retry, an outbox row published twice), which is minutes, not days.

#include <cstddef>
#include <span>
#include <string>
#include <vector>
#include <string_view>

#include "common/result.hpp"
#include "common/time.hpp"
#include "store/sql/database.hpp"

namespace cohort::queue {

class ProcessedLog {
 public:
  explicit ProcessedLog(store::sql::Database& db) : db_(db) {}

  Result<bool> Contains(std::string_view consumer, std::string_view message_id);
  // For each id, whether it is recorded: one statement for a whole prefetch window.
  Result<std::vector<bool>> ContainsEach(std::string_view consumer, std::span<const std::string_view> message_ids);
  Result<void> Record(std::string_view consumer, std::string_view message_id);  // idempotent
  // Records them all in one statement; idempotent.
  Result<void> RecordAll(std::string_view consumer, std::span<const std::string_view> message_ids);

  // Records on `conn` (inside the caller's transaction); false when it was recorded already, and the caller
  // then leaves its effect out.
  static Result<bool> ClaimIn(store::sql::Connection& conn, std::string_view consumer,
                              std::string_view message_id);
  // ClaimIn for a batch, in few statements: [i] is whether message_ids[i] was claimed now (false for one recorded
  // already, and for a repeat of an id earlier in the batch).
  static Result<std::vector<bool>> ClaimAllIn(store::sql::Connection& conn, std::string_view consumer,
                                              std::span<const std::string_view> message_ids);

  // Deletes up to `limit` of the records processed before `before`, oldest first, in one statement (so that a
  // large backlog never holds the write lock for long); returns how many it deleted.
  Result<std::size_t> Prune(Clock::time_point before, std::size_t limit);

  store::sql::Database& db() { return db_; }

 private:
  store::sql::Database& db_;
};

}  // namespace cohort::queue
