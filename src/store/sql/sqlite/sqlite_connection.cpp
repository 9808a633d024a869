// SQLite driver: one sqlite3* per Connection, WAL mode, foreign keys on, a prepared-statement cache.

#include <sqlite3.h>

#include <charconv>
#include <chrono>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "common/string_map.hpp"
#include "store/sql/database.hpp"

namespace cohort::store::sql {
namespace {

constexpr int kBusyTimeoutMs = 5000;
// How often a time-limited statement checks its deadline: a few microseconds of work between checks.
constexpr int kProgressInstructions = 1000;

class SqliteConnection final : public Connection {
 public:
  SqliteConnection(sqlite3* db, std::atomic<std::uint64_t>* counter) : db_(db), counter_(counter) {}
  ~SqliteConnection() override {
    for (auto& [sql, statement] : statements_) sqlite3_finalize(statement.stmt);
    sqlite3_close_v2(db_);
  }

  Result<Rows> Execute(std::string_view sql, std::span<const Value> params) override {
    counter_->fetch_add(1, std::memory_order_relaxed);
    COHORT_ASSIGN_OR_RETURN(const Statement* statement, Prepare(sql));
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{statement->stmt};
    return Run(*statement, params, sql);
  }

  Result<Rows> ExecuteWithTimeLimit(std::string_view sql, std::span<const Value> params,
                                    std::chrono::milliseconds time_limit, Caching caching) override {
    counter_->fetch_add(1, std::memory_order_relaxed);
    Statement one_off;
    const Statement* statement = &one_off;
    if (caching == Caching::kPrepareAndKeep) {
      COHORT_ASSIGN_OR_RETURN(statement, Prepare(sql));
    } else {
      const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), 0, &one_off.stmt, nullptr);
      if (rc != SQLITE_OK) {
        sqlite3_finalize(one_off.stmt);
        return MakeError(rc, sql);
      }
      one_off.indexes = ParameterIndexes(one_off.stmt);
    }
    sqlite3_stmt* stmt = statement->stmt;
    struct Cleanup {
      sqlite3* db;
      sqlite3_stmt* s;
      bool keep;
      ~Cleanup() {
        sqlite3_progress_handler(db, 0, nullptr, nullptr);
        if (keep) {
          sqlite3_reset(s);
          sqlite3_clear_bindings(s);
        } else {
          sqlite3_finalize(s);
        }
      }
    } cleanup{db_, stmt, caching == Caching::kPrepareAndKeep};
    Deadline deadline{std::chrono::steady_clock::now() + time_limit};
    sqlite3_progress_handler(db_, kProgressInstructions, &Deadline::Passed, &deadline);
    auto rows = Run(*statement, params, sql);
    if (!rows && deadline.passed)
      return Error{ErrorCode::kDeadlineExceeded, "the query took too long", rows.error().internal_message};
    return rows;
  }

