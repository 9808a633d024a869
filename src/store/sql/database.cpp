#include "store/sql/database.hpp"

#include <charconv>
#include <condition_variable>
#include <mutex>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace cohort::store::sql {

std::string Rows::Text(std::size_t row, std::size_t col) const {
  const Value& cell = Cell(row, col);
  if (const auto* s = std::get_if<std::string>(&cell)) return *s;
  if (const auto* i = std::get_if<std::int64_t>(&cell)) return fmt::format_int(*i).str();
  if (const auto* d = std::get_if<double>(&cell)) return fmt::format("{}", *d);  // the shortest exact form
  return {};
}

std::string Rows::TakeText(std::size_t row, std::size_t col) {
  if (auto* s = std::get_if<std::string>(&cells_[row * columns_ + col])) {
    std::string out = std::move(*s);
    s->clear();
    return out;
  }
  return Text(row, col);
}

std::int64_t Rows::Int(std::size_t row, std::size_t col) const {
  const Value& cell = Cell(row, col);
  if (const auto* i = std::get_if<std::int64_t>(&cell)) return *i;
  auto parse = [](std::string_view text) {
    std::int64_t v = 0;
    std::from_chars(text.data(), text.data() + text.size(), v);
    return v;
  };
  if (const auto* s = std::get_if<std::string>(&cell)) return parse(*s);
  if (std::holds_alternative<double>(cell)) return parse(Text(row, col));  // the integer its digits start with
  return 0;
}

double Rows::Double(std::size_t row, std::size_t col) const {
  const Value& cell = Cell(row, col);
  if (const auto* d = std::get_if<double>(&cell)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&cell)) return static_cast<double>(*i);
  double v = 0;
  if (const auto* s = std::get_if<std::string>(&cell)) std::from_chars(s->data(), s->data() + s->size(), v);
  return v;
}

Result<std::uint64_t> Connection::CopyRows(std::string_view table, std::span<const std::string_view>,
                                           std::span<const Value>) {
  return Error{ErrorCode::kFailedPrecondition, "bulk loading is not supported by this database",
               fmt::format("CopyRows into '{}' on a driver without a bulk path", table)};
}

struct Database::Pool {
  std::mutex mutex;
  std::condition_variable released;
  std::vector<std::unique_ptr<Connection>> idle;
  std::size_t open = 0;  // idle + leased
  std::size_t max = 1;
};

Lease::~Lease() {
  if (conn_) db_->Release(std::move(conn_));
}

Database::Database(Dialect dialect, Factory factory, std::size_t max_connections)
    : dialect_(dialect), factory_(std::move(factory)), pool_(std::make_unique<Pool>()) {
  pool_->max = std::max<std::size_t>(1, max_connections);
}

Database::~Database() = default;

Result<Lease> Database::Acquire() {
  std::unique_lock lock(pool_->mutex);
  for (;;) {
    if (!pool_->idle.empty()) {
      auto conn = std::move(pool_->idle.back());
      pool_->idle.pop_back();
      return Lease(this, std::move(conn));
    }
    if (pool_->open < pool_->max) break;
    pool_->released.wait(lock);
  }
  ++pool_->open;
  lock.unlock();
  auto conn = factory_(statements_);
  if (!conn) {
    std::lock_guard relock(pool_->mutex);
    --pool_->open;
    pool_->released.notify_one();
    return std::move(conn).error();
  }
  return Lease(this, std::move(conn).value());
}

void Database::Release(std::unique_ptr<Connection> conn) {
  std::lock_guard lock(pool_->mutex);
  if (conn->Healthy()) {
    pool_->idle.push_back(std::move(conn));
  } else {
    --pool_->open;
  }
  pool_->released.notify_one();
}

Result<void> Database::Begin(Connection& conn) {
  // SQLite: take the write lock up front so two writers never deadlock on a lock upgrade.
  auto begun = conn.Execute(dialect_ == Dialect::kSqlite ? "BEGIN IMMEDIATE" : "BEGIN");
  if (!begun) return std::move(begun).error();
  return {};
}

void Database::Rollback(Connection& conn) {
  if (auto r = conn.Execute("ROLLBACK"); !r) spdlog::warn("rollback failed: {}", r.error().internal_message);
}

std::string PlaceholderList(std::size_t first, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i)
    fmt::format_to(std::back_inserter(out), "{}${}", i == 0 ? "" : ", ", first + i);
  return out;
}

namespace {

// `row_format` cut at its placeholders: literal text, then the column of the placeholder that follows it (the
// last piece has none). Parsed once per call, so that each row of a statement is appended without formatting.
struct RowPiece {
  std::string_view text;
  std::optional<std::size_t> column;
};

std::vector<RowPiece> ParseRowFormat(std::string_view row_format) {
  std::vector<RowPiece> pieces;
  std::size_t start = 0;
  for (std::size_t open = row_format.find('{'); open != std::string_view::npos;
       open = row_format.find('{', start)) {
    const std::size_t close = row_format.find('}', open);
    std::size_t column = 0;
    std::from_chars(row_format.data() + open + 1, row_format.data() + close, column);
    pieces.push_back({row_format.substr(start, open - start), column});
    start = close + 1;
  }
  pieces.push_back({row_format.substr(start), std::nullopt});
  return pieces;
}

}  // namespace

Result<void> InsertRows(Connection& conn, std::string_view head, std::string_view row_format, std::size_t columns,
                        std::string_view tail, std::size_t rows,
                        const std::function<void(std::size_t row, std::vector<Value>& params)>& values,
                        const std::function<void(const Rows& returned)>& returned) {
  const std::vector<RowPiece> pieces = ParseRowFormat(row_format);
  std::size_t done = 0;
  for (std::size_t chunk = 256; chunk > 0; chunk /= 2) {
    if (rows - done < chunk) continue;
    std::string sql(head);
    for (std::size_t i = 0; i < chunk; ++i) {
      if (i > 0) sql += ", ";
      for (const RowPiece& piece : pieces) {
        sql += piece.text;
        if (piece.column) fmt::format_to(std::back_inserter(sql), "${}", i * columns + *piece.column + 1);
      }
    }
    sql += tail;
    while (rows - done >= chunk) {
      std::vector<Value> params;
      params.reserve(chunk * columns);
      for (std::size_t i = 0; i < chunk; ++i) values(done + i, params);
      COHORT_ASSIGN_OR_RETURN(const Rows rows_back, conn.Execute(sql, params));
      if (returned) returned(rows_back);
      done += chunk;
    }
  }
  return {};
}

Result<std::unique_ptr<Database>> OpenDatabase(const std::string& sqlite_path, const std::string& postgres_url,
                                               std::size_t max_connections) {
  return postgres_url.empty() ? OpenSqlite(sqlite_path, max_connections) : OpenPostgres(postgres_url, max_connections);
}

}  // namespace cohort::store::sql
