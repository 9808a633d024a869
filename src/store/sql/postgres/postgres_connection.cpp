// PostgreSQL driver on libpq: text parameters, statements prepared once per connection, SQLSTATE mapped to
// error codes, a connect timeout so that a dead server fails fast.

#include <libpq-fe.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <string>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "store/sql/database.hpp"

namespace cohort::store::sql {
namespace {

constexpr std::size_t kCopyChunkBytes = 256 * 1024;

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// One field of COPY's text format: \N for NULL; backslash, newline, carriage return and tab escaped, so that a
// value can hold any of them (and "\." on a line of its own cannot end the data early).
void AppendCopyField(std::string& out, const Value& value) {
  if (std::holds_alternative<std::nullptr_t>(value)) {
    out += "\\N";
  } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
    out += std::to_string(*i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    if (std::isnan(*d)) {
      out += "NaN";
    } else if (std::isinf(*d)) {
      out += *d > 0 ? "Infinity" : "-Infinity";
    } else {
      fmt::format_to(std::back_inserter(out), "{}", *d);
    }
  } else {
    for (char c : std::get<std::string>(value)) {
      switch (c) {
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default: out += c;
      }
    }
  }
}

class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r) {}
  ~PgResult() { PQclear(r_); }
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  PGresult* get() const { return r_; }

 private:
  PGresult* r_;
};

class PostgresConnection final : public Connection {
 public:
  PostgresConnection(PGconn* conn, std::atomic<std::uint64_t>* counter) : conn_(conn), counter_(counter) {}
  ~PostgresConnection() override { PQfinish(conn_); }

  // A pooled connection can have been closed by the server (a restart, a failover) while it sat idle; that is
  // only found out by using it. Outside a transaction, a statement that is safe to send twice (a read, or the
  // BEGIN that opens a transaction) is then retried once on a fresh connection.
  Result<Rows> Execute(std::string_view sql, std::span<const Value> params) override {
    const bool outside_transaction = PQtransactionStatus(conn_) == PQTRANS_IDLE;
    auto rows = ExecutePrepared(sql, params);
    if (!rows && outside_transaction && PQstatus(conn_) == CONNECTION_BAD &&
        (sql.starts_with("SELECT") || sql.starts_with("BEGIN")) && Reconnect())
      return ExecutePrepared(sql, params);
    return rows;
  }

