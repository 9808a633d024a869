#pragma once
// Versioned schema migrations: each store lists its migrations per dialect; applied ones are recorded in
// schema_migrations(component, version), each migration in its own transaction.

#include <span>
#include <string_view>

#include "store/sql/database.hpp"

namespace cohort::store::sql {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;  // one or more statements
};

// Applies the migrations of `component` that are missing, in order; returns the version afterwards.
Result<int> ApplyMigrations(Database& db, std::string_view component, std::span<const Migration> migrations);
Result<int> CurrentVersion(Database& db, std::string_view component);

}  // namespace cohort::store::sql
