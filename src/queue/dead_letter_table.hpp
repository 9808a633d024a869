#pragma once
// Dead letters kept in a SQL table, so that they can be listed, replayed and dropped by id. The embedded
// queue keeps its dead letters here (in its own database); a broker-backed queue may move the messages of its
// dead-letter queues here too. Writes that must commit with another change take the caller's connection.

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "queue/message_queue.hpp"
#include "store/sql/database.hpp"

namespace cohort::queue {

class DeadLetterTable {
 public:
  explicit DeadLetterTable(store::sql::Database& db) : db_(db) {}

  Result<int> Migrate();

  // `letter.id` is ignored: the table numbers its rows.
  static Result<void> Insert(store::sql::Connection& conn, const DeadLetter& letter);
  // kNotFound when there is no such dead letter (or `id` is not one of ours).
  static Result<DeadLetter> Get(store::sql::Connection& conn, std::string_view id);
  static Result<void> Delete(store::sql::Connection& conn, std::string_view id);

  Result<std::vector<DeadLetter>> List(const DeadLetterQuery& query);
  Result<std::unordered_map<std::string, std::int64_t>> CountByQueue();
  Result<void> Drop(std::string_view id);

 private:
  store::sql::Database& db_;
};

std::int64_t ToMillis(Clock::time_point t);
Clock::time_point FromMillis(std::int64_t ms);

}  // namespace cohort::queue
