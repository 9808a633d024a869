#include "store/sql/migrations.hpp"

#include <spdlog/spdlog.h>

#include "common/time.hpp"

namespace cohort::store::sql {
namespace {

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, "
    "name TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (component, version))";

Result<int> VersionOn(Connection& conn, std::string_view component) {
  COHORT_ASSIGN_OR_RETURN(Rows rows, conn.Execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations "
                                                  "WHERE component = $1",
                                                  std::vector<Value>{std::string(component)}));
  return static_cast<int>(rows.Int(0, 0));
}

}  // namespace

Result<int> CurrentVersion(Database& db, std::string_view component) {
  COHORT_ASSIGN_OR_RETURN(Lease lease, db.Acquire());
  COHORT_TRY(lease->ExecuteScript(kCreateTable));
  return VersionOn(*lease, component);
}

Result<int> ApplyMigrations(Database& db, std::string_view component, std::span<const Migration> migrations) {
  COHORT_ASSIGN_OR_RETURN(int version, CurrentVersion(db, component));
  const bool filled = version > 0;  // the store has data a migration may take a while over
  for (const Migration& m : migrations) {
    if (m.version <= version) continue;
    auto applied = db.InTransaction<int>([&](Connection& conn) -> Result<int> {
      if (db.dialect() == Dialect::kPostgres) {
        // Two processes migrating at once: the second waits here, then sees the work done.
        COHORT_TRY(conn.Execute("SELECT pg_advisory_xact_lock(7240418)"));
      }
      COHORT_ASSIGN_OR_RETURN(int now, VersionOn(conn, component));
      if (now >= m.version) return now;
      // On a filled store a migration can take a while (an index over millions of rows): say so first.
      if (filled)
        spdlog::info("migration {} {} '{}' running on the stored data", component, m.version, m.name);
      COHORT_TRY(conn.ExecuteScript(m.sql));
      COHORT_TRY(conn.Execute(
          "INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ($1, $2, $3, $4)",
          std::vector<Value>{std::string(component), std::int64_t{m.version}, std::string(m.name),
                             NowRfc3339()}));
      spdlog::info("migration {} {} '{}' applied", component, m.version, m.name);
      return m.version;
    });
    if (!applied) return std::move(applied).error();
    version = applied.value();
  }
  return version;
}

}  // namespace cohort::store::sql
