#include "queue/processed_log.hpp"

#include <unordered_map>

#include <fmt/format.h>

#include "queue/dead_letter_table.hpp"

namespace cohort::queue {

using store::sql::Value;

Result<bool> ProcessedLog::Contains(std::string_view consumer, std::string_view message_id) {
  COHORT_ASSIGN_OR_RETURN(std::vector<bool> seen, ContainsEach(consumer, std::span(&message_id, 1)));
  return static_cast<bool>(seen.front());
}

Result<std::vector<bool>> ProcessedLog::ContainsEach(std::string_view consumer,
                                                     std::span<const std::string_view> message_ids) {
  std::vector<bool> seen(message_ids.size(), false);
  if (message_ids.empty()) return seen;
  std::vector<Value> params{std::string(consumer)};
  for (std::string_view id : message_ids) params.emplace_back(std::string(id));
  COHORT_ASSIGN_OR_RETURN(store::sql::Lease lease, db_.Acquire());
  COHORT_ASSIGN_OR_RETURN(
      store::sql::Rows rows,
      lease->Execute(fmt::format("SELECT message_id FROM processed_messages WHERE consumer = $1 AND message_id IN ({})",
                                 store::sql::PlaceholderList(2, message_ids.size())),
                     params));
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::string id = rows.Text(r, 0);
    for (std::size_t i = 0; i < message_ids.size(); ++i)
      if (message_ids[i] == id) seen[i] = true;
  }
  return seen;
}

Result<void> ProcessedLog::Record(std::string_view consumer, std::string_view message_id) {
  return RecordAll(consumer, std::span(&message_id, 1));
}

Result<void> ProcessedLog::RecordAll(std::string_view consumer, std::span<const std::string_view> message_ids) {
  if (message_ids.empty()) return {};
  COHORT_ASSIGN_OR_RETURN(store::sql::Lease lease, db_.Acquire());
  COHORT_TRY(ClaimAllIn(*lease, consumer, message_ids));
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
  COHORT_ASSIGN_OR_RETURN(std::vector<bool> claimed, ClaimAllIn(conn, consumer, std::span(&message_id, 1)));
  return static_cast<bool>(claimed.front());
}

Result<std::vector<bool>> ProcessedLog::ClaimAllIn(store::sql::Connection& conn, std::string_view consumer,
                                                   std::span<const std::string_view> message_ids) {
  std::vector<bool> claimed(message_ids.size(), false);
  std::unordered_map<std::string_view, std::size_t> first;  // the index of each id's first occurrence
  for (std::size_t i = 0; i < message_ids.size(); ++i) first.try_emplace(message_ids[i], i);
  const std::int64_t now_ms = ToMillis(Clock::now());
  COHORT_TRY(store::sql::InsertRows(
      conn, "INSERT INTO processed_messages (consumer, message_id, processed_at_ms) VALUES ", "({0}, {1}, {2})", 3,
      " ON CONFLICT (consumer, message_id) DO NOTHING RETURNING message_id", message_ids.size(),
      [&](std::size_t i, std::vector<Value>& params) {
        params.emplace_back(std::string(consumer));
        params.emplace_back(std::string(message_ids[i]));
        params.emplace_back(now_ms);
      },
      [&](const store::sql::Rows& rows) {
        for (std::size_t r = 0; r < rows.size(); ++r)
          if (const auto it = first.find(rows.Text(r, 0)); it != first.end()) claimed[it->second] = true;
      }));
  return claimed;
}

}  // namespace cohort::queue
