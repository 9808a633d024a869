#pragma once
// The transactional outbox: a domain write inserts the messages it causes into `outbox` inside its own
// transaction (WriteOutbox), so that both commit or neither does; a relay (queue/outbox_relay.hpp) reads them
// in id order, publishes them and deletes them once the queue confirmed. The message id is "outbox-<row id>":
// a row published twice (the relay died between publish and delete, or two relays raced) reaches the
// consumers twice under one id, and their processed-message records drop the second copy.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "domain/messages.hpp"
#include "store/sql/database.hpp"

namespace cohort::store {

struct OutboxRow {
  std::int64_t id = 0;
  std::string type;
  std::string payload;
  std::int64_t created_at_ms = 0;
  std::string message_id;  // the draft's id, else OutboxMessageId(id)
};

std::string OutboxMessageId(std::int64_t row_id);

// Inserts `messages` on `conn`, which the caller has inside its transaction.
Result<void> WriteOutbox(sql::Connection& conn, std::span<const domain::MessageDraft> messages);

// The relay's side of the outbox.
class Outbox {
 public:
  explicit Outbox(sql::Database& db) : db_(db) {}
  // The oldest `limit` rows, by id.
  Result<std::vector<OutboxRow>> Oldest(std::size_t limit);
  Result<void> Delete(std::span<const std::int64_t> ids);
  Result<std::int64_t> Pending();
  // Outbox and consumer tables (messaging_schema.hpp).
  Result<int> Migrate();

 private:
  sql::Database& db_;
};

}  // namespace cohort::store
