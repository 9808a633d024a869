#include "queue/processed_log.hpp"

#include "queue/dead_letter_table.hpp"

namespace cohort::queue {

using store::sql::Value;

Result<bool> ProcessedLog::Contains(std::string_view consumer, std::string_view message_id) {
  COHORT_ASSIGN_OR_RETURN(store::sql::Lease lease, db_.Acquire());
  COHORT_ASSIGN_OR_RETURN(
      store::sql::Rows rows,
      lease->Execute("SELECT 1 FROM processed_messages WHERE consumer = $1 AND message_id = $2",
                     std::vector<Value>{std::string(consumer), std::string(message_id)}));
  return !rows.empty();
}

Result<void> ProcessedLog::Record(std::string_view consumer, std::string_view message_id) {
  COHORT_ASSIGN_OR_RETURN(store::sql::Lease lease, db_.Acquire());
  COHORT_TRY(ClaimIn(*lease, consumer, message_id));
  return {};
}

Result<std::size_t> ProcessedLog::Prune(Clock::time_point before, std::size_t limit) {
  if (limit == 0) return std::size_t{0};
  COHORT_ASSIGN_OR_RETURN(store::sql::Lease lease, db_.Acquire());
  // Row values keep it one portable statement: SQLite and PostgreSQL both take (a, b) IN (SELECT a, b ...).
  COHORT_ASSIGN_OR_RETURN(
      store::sql::Rows rows,
      lease->Execute("DELETE FROM processed_messages WHERE (consumer, message_id) IN ("
                     "SELECT consumer, message_id FROM processed_messages WHERE processed_at_ms < $1 "
                     "ORDER BY processed_at_ms LIMIT $2) RETURNING 1",
                     std::vector<Value>{ToMillis(before), static_cast<std::int64_t>(limit)}));
  return rows.size();
}

Result<bool> ProcessedLog::ClaimIn(store::sql::Connection& conn, std::string_view consumer,
                                   std::string_view message_id) {
  COHORT_ASSIGN_OR_RETURN(
      store::sql::Rows rows,
      conn.Execute(
          "INSERT INTO processed_messages (consumer, message_id, processed_at_ms) VALUES ($1, $2, $3) "
          "ON CONFLICT (consumer, message_id) DO NOTHING RETURNING message_id",
          std::vector<Value>{std::string(consumer), std::string(message_id), ToMillis(Clock::now())}));
  return !rows.empty();
}

}  // namespace cohort::queue
