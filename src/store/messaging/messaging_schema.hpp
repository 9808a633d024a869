#pragma once
// The messaging tables of the relational database: the outbox that domain writes fill in their own
// transaction, the consumers' processed-message records, and the tables the consumers maintain
// (notifications, per-user event counters, impression counters). They sit beside the users so that an effect
// and its processed-message record commit together.

#include <span>

#include "store/sql/migrations.hpp"

namespace cohort::store {

inline constexpr std::string_view kMessagingComponent = "messaging";
std::span<const sql::Migration> MessagingMigrations(sql::Dialect dialect);

}  // namespace cohort::store
