// PostgreSQL driver on libpq: text parameters, statements prepared once per connection, SQLSTATE mapped to
// error codes, a connect timeout so that a dead server fails fast.

#include <libpq-fe.h>

#include <string>
#include <unordered_map>

#include <fmt/format.h>

#include "store/sql/database.hpp"

namespace cohort::store::sql {
namespace {

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

  Result<Rows> Execute(std::string_view sql, std::span<const Value> params) override {
    counter_->fetch_add(1, std::memory_order_relaxed);
    COHORT_ASSIGN_OR_RETURN(const std::string* name, Prepare(sql));
    std::vector<std::string> text(params.size());
    std::vector<const char*> values(params.size(), nullptr);
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
    PgResult result(PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()), values.data(),
                                   nullptr, nullptr, 0));
    COHORT_TRY(Check(result.get(), sql));
    const int nrows = PQntuples(result.get());
    const int ncols = PQnfields(result.get());
    Rows rows(static_cast<std::size_t>(ncols));
    for (int r = 0; r < nrows; ++r) {
      for (int c = 0; c < ncols; ++c) {
        if (PQgetisnull(result.get(), r, c)) {
          rows.AddCell(std::nullopt);
        } else {
          rows.AddCell(std::string(PQgetvalue(result.get(), r, c),
                                   static_cast<std::size_t>(PQgetlength(result.get(), r, c))));
        }
      }
    }
    return rows;
  }

  Result<void> ExecuteScript(std::string_view sql) override {
    counter_->fetch_add(1, std::memory_order_relaxed);
    PgResult result(PQexec(conn_, std::string(sql).c_str()));
    return Check(result.get(), sql);
  }

  bool Healthy() const override { return PQstatus(conn_) == CONNECTION_OK; }

 private:
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
