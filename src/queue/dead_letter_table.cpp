#include "queue/dead_letter_table.hpp"

#include <fmt/format.h>

#include <charconv>

#include "store/sql/migrations.hpp"

namespace cohort::queue {
namespace {

using store::sql::Connection;
using store::sql::Rows;
using store::sql::Value;
using Params = std::vector<Value>;

// The same text for SQLite and PostgreSQL except for the key column.
constexpr std::string_view kTableTemplate = R"sql(
CREATE TABLE IF NOT EXISTS dead_letters (
  id {},
  queue TEXT NOT NULL,
  message_id TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  error TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  created_at_ms BIGINT NOT NULL,
  first_attempt_at_ms BIGINT NOT NULL,
  dead_lettered_at_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_queue ON dead_letters (queue, id);
)sql";

const std::string kSqliteTable = fmt::format(kTableTemplate, "INTEGER PRIMARY KEY AUTOINCREMENT");
const std::string kPostgresTable = fmt::format(kTableTemplate, "BIGSERIAL PRIMARY KEY");
const store::sql::Migration kSqlite[] = {{1, "dead letters", kSqliteTable}};
const store::sql::Migration kPostgres[] = {{1, "dead letters", kPostgresTable}};

constexpr std::string_view kColumns =
    "id, queue, message_id, type, payload, error, attempts, created_at_ms, first_attempt_at_ms, "
    "dead_lettered_at_ms";

std::optional<std::int64_t> ParseId(std::string_view id) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), value);
  if (ec != std::errc() || end != id.data() + id.size() || value <= 0) return std::nullopt;
  return value;
}

DeadLetter FromRow(const Rows& rows, std::size_t r) {
  DeadLetter d;
  d.id = rows.Text(r, 0);
  d.queue = rows.Text(r, 1);
  d.message_id = rows.Text(r, 2);
  d.type = rows.Text(r, 3);
  d.payload = rows.Text(r, 4);
  d.error = rows.Text(r, 5);
  d.attempts = static_cast<int>(rows.Int(r, 6));
  d.created_at = FromMillis(rows.Int(r, 7));
  d.first_attempt_at = FromMillis(rows.Int(r, 8));
  d.dead_lettered_at = FromMillis(rows.Int(r, 9));
  return d;
}

Error NoSuchDeadLetter(std::string_view id) {
  return Error::NotFound(fmt::format("no dead letter '{}'", id));
}

}  // namespace

std::int64_t ToMillis(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

Clock::time_point FromMillis(std::int64_t ms) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(ms)));
}

Result<int> DeadLetterTable::Migrate() {
  if (db_.dialect() == store::sql::Dialect::kSqlite)
    return store::sql::ApplyMigrations(db_, "dead_letters", kSqlite);
  return store::sql::ApplyMigrations(db_, "dead_letters", kPostgres);
}

Result<void> DeadLetterTable::Insert(Connection& conn, const DeadLetter& letter) {
  COHORT_TRY(conn.Execute(
      "INSERT INTO dead_letters (queue, message_id, type, payload, error, attempts, created_at_ms, "
      "first_attempt_at_ms, dead_lettered_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
      Params{letter.queue, letter.message_id, letter.type, letter.payload, letter.error,
             std::int64_t{letter.attempts}, ToMillis(letter.created_at), ToMillis(letter.first_attempt_at),
             ToMillis(letter.dead_lettered_at)}));
  return {};
}

Result<DeadLetter> DeadLetterTable::Get(Connection& conn, std::string_view id) {
  auto key = ParseId(id);
  if (!key) return NoSuchDeadLetter(id);
  COHORT_ASSIGN_OR_RETURN(
      Rows rows,
      conn.Execute(fmt::format("SELECT {} FROM dead_letters WHERE id = $1", kColumns), Params{*key}));
  if (rows.empty()) return NoSuchDeadLetter(id);
  return FromRow(rows, 0);
}

Result<void> DeadLetterTable::Delete(Connection& conn, std::string_view id) {
  auto key = ParseId(id);
  if (!key) return NoSuchDeadLetter(id);
  COHORT_ASSIGN_OR_RETURN(Rows rows,
                          conn.Execute("DELETE FROM dead_letters WHERE id = $1 RETURNING id", Params{*key}));
  if (rows.empty()) return NoSuchDeadLetter(id);
  return {};
}

Result<std::vector<DeadLetter>> DeadLetterTable::List(const DeadLetterQuery& query) {
  COHORT_ASSIGN_OR_RETURN(store::sql::Lease lease, db_.Acquire());
  const auto limit = static_cast<std::int64_t>(query.limit);
  COHORT_ASSIGN_OR_RETURN(
      Rows rows,
      query.queue ? lease->Execute(fmt::format("SELECT {} FROM dead_letters WHERE queue = $1 "
                                               "ORDER BY id LIMIT $2",
                                               kColumns),
                                   Params{*query.queue, limit})
                  : lease->Execute(fmt::format("SELECT {} FROM dead_letters ORDER BY id LIMIT $1", kColumns),
                                   Params{limit}));
  std::vector<DeadLetter> out;
  out.reserve(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) out.push_back(FromRow(rows, r));
  return out;
}

Result<std::unordered_map<std::string, std::int64_t>> DeadLetterTable::CountByQueue() {
  COHORT_ASSIGN_OR_RETURN(store::sql::Lease lease, db_.Acquire());
  COHORT_ASSIGN_OR_RETURN(Rows rows,
                          lease->Execute("SELECT queue, COUNT(*) FROM dead_letters GROUP BY queue"));
  std::unordered_map<std::string, std::int64_t> out;
  for (std::size_t r = 0; r < rows.size(); ++r) out[rows.Text(r, 0)] = rows.Int(r, 1);
  return out;
}

Result<void> DeadLetterTable::Drop(std::string_view id) {
  COHORT_ASSIGN_OR_RETURN(store::sql::Lease lease, db_.Acquire());
  return Delete(*lease, id);
}

}  // namespace cohort::queue
