#pragma once

#include <span>

#include "store/sql/migrations.hpp"

namespace cohort::store {

inline constexpr std::string_view kRelationalComponent = "relational";
std::span<const sql::Migration> RelationalMigrations(sql::Dialect dialect);

}  // namespace cohort::store
