#include "store/messaging/outbox.hpp"

#include <fmt/format.h>

#include <chrono>

#include "common/time.hpp"
#include "store/messaging/messaging_schema.hpp"

namespace cohort::store {

std::string OutboxMessageId(std::int64_t row_id) { return fmt::format("outbox-{}", row_id); }

Result<void> WriteOutbox(sql::Connection& conn, std::span<const domain::MessageDraft> messages) {
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
  return sql::InsertRows(conn, "INSERT INTO outbox (type, payload, created_at_ms, message_id) VALUES ",
                         "({0}, {1}, {2}, {3})", 4, "", messages.size(),
                         [&](std::size_t i, std::vector<sql::Value>& params) {
                           params.emplace_back(messages[i].type);
                           params.emplace_back(messages[i].payload);
                           params.emplace_back(now_ms);
                           params.emplace_back(messages[i].id.empty() ? sql::Value{nullptr}
                                                                      : sql::Value{messages[i].id});
                         });
}

Result<std::vector<OutboxRow>> Outbox::Oldest(std::size_t limit) {
  COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_.Acquire());
  COHORT_ASSIGN_OR_RETURN(
      sql::Rows rows,
      lease->Execute("SELECT id, type, payload, created_at_ms, message_id FROM outbox ORDER BY id LIMIT $1",
                     std::vector<sql::Value>{static_cast<std::int64_t>(limit)}));
  std::vector<OutboxRow> out;
  out.reserve(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::int64_t id = rows.Int(r, 0);
    out.push_back({id, rows.Text(r, 1), rows.Text(r, 2), rows.Int(r, 3),
                   rows.IsNull(r, 4) ? OutboxMessageId(id) : rows.Text(r, 4)});
  }
  return out;
}

Result<void> Outbox::Delete(std::span<const std::int64_t> ids) {
  // By id, not by range: on PostgreSQL a row with a lower id can commit after a higher one was read.
  constexpr std::size_t kChunk = 256;
  COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_.Acquire());
  for (std::size_t first = 0; first < ids.size(); first += kChunk) {
    const std::size_t n = std::min(kChunk, ids.size() - first);
    const std::vector<sql::Value> params(ids.begin() + static_cast<std::ptrdiff_t>(first),
                                         ids.begin() + static_cast<std::ptrdiff_t>(first + n));
    COHORT_TRY(lease->Execute(fmt::format("DELETE FROM outbox WHERE id IN ({})", sql::PlaceholderList(1, n)), params));
  }
  return {};
}

Result<std::int64_t> Outbox::Pending() {
  COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_.Acquire());
  COHORT_ASSIGN_OR_RETURN(sql::Rows rows, lease->Execute("SELECT COUNT(*) FROM outbox"));
  return rows.Int(0, 0);
}

Result<int> Outbox::Migrate() {
  return sql::ApplyMigrations(db_, kMessagingComponent, MessagingMigrations(db_.dialect()));
}

}  // namespace cohort::store
