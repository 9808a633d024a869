#pragma once
// A small SQL access layer shared by every SQL-backed store: parameterised statements (written with $1..$n
// placeholders, which both SQLite and PostgreSQL accept), prepared once per connection, on pooled
// connections, with whole transactions that commit or roll back. Drivers: sqlite/, postgres/.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.hpp"

namespace cohort::store::sql {

enum class Dialect { kSqlite, kPostgres };

using Value = std::variant<std::nullptr_t, std::int64_t, double, std::string>;

// Rows of cells as the driver got them (NULL, an integer, a double or text: SQLite gives all four, PostgreSQL
// text), with readers that convert: Text of a number is its shortest exact form, Int and Double of text parse it.
class Rows {
 public:
  Rows() = default;
  explicit Rows(std::size_t columns) : columns_(columns) {}
  void AddCell(Value cell) { cells_.push_back(std::move(cell)); }

  std::size_t size() const { return columns_ == 0 ? 0 : cells_.size() / columns_; }
  bool empty() const { return size() == 0; }
  bool IsNull(std::size_t row, std::size_t col) const {
    return std::holds_alternative<std::nullptr_t>(Cell(row, col));
  }
  std::string Text(std::size_t row, std::size_t col) const;
  // Text, moved out of a text cell (which is left empty): for readers that build objects from each row once.
  std::string TakeText(std::size_t row, std::size_t col);
  std::int64_t Int(std::size_t row, std::size_t col) const;
  double Double(std::size_t row, std::size_t col) const;

 private:
  const Value& Cell(std::size_t row, std::size_t col) const { return cells_[row * columns_ + col]; }
  std::size_t columns_ = 0;
  std::vector<Value> cells_;
};

// One connection; not thread-safe, used by one thread at a time through a Lease.
class Connection {
 public:
  virtual ~Connection() = default;
  // Runs one statement with $1..$n parameters. Errors: kAlreadyExists (unique violation),
  // kFailedPrecondition (foreign key), kUnavailable (connection lost), kInternal (anything else).
  virtual Result<Rows> Execute(std::string_view sql, std::span<const Value> params = {}) = 0;
  // Runs several statements without parameters (migrations).
  virtual Result<void> ExecuteScript(std::string_view sql) = 0;

  enum class Caching {
    kPrepareAndKeep,  // as Execute: prepared once per connection and kept
    kOneOff,          // planned for these parameters and not kept: ad-hoc SQL (compiled pipelines), whose variety
                      // would otherwise grow the per-connection cache without bound
  };
  // Runs one statement like Execute, failing with kDeadlineExceeded once it has run for `time_limit`.
  // SQLite checks the deadline from a progress handler. PostgreSQL sets statement_timeout with SET LOCAL
  // semantics: inside the open transaction if there is one (restored afterwards), else inside a transaction of
  // its own (BEGIN, set, statement, COMMIT: four statements sent and counted).
  virtual Result<Rows> ExecuteWithTimeLimit(std::string_view sql, std::span<const Value> params,
                                            std::chrono::milliseconds time_limit, Caching caching) = 0;

  // Bulk-loads rows into `table` (its `columns`, in order): `values` holds the rows one after another,
  // columns.size() values each. Returns the number of rows loaded. PostgreSQL streams them with COPY ... FROM
  // STDIN; drivers without a bulk path (SQLite, where prepared INSERTs in a transaction are as fast) return
  // kFailedPrecondition.
  virtual Result<std::uint64_t> CopyRows(std::string_view table, std::span<const std::string_view> columns,
                                         std::span<const Value> values);
  // False once the connection is known to be broken; the pool then drops it.
  virtual bool Healthy() const = 0;
};

class Database;

// A connection borrowed from the pool, returned on destruction.
class Lease {
 public:
  Lease(Database* db, std::unique_ptr<Connection> conn) : db_(db), conn_(std::move(conn)) {}
  Lease(Lease&&) = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease();
  Connection& operator*() { return *conn_; }
  Connection* operator->() { return conn_.get(); }

 private:
  Database* db_;
  std::unique_ptr<Connection> conn_;
};

// A pool of connections to one database, plus the statement counter that tests use to prove
// how many statements a request costs.
class Database {
 public:
  // Opens a connection that counts its statements in `counter`.
  using Factory = std::function<Result<std::unique_ptr<Connection>>(std::atomic<std::uint64_t>& counter)>;
  Database(Dialect dialect, Factory factory, std::size_t max_connections);
  ~Database();

  Dialect dialect() const { return dialect_; }
  Result<Lease> Acquire();

  // Runs `body` inside BEGIN ... COMMIT on one connection; rolls back if it returns an error or throws.
  template <typename T>
  Result<T> InTransaction(const std::function<Result<T>(Connection&)>& body);

  std::uint64_t statement_count() const { return statements_.load(std::memory_order_relaxed); }

 private:
  friend class Lease;
  void Release(std::unique_ptr<Connection> conn);
  Result<void> Begin(Connection& conn);
  void Rollback(Connection& conn);

  struct Pool;
  Dialect dialect_;
  Factory factory_;
  std::unique_ptr<Pool> pool_;
  std::atomic<std::uint64_t> statements_{0};
};

template <typename T>
Result<T> Database::InTransaction(const std::function<Result<T>(Connection&)>& body) {
  COHORT_ASSIGN_OR_RETURN(Lease lease, Acquire());
  COHORT_TRY(Begin(*lease));
  try {
    Result<T> result = body(*lease);
    if (!result) {
      Rollback(*lease);
      return result;
    }
    if (auto committed = lease->Execute("COMMIT"); !committed) {
      Rollback(*lease);
      return std::move(committed).error();
    }
    return result;
  } catch (...) {
    Rollback(*lease);
    throw;
  }
}

// What every SQLite connection runs first. synchronous=NORMAL in WAL mode keeps every committed transaction
// across a process crash. A 16 MiB page cache per connection (SQLite's default is 2 MB): a batch of a few
// thousand events dirties more index pages than 2 MB holds, and spilling them to the WAL before the commit cost
// more system time than the inserts themselves.
inline constexpr const char* kSqlitePragmas =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384;";

// Drivers. `url` is a libpq connection URI; `path` a SQLite file.
Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path, std::size_t max_connections);
Result<std::unique_ptr<Database>> OpenPostgres(const std::string& url, std::size_t max_connections);
// "$first, $first+1, ..." (`count` placeholders): the list of an IN (...) whose values are parameters.
std::string PlaceholderList(std::size_t first, std::size_t count);

// Inserts `rows` rows by multi-row statements of 256, 128, ... 1 rows (the binary digits of the count): few
// statements, and at most nine statement shapes to prepare per connection. The statement is `head` (e.g.
// "INSERT INTO t (a, b) VALUES "), the rows, then `tail` (e.g. " ON CONFLICT DO NOTHING"); `row_format` writes
// one row from its placeholders, given as {0}, {1}, ... (e.g. "({0}, json({1}))"), and `values(i, params)`
// appends row i's values in that order. A `tail` with RETURNING hands each statement's rows to `returned`.
Result<void> InsertRows(Connection& conn, std::string_view head, std::string_view row_format, std::size_t columns,
                        std::string_view tail, std::size_t rows,
                        const std::function<void(std::size_t row, std::vector<Value>& params)>& values,
                        const std::function<void(const Rows& returned)>& returned = {});

// The relational database of the configuration: PostgreSQL when `postgres_url` is set, else the SQLite file.
Result<std::unique_ptr<Database>> OpenDatabase(const std::string& sqlite_path, const std::string& postgres_url,
                                               std::size_t max_connections);

}  // namespace cohort::store::sql