  Result<void> ExecuteScript(std::string_view sql) override {
    counter_->fetch_add(1, std::memory_order_relaxed);
    char* message = nullptr;
    const std::string script(sql);
    if (sqlite3_exec(db_, script.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message ? message : "unknown error";
      sqlite3_free(message);
      return Error::Internal("sqlite script failed: " + text);
    }
    return {};
  }

  bool Healthy() const override { return true; }

 private:
  // A prepared statement, with SQLite's index of each parameter $n at indexes[n - 1] (0: $n is not in the
  // statement). Looking "$n" up by name at every execution scans SQLite's list of parameters once per value,
  // which is quadratic in the thousands of parameters of a multi-row INSERT.
  struct Statement {
    sqlite3_stmt* stmt = nullptr;
    std::vector<int> indexes;
  };

  std::vector<int> ParameterIndexes(sqlite3_stmt* stmt) const {
    std::vector<int> indexes;
    const auto max = static_cast<std::size_t>(sqlite3_limit(db_, SQLITE_LIMIT_VARIABLE_NUMBER, -1));
    for (int index = 1, count = sqlite3_bind_parameter_count(stmt); index <= count; ++index) {
      const char* name = sqlite3_bind_parameter_name(stmt, index);
      if (name == nullptr || name[0] != '$' || name[1] == '0') continue;  // "$n" exactly, as Run binds them
      const std::string_view digits(name + 1);
      std::size_t n = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (ec != std::errc{} || end != digits.data() + digits.size() || n == 0 || n > max) continue;
      if (indexes.size() < n) indexes.resize(n, 0);
      indexes[n - 1] = index;
    }
    return indexes;
  }

  // The progress handler's state: SQLite calls Passed every kProgressInstructions virtual-machine steps, and a
  // non-zero return interrupts the statement (SQLITE_INTERRUPT).
  struct Deadline {
    std::chrono::steady_clock::time_point at;
    bool passed = false;
    static int Passed(void* self) {
      auto* d = static_cast<Deadline*>(self);
      d->passed = d->passed || std::chrono::steady_clock::now() >= d->at;
      return d->passed ? 1 : 0;
    }
  };

  Result<Rows> Run(const Statement& statement, std::span<const Value> params, std::string_view sql) {
    sqlite3_stmt* stmt = statement.stmt;
    for (std::size_t i = 0; i < params.size() && i < statement.indexes.size(); ++i) {
      const int index = statement.indexes[i];
      if (index == 0) continue;  // parameter not used by this statement
      COHORT_TRY(Bind(stmt, index, params[i]));
    }
    const int columns = sqlite3_column_count(stmt);
    Rows rows(static_cast<std::size_t>(columns));
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return MakeError(rc, sql);
      for (int c = 0; c < columns; ++c) {
        const int type = sqlite3_column_type(stmt, c);
        // Numbers are kept as numbers: Rows::Text writes them when asked (a REAL as the shortest form that
        // reads back as the same double, which is exact and what PostgreSQL sends; SQLite's own text keeps 15
        // significant digits).
        if (type == SQLITE_NULL) {
          rows.AddCell(nullptr);
        } else if (type == SQLITE_FLOAT) {
          rows.AddCell(sqlite3_column_double(stmt, c));
        } else if (type == SQLITE_INTEGER) {
          rows.AddCell(std::int64_t{sqlite3_column_int64(stmt, c)});
        } else {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
          rows.AddCell(std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, c))));
        }
      }
    }
    return rows;
  }

  Result<const Statement*> Prepare(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return &it->second;
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                      &stmt, nullptr);
    if (rc != SQLITE_OK) return MakeError(rc, sql);
    return &statements_.emplace(std::string(sql), Statement{stmt, ParameterIndexes(stmt)}).first->second;
  }

  Result<void> Bind(sqlite3_stmt* stmt, int index, const Value& value) {
    int rc = SQLITE_OK;
    if (std::holds_alternative<std::nullptr_t>(value)) {
      rc = sqlite3_bind_null(stmt, index);
    } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
      rc = sqlite3_bind_int64(stmt, index, *i);
    } else if (const auto* d = std::get_if<double>(&value)) {
      rc = sqlite3_bind_double(stmt, index, *d);
    } else {
      // Not copied: the values outlive the statement's run, and the bindings are cleared when it ends.
      const auto& s = std::get<std::string>(value);
      rc = sqlite3_bind_text(stmt, index, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
    }
    if (rc != SQLITE_OK) return MakeError(rc, "bind");
    return {};
  }

  Error MakeError(int rc, std::string_view sql) const {
    std::string internal = fmt::format("sqlite error {} ({}) in: {}", sqlite3_extended_errcode(db_),
                                       sqlite3_errmsg(db_), sql.substr(0, 200));
    switch (sqlite3_extended_errcode(db_)) {
      case SQLITE_CONSTRAINT_UNIQUE:
      case SQLITE_CONSTRAINT_PRIMARYKEY:
        return {ErrorCode::kAlreadyExists, "already exists", std::move(internal)};
      case SQLITE_CONSTRAINT_FOREIGNKEY:
        return {ErrorCode::kFailedPrecondition, "a referenced row does not exist or is still referenced",
                std::move(internal)};
      default:
        break;
    }
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_IOERR || rc == SQLITE_FULL ||
        rc == SQLITE_CANTOPEN)
      return Error::Unavailable(std::move(internal));
    return Error::Internal(std::move(internal));
  }

  sqlite3* db_;
  std::atomic<std::uint64_t>* counter_;
  StringMap<Statement> statements_;
};

// SQLite's memory statistics take one process-wide mutex around every allocation, which the threads reading at
// once contend for; nothing here reads them. Set before SQLite first initialises (later, it is refused: harmless).
void ConfigureSqliteOnce() {
  static const int configured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)configured;
}

Result<std::unique_ptr<Connection>> Connect(const std::string& path, std::atomic<std::uint64_t>* counter) {
  ConfigureSqliteOnce();
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return Error{ErrorCode::kUnavailable, fmt::format("cannot open database {}: {}", path, message), message};
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  auto conn = std::make_unique<SqliteConnection>(db, counter);
  char* message = nullptr;
  if (sqlite3_exec(db, kSqlitePragmas, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    return Error{ErrorCode::kUnavailable, fmt::format("cannot open database {}: {}", path, text), text};
  }
  return std::unique_ptr<Connection>(std::move(conn));
}

}  // namespace

Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path, std::size_t max_connections) {
  auto db = std::make_unique<Database>(
      Dialect::kSqlite, [path](std::atomic<std::uint64_t>& counter) { return Connect(path, &counter); },
      max_connections);
  // Open one connection now so that a bad path is reported at start, not at the first request.
  COHORT_ASSIGN_OR_RETURN(Lease probe, db->Acquire());
  (void)probe;
  return db;
}

}  // namespace cohort::store::sql