  Result<Rows> ExecutePrepared(std::string_view sql, std::span<const Value> params) {
    counter_->fetch_add(1, std::memory_order_relaxed);
    COHORT_ASSIGN_OR_RETURN(const std::string* name, Prepare(sql));
    TextParams text(params);
    PgResult result(PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()), text.values.data(),
                                   nullptr, nullptr, 0));
    return Collect(result.get(), sql);
  }

  Result<Rows> ExecuteWithTimeLimit(std::string_view sql, std::span<const Value> params,
                                    std::chrono::milliseconds time_limit, Caching caching) override {
    // statement_timeout only lasts as long as the transaction that sets it (SET LOCAL semantics), so that the
    // limit never leaks into later statements on this pooled connection.
    const bool own_transaction = PQtransactionStatus(conn_) == PQTRANS_IDLE;
    if (own_transaction) COHORT_TRY(Execute("BEGIN", {}));
    const std::string ms = std::to_string(std::max<std::int64_t>(1, time_limit.count()));
    auto set = Execute("SELECT current_setting('statement_timeout'), set_config('statement_timeout', $1, true)",
                       std::vector<Value>{ms});
    if (!set) {
      if (own_transaction) Rollback();
      return std::move(set).error();
    }
    Result<Rows> rows = caching == Caching::kPrepareAndKeep ? Execute(sql, params) : ExecuteOneOff(sql, params);
    if (!rows) {
      if (own_transaction) Rollback();
      return rows;
    }
    if (own_transaction) {
      COHORT_TRY(Execute("COMMIT", {}));
    } else {
      COHORT_TRY(Execute("SELECT set_config('statement_timeout', $1, true)", std::vector<Value>{set->Text(0, 0)}));
    }
    return rows;
  }

  Result<std::uint64_t> CopyRows(std::string_view table, std::span<const std::string_view> columns,
                                 std::span<const Value> values) override {
    counter_->fetch_add(1, std::memory_order_relaxed);
    if (columns.empty() || values.size() % columns.size() != 0)
      return Error::Internal(fmt::format("CopyRows into {}: {} values for {} columns", table, values.size(),
                                         columns.size()));
    std::string command = "COPY " + QuoteIdentifier(table) + " (";
    for (std::size_t c = 0; c < columns.size(); ++c) command += (c ? ", " : "") + QuoteIdentifier(columns[c]);
    command += ") FROM STDIN";
    {
      PgResult start(PQexec(conn_, command.c_str()));
      if (PQresultStatus(start.get()) != PGRES_COPY_IN) {
        COHORT_TRY(Check(start.get(), command));
        return Error::Internal("COPY did not start: " + command);
      }
    }
    std::string buffer;
    buffer.reserve(kCopyChunkBytes + 4096);
    bool sent = true;
    for (std::size_t i = 0; i < values.size() && sent; ++i) {
      AppendCopyField(buffer, values[i]);
      buffer += (i + 1) % columns.size() == 0 ? '\n' : '\t';
      if (buffer.size() >= kCopyChunkBytes) {
        sent = PQputCopyData(conn_, buffer.data(), static_cast<int>(buffer.size())) == 1;
        buffer.clear();
      }
    }
    if (sent && !buffer.empty()) sent = PQputCopyData(conn_, buffer.data(), static_cast<int>(buffer.size())) == 1;
    const std::string send_error = sent ? std::string() : PQerrorMessage(conn_);
    // After a failed send, ending with an error message makes the server abandon the COPY.
    PQputCopyEnd(conn_, sent ? nullptr : "client failed to send the rows");
    std::optional<Result<std::uint64_t>> loaded;
    while (PGresult* raw = PQgetResult(conn_)) {
      PgResult result(raw);
      if (loaded && !loaded->ok()) continue;  // drain the rest, keep the first error
      if (auto checked = Check(result.get(), command); !checked) {
        loaded.emplace(std::move(checked).error());
      } else {
        loaded.emplace(static_cast<std::uint64_t>(std::strtoull(PQcmdTuples(result.get()), nullptr, 10)));
      }
    }
    // The server's answer to an abandoned COPY would read as a cancellation; the cause is the connection.
    if (!sent) return Error::Unavailable("COPY: sending rows failed: " + send_error);
    if (!loaded) return Error::Internal("COPY returned no result: " + command);
    return std::move(*loaded);
  }

  Result<void> ExecuteScript(std::string_view sql) override {
    counter_->fetch_add(1, std::memory_order_relaxed);
    PgResult result(PQexec(conn_, std::string(sql).c_str()));
    return Check(result.get(), sql);
  }

  bool Healthy() const override { return PQstatus(conn_) == CONNECTION_OK; }

 private:
  // Parameters as libpq's text values (NULL as a null pointer).
  struct TextParams {
    explicit TextParams(std::span<const Value> params) : text(params.size()), values(params.size(), nullptr) {
      for (std::size_t i = 0; i < params.size(); ++i) {
        if (std::holds_alternative<std::nullptr_t>(params[i])) continue;
        if (const auto* v = std::get_if<std::int64_t>(&params[i])) {
          text[i] = std::to_string(*v);
        } else if (const auto* d = std::get_if<double>(&params[i])) {
          text[i] = fmt::format("{}", *d);
        } else {
          text[i] = std::get<std::string>(params[i]);
        }
        values[i] = text[i].c_str();
      }
    }
    std::vector<std::string> text;
    std::vector<const char*> values;
  };

  // An unnamed statement: parsed, planned for these values and dropped.
  Result<Rows> ExecuteOneOff(std::string_view sql, std::span<const Value> params) {
    counter_->fetch_add(1, std::memory_order_relaxed);
    TextParams text(params);
    PgResult result(PQexecParams(conn_, std::string(sql).c_str(), static_cast<int>(params.size()), nullptr,
                                 text.values.data(), nullptr, nullptr, 0));
    return Collect(result.get(), sql);
  }

  Result<Rows> Collect(PGresult* result, std::string_view sql) const {
    COHORT_TRY(Check(result, sql));
    const int nrows = PQntuples(result);
    const int ncols = PQnfields(result);
    Rows rows(static_cast<std::size_t>(ncols));
    for (int r = 0; r < nrows; ++r) {
      for (int c = 0; c < ncols; ++c) {
        if (PQgetisnull(result, r, c)) {
          rows.AddCell(nullptr);
        } else {
          rows.AddCell(std::string(PQgetvalue(result, r, c), static_cast<std::size_t>(PQgetlength(result, r, c))));
        }
      }
    }
    return rows;
  }

  bool Reconnect() {
    PQreset(conn_);
    statements_.clear();  // prepared statements live in the server session that ended
    return PQstatus(conn_) == CONNECTION_OK;
  }

  void Rollback() {
    if (auto r = Execute("ROLLBACK", {}); !r) spdlog::warn("rollback failed: {}", r.error().internal_message);
  }

  Result<const std::string*> Prepare(std::string_view sql) {
    auto it = statements_.find(std::string(sql));
    if (it != statements_.end()) return &it->second;
    std::string name = fmt::format("s{}", statements_.size() + 1);
    PgResult result(PQprepare(conn_, name.c_str(), std::string(sql).c_str(), 0, nullptr));
    COHORT_TRY(Check(result.get(), sql));
    auto [pos, inserted] = statements_.emplace(std::string(sql), std::move(name));
    return &pos->second;
  }

  Result<void> Check(PGresult* result, std::string_view sql) const {
    const auto status = PQresultStatus(result);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return {};
    const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    const std::string sqlstate = state ? state : "";
    std::string internal =
        fmt::format("postgres error {}: {} in: {}", sqlstate, PQerrorMessage(conn_), sql.substr(0, 200));
    if (sqlstate == "23505") return Error{ErrorCode::kAlreadyExists, "already exists", std::move(internal)};
    if (sqlstate == "23503")
      return Error{ErrorCode::kFailedPrecondition, "a referenced row does not exist or is still referenced",
                   std::move(internal)};
    if (sqlstate == "57014") return Error{ErrorCode::kDeadlineExceeded, "the query took too long", std::move(internal)};
    if (PQstatus(conn_) != CONNECTION_OK || sqlstate.starts_with("08") || sqlstate.starts_with("57P"))
      return Error::Unavailable(std::move(internal));
    return Error::Internal(std::move(internal));
  }

  PGconn* conn_;
  std::atomic<std::uint64_t>* counter_;
  std::unordered_map<std::string, std::string> statements_;  // SQL text -> prepared statement name
};

void IgnoreNotice(void*, const char*) {}

}  // namespace

Result<std::unique_ptr<Database>> OpenPostgres(const std::string& url, std::size_t max_connections) {
  auto factory = [url](std::atomic<std::uint64_t>& counter) -> Result<std::unique_ptr<Connection>> {
    // Later keywords override earlier ones: a connect_timeout in the URL wins over the default here.
    const char* keys[] = {"connect_timeout", "dbname", nullptr};
    const char* values[] = {"5", url.c_str(), nullptr};
    PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string message = conn ? PQerrorMessage(conn) : "out of memory";
      PQfinish(conn);
      while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
      return Error{ErrorCode::kUnavailable, "cannot connect to PostgreSQL: " + message, message};
    }
    PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
    return std::unique_ptr<Connection>(std::make_unique<PostgresConnection>(conn, &counter));
  };
  auto db = std::make_unique<Database>(Dialect::kPostgres, std::move(factory), max_connections);
  COHORT_ASSIGN_OR_RETURN(Lease probe, db->Acquire());
  (void)probe;
  return db;
}

}  // namespace cohort::store::sql
