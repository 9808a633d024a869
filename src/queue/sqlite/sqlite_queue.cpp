#include "queue/sqlite/sqlite_queue.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <unordered_map>

#include "queue/dead_letter_table.hpp"
#include "store/sql/migrations.hpp"

namespace cohort::queue {
namespace {

using store::sql::Connection;
using store::sql::Rows;
using store::sql::Value;
using Params = std::vector<Value>;

constexpr store::sql::Migration kMigrations[] = {
    {1, "queue bindings and messages", R"sql(
CREATE TABLE queue_bindings (
  queue TEXT NOT NULL,
  pattern TEXT NOT NULL,
  PRIMARY KEY (queue, pattern)
);
CREATE TABLE queue_messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  message_id TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 1,
  last_error TEXT NOT NULL DEFAULT '',
  first_attempt_at_ms INTEGER,
  visible_at_ms INTEGER NOT NULL,
  lease INTEGER
);
CREATE INDEX queue_messages_visible ON queue_messages (queue, visible_at_ms);
)sql"},
};

std::int64_t NowMs() { return ToMillis(Clock::now()); }

Error LeaseLost(const Delivery& d) {
  return {ErrorCode::kFailedPrecondition, fmt::format("the lease on message '{}' ran out", d.id),
          fmt::format("queue {} seq {}", d.queue, d.tag)};
}

struct Counters {
  std::uint64_t published = 0;
  std::uint64_t acked = 0;
  std::uint64_t retried = 0;
  std::uint64_t dead_lettered = 0;
};

class SqliteQueue;

class SqliteSubscription final : public Subscription {
 public:
  SqliteSubscription(SqliteQueue& queue, std::string name, std::size_t prefetch)
      : queue_(queue), name_(std::move(name)), prefetch_(std::max<std::size_t>(1, prefetch)) {}
  ~SqliteSubscription() override;

  Result<std::optional<Delivery>> Next(std::chrono::milliseconds wait) override;
  Result<void> Ack(const Delivery& delivery) override;
  Result<void> Retry(const Delivery& delivery, std::chrono::milliseconds delay,
                     std::string_view error) override;
  Result<void> DeadLetter(const Delivery& delivery, const DeadLetterInfo& info) override;

 private:
  // The lease token of a delivery this subscription holds unsettled; nullopt if it holds none under that tag.
  std::optional<std::int64_t> Lease(const Delivery& delivery) const;
  // Commits the acks made since the last commit and leases up to `claim` more rows, in one transaction (a
  // lone claim is one statement, hence its own transaction). Nothing changes here unless it committed.
  Result<void> CommitAcksAndClaim(std::size_t claim);
  // Deletes the acked rows still under the lease they were acked with; the number deleted.
  Result<std::uint64_t> DeleteAcked(Connection& conn);
  Result<std::vector<Delivery>> Claim(Connection& conn, std::size_t limit, std::int64_t token);

  SqliteQueue& queue_;
  std::string name_;
  std::size_t prefetch_;
  std::deque<Delivery> buffered_;                           // claimed, not handed out yet
  std::unordered_map<std::uint64_t, std::int64_t> leases_;  // seq → lease token, for every unsettled row
  // Acked by the consumer, not committed yet (seq, lease token). Their rows keep their leases until the
  // commit, so a crash before it delivers them again after the visibility timeout; they count in the
  // prefetch window with the leases above, so they are at most `prefetch_`.
  std::vector<std::pair<std::uint64_t, std::int64_t>> acked_;
  std::chrono::steady_clock::time_point first_acked_at_;
  std::mt19937_64 random_{std::random_device{}()};
};

class SqliteQueue final : public MessageQueue {
 public:
  SqliteQueue(std::unique_ptr<store::sql::Database> db, const SqliteQueueOptions& options)
      : db_(std::move(db)), dead_letters_(*db_), options_(options) {}

  std::string_view backend() const override { return "sqlite"; }

  Result<void> Migrate() {
    COHORT_TRY(store::sql::ApplyMigrations(*db_, "queue", kMigrations));
    COHORT_TRY(dead_letters_.Migrate());
    return {};
  }

  Result<void> DeclareQueue(const QueueSpec& spec) override {
    if (spec.name.empty()) return Error::InvalidArgument("a queue needs a name");
    return db_->InTransaction<void>([&](Connection& conn) -> Result<void> {
      for (const std::string& pattern : spec.bindings) {
        COHORT_TRY(
            conn.Execute("INSERT INTO queue_bindings (queue, pattern) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                         Params{spec.name, pattern}));
      }
      if (spec.bindings.empty()) {  // a queue with no binding yet still shows in the stats
        COHORT_TRY(
            conn.Execute("INSERT INTO queue_bindings (queue, pattern) VALUES ($1, '') ON CONFLICT DO NOTHING",
                         Params{spec.name}));
      }
      return {};
    });
  }

  Result<void> Publish(std::span<const OutgoingMessage> messages) override {
    if (messages.empty()) return {};
    std::map<std::string, std::uint64_t> routed;
    auto committed = db_->InTransaction<void>([&](Connection& conn) -> Result<void> {
      // Read inside the transaction: a queue declared by another process a moment ago gets its copy.
      COHORT_ASSIGN_OR_RETURN(Rows bindings, conn.Execute("SELECT queue, pattern FROM queue_bindings"));
      const std::int64_t now = NowMs();
      // The queues of each message type of the batch, routed once per type.
      std::map<std::string_view, std::vector<std::string>> queues_of;
      struct Copy {
        const OutgoingMessage* message;
        const std::string* queue;
      };
      std::vector<Copy> copies;
      for (const OutgoingMessage& m : messages) {
        auto [it, fresh] = queues_of.try_emplace(m.type);
        if (fresh) {
          for (std::size_t r = 0; r < bindings.size(); ++r) {
            std::string queue = bindings.Text(r, 0);
            const std::string pattern = bindings.Text(r, 1);
            if (pattern.empty() || !TopicMatches(pattern, m.type)) continue;
            // Bindings come ordered by (queue, pattern) from the primary key, so one queue's rows are adjacent:
            // two patterns of one queue that match give one copy.
            if (!it->second.empty() && it->second.back() == queue) continue;
            it->second.push_back(std::move(queue));
          }
        }
        for (const std::string& queue : it->second) {
          copies.push_back({&m, &queue});
          ++routed[queue];
        }
      }
      return store::sql::InsertRows(
          conn, "INSERT INTO queue_messages (queue, message_id, type, payload, created_at_ms, visible_at_ms) VALUES ",
          "({0}, {1}, {2}, {3}, {4}, {5})", 6, "", copies.size(), [&](std::size_t i, Params& params) {
            const OutgoingMessage& m = *copies[i].message;
            params.emplace_back(*copies[i].queue);
            params.emplace_back(m.id);
            params.emplace_back(m.type);
            params.emplace_back(m.payload);
            params.emplace_back(ToMillis(m.created_at));
            params.emplace_back(now);
          });
    });
    if (!committed) return std::move(committed).error();
    {
      std::lock_guard lock(mutex_);
      for (const auto& [queue, n] : routed) counters_[queue].published += n;
    }
    Wake();
    return {};
  }

  Result<std::unique_ptr<Subscription>> Subscribe(std::string_view queue, std::size_t prefetch) override {
    if (queue.empty()) return Error::InvalidArgument("a queue needs a name");
    return std::unique_ptr<Subscription>(
        std::make_unique<SqliteSubscription>(*this, std::string(queue), prefetch));
  }

  Result<std::vector<QueueStats>> Stats() override {
    std::map<std::string, QueueStats> by_queue;
    {
      COHORT_ASSIGN_OR_RETURN(store::sql::Lease lease, db_->Acquire());
      COHORT_ASSIGN_OR_RETURN(Rows declared, lease->Execute("SELECT DISTINCT queue FROM queue_bindings"));
      for (std::size_t r = 0; r < declared.size(); ++r)
        by_queue[declared.Text(r, 0)].queue = declared.Text(r, 0);
      COHORT_ASSIGN_OR_RETURN(
          Rows rows,
          lease->Execute("SELECT queue, "
                         "SUM(CASE WHEN visible_at_ms <= $1 THEN 1 ELSE 0 END), "
                         "SUM(CASE WHEN visible_at_ms > $1 AND lease IS NOT NULL THEN 1 ELSE 0 END), "
                         "SUM(CASE WHEN visible_at_ms > $1 AND lease IS NULL THEN 1 ELSE 0 END) "
                         "FROM queue_messages GROUP BY queue",
                         Params{NowMs()}));
      for (std::size_t r = 0; r < rows.size(); ++r) {
        QueueStats& s = by_queue[rows.Text(r, 0)];
        s.queue = rows.Text(r, 0);
        s.ready = rows.Int(r, 1);
        s.in_flight = rows.Int(r, 2);
        s.retrying = rows.Int(r, 3);
      }
    }
    COHORT_ASSIGN_OR_RETURN(auto dead, dead_letters_.CountByQueue());
    for (const auto& [queue, n] : dead) {
      by_queue[queue].queue = queue;
      by_queue[queue].dead_lettered = n;
    }
    std::lock_guard lock(mutex_);
    std::vector<QueueStats> out;
    for (auto& [queue, s] : by_queue) {
      const Counters& c = counters_[queue];
      s.published_total = c.published;
      s.acked_total = c.acked;
      s.retried_total = c.retried;
      s.dead_lettered_total = c.dead_lettered;
      out.push_back(std::move(s));
    }
    return out;
  }

  Result<std::vector<queue::DeadLetter>> ListDeadLetters(const DeadLetterQuery& query) override {
    return dead_letters_.List(query);
  }

  Result<void> ReplayDeadLetter(std::string_view id) override {
    auto committed = db_->InTransaction<void>([&](Connection& conn) -> Result<void> {
      COHORT_ASSIGN_OR_RETURN(queue::DeadLetter letter, DeadLetterTable::Get(conn, id));
      COHORT_TRY(conn.Execute(
          "INSERT INTO queue_messages (queue, message_id, type, payload, created_at_ms, visible_at_ms) "
          "VALUES ($1, $2, $3, $4, $5, $6)",
          Params{letter.queue, letter.message_id, letter.type, letter.payload, ToMillis(letter.created_at),
                 NowMs()}));
      return DeadLetterTable::Delete(conn, id);
    });
    if (!committed) return std::move(committed).error();
    Wake();
    return {};
  }

  Result<void> DropDeadLetter(std::string_view id) override { return dead_letters_.Drop(id); }

  Result<void> Ping() override {
    COHORT_ASSIGN_OR_RETURN(store::sql::Lease lease, db_->Acquire());
    COHORT_TRY(lease->Execute("SELECT 1"));
    return {};
  }

  store::sql::Database& db() { return *db_; }
  const SqliteQueueOptions& options() const { return options_; }

  void Count(const std::string& queue, std::uint64_t Counters::*field, std::uint64_t n = 1) {
    std::lock_guard lock(mutex_);
    counters_[queue].*field += n;
  }

  void Wake() {
    {
      std::lock_guard lock(mutex_);
      ++generation_;
    }
    changed_.notify_all();
  }

  // Waits until a publish in this process, or `until`.
  void WaitForChange(std::uint64_t seen, std::chrono::steady_clock::time_point until) {
    std::unique_lock lock(mutex_);
    changed_.wait_until(lock, until, [&] { return generation_ != seen; });
  }

  std::uint64_t generation() {
    std::lock_guard lock(mutex_);
    return generation_;
  }

 private:
  std::unique_ptr<store::sql::Database> db_;
  DeadLetterTable dead_letters_;
  SqliteQueueOptions options_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t generation_ = 0;
  std::map<std::string, Counters> counters_;
};

SqliteSubscription::~SqliteSubscription() {
  if (leases_.empty() && acked_.empty()) return;
  // Commit the acks, and give back the unsettled rows so that another consumer takes them now rather than
  // after the visibility timeout. Best effort: an ack that fails here is only delivered again, and a row not
  // given back comes back when its lease runs out.
  std::uint64_t deleted = 0;
  auto committed = queue_.db().InTransaction<void>([&](Connection& conn) -> Result<void> {
    COHORT_ASSIGN_OR_RETURN(deleted, DeleteAcked(conn));
    for (const auto& [seq, token] : leases_) {
      COHORT_TRY(conn.Execute(
          "UPDATE queue_messages SET lease = NULL, visible_at_ms = $3 WHERE seq = $1 AND lease = $2",
          Params{static_cast<std::int64_t>(seq), token, NowMs()}));
    }
    return {};
  });
  if (committed) {
    queue_.Count(name_, &Counters::acked, deleted);
  } else {
    spdlog::warn("queue {}: closing a subscription: {} acks and {} leases left to the visibility timeout: {}",
                 name_, acked_.size(), leases_.size(), committed.error().internal_message);
  }
  queue_.Wake();
}

std::optional<std::int64_t> SqliteSubscription::Lease(const Delivery& delivery) const {
  auto it = leases_.find(delivery.tag);
  if (it == leases_.end()) return std::nullopt;
  return it->second;
}

Result<std::vector<Delivery>> SqliteSubscription::Claim(Connection& conn, std::size_t limit,
                                                        std::int64_t token) {
  const std::int64_t now = NowMs();
  COHORT_ASSIGN_OR_RETURN(
      Rows rows,
      conn.Execute("UPDATE queue_messages SET lease = $1, visible_at_ms = $2, "
                   "first_attempt_at_ms = COALESCE(first_attempt_at_ms, $3) "
                   "WHERE seq IN (SELECT seq FROM queue_messages WHERE queue = $4 AND visible_at_ms <= $3 "
                   "ORDER BY visible_at_ms, seq LIMIT $5) "
                   "RETURNING seq, message_id, type, payload, attempt, created_at_ms, last_error",
                   Params{token, now + queue_.options().visibility_timeout.count(), now, name_,
                          static_cast<std::int64_t>(limit)}));
  std::vector<Delivery> claimed;
  claimed.reserve(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    Delivery d;
    d.tag = static_cast<std::uint64_t>(rows.Int(r, 0));
    d.id = rows.Text(r, 1);
    d.type = rows.Text(r, 2);
    d.payload = rows.Text(r, 3);
    d.attempt = static_cast<int>(rows.Int(r, 4));
    d.created_at = FromMillis(rows.Int(r, 5));
    d.last_error = rows.Text(r, 6);
    d.queue = name_;
    claimed.push_back(std::move(d));
  }
  return claimed;
}

// The acked rows still under their lease, one statement per lease token (the acks of one claim are one run):
// the sequence numbers go as one JSON array, so the statement is prepared once whatever their number.
Result<std::uint64_t> SqliteSubscription::DeleteAcked(Connection& conn) {
  std::uint64_t deleted = 0;
  for (std::size_t first = 0; first < acked_.size();) {
    const std::int64_t token = acked_[first].second;
    std::string seqs = "[";
    std::size_t end = first;
    for (; end < acked_.size() && acked_[end].second == token; ++end)
      fmt::format_to(std::back_inserter(seqs), "{}{}", end == first ? "" : ",", acked_[end].first);
    seqs += ']';
    COHORT_ASSIGN_OR_RETURN(Rows rows,
                            conn.Execute("DELETE FROM queue_messages WHERE lease = $1 AND seq IN "
                                         "(SELECT value FROM json_each($2)) RETURNING seq",
                                         Params{token, std::move(seqs)}));
    deleted += rows.size();
    first = end;
  }
  return deleted;
}

Result<void> SqliteSubscription::CommitAcksAndClaim(std::size_t claim) {
  if (acked_.empty() && claim == 0) return {};
  const std::int64_t token = static_cast<std::int64_t>(random_() >> 1);
  std::vector<Delivery> claimed;
  std::uint64_t deleted = 0;
  if (acked_.empty()) {
    COHORT_ASSIGN_OR_RETURN(store::sql::Lease lease, queue_.db().Acquire());
    COHORT_ASSIGN_OR_RETURN(claimed, Claim(*lease, claim, token));
  } else {
    auto committed = queue_.db().InTransaction<void>([&](Connection& conn) -> Result<void> {
      COHORT_ASSIGN_OR_RETURN(deleted, DeleteAcked(conn));
      if (claim == 0) return {};
      COHORT_ASSIGN_OR_RETURN(claimed, Claim(conn, claim, token));
      return {};
    });
    if (!committed) return std::move(committed).error();
    if (deleted < acked_.size()) {
      // Their leases ran out before the commit: they are delivered again, and the processed-message records
      // make that harmless.
      spdlog::warn("queue {}: {} acks came after the visibility timeout; those messages are delivered again",
                   name_, acked_.size() - deleted);
    }
    queue_.Count(name_, &Counters::acked, deleted);
    acked_.clear();
  }
  for (Delivery& d : claimed) {
    leases_[d.tag] = token;
    buffered_.push_back(std::move(d));
  }
  return {};
}

Result<std::optional<Delivery>> SqliteSubscription::Next(std::chrono::milliseconds wait) {
  const auto until = std::chrono::steady_clock::now() + wait;
  while (true) {
    if (!buffered_.empty()) {
      // A slow handler would otherwise keep the window's first acks uncommitted for the whole window.
      if (!acked_.empty() &&
          std::chrono::steady_clock::now() - first_acked_at_ >= queue_.options().ack_commit_delay)
        COHORT_TRY(CommitAcksAndClaim(0));
      Delivery d = std::move(buffered_.front());
      buffered_.pop_front();
      return std::optional<Delivery>(std::move(d));
    }
    const std::uint64_t seen = queue_.generation();
    COHORT_TRY(CommitAcksAndClaim(prefetch_ > leases_.size() ? prefetch_ - leases_.size() : 0));
    if (!buffered_.empty()) continue;
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) return std::optional<Delivery>();
    queue_.WaitForChange(seen, std::min(until, now + queue_.options().poll_interval));
  }
}

Result<void> SqliteSubscription::Ack(const Delivery& delivery) {
  auto token = Lease(delivery);
  if (!token) return LeaseLost(delivery);
  leases_.erase(delivery.tag);
  if (acked_.empty()) first_acked_at_ = std::chrono::steady_clock::now();
  acked_.emplace_back(delivery.tag, *token);
  return {};
}

Result<void> SqliteSubscription::Retry(const Delivery& delivery, std::chrono::milliseconds delay,
                                       std::string_view error) {
  auto token = Lease(delivery);
  if (!token) return LeaseLost(delivery);
  leases_.erase(delivery.tag);
  COHORT_ASSIGN_OR_RETURN(store::sql::Lease lease, queue_.db().Acquire());
  COHORT_ASSIGN_OR_RETURN(
      Rows rows,
      lease->Execute("UPDATE queue_messages SET attempt = attempt + 1, last_error = $3, visible_at_ms = $4, "
                     "lease = NULL WHERE seq = $1 AND lease = $2 RETURNING seq",
                     Params{static_cast<std::int64_t>(delivery.tag), *token, std::string(error),
                            NowMs() + std::max<std::int64_t>(0, delay.count())}));
  if (rows.empty()) return LeaseLost(delivery);
  queue_.Count(name_, &Counters::retried);
  if (delay.count() <= 0) queue_.Wake();
  return {};
}

Result<void> SqliteSubscription::DeadLetter(const Delivery& delivery, const DeadLetterInfo& info) {
  auto token = Lease(delivery);
  if (!token) return LeaseLost(delivery);
  leases_.erase(delivery.tag);
  auto committed = queue_.db().InTransaction<void>([&](Connection& conn) -> Result<void> {
    COHORT_ASSIGN_OR_RETURN(Rows rows,
                            conn.Execute("DELETE FROM queue_messages WHERE seq = $1 AND lease = $2 "
                                         "RETURNING attempt, COALESCE(first_attempt_at_ms, created_at_ms)",
                                         Params{static_cast<std::int64_t>(delivery.tag), *token}));
    if (rows.empty()) return LeaseLost(delivery);
    queue::DeadLetter letter;
    letter.queue = delivery.queue;
    letter.message_id = delivery.id;
    letter.type = delivery.type;
    letter.payload = delivery.payload;
    letter.error = info.error;
    letter.attempts = static_cast<int>(rows.Int(0, 0));
    letter.created_at = delivery.created_at;
    letter.first_attempt_at = FromMillis(rows.Int(0, 1));  // kept in the row across retries
    letter.dead_lettered_at = info.last_attempt_at;
    return DeadLetterTable::Insert(conn, letter);
  });
  if (!committed) return std::move(committed).error();
  queue_.Count(name_, &Counters::dead_lettered);
  return {};
}

}  // namespace

Result<std::unique_ptr<MessageQueue>> OpenSqliteQueue(const SqliteQueueOptions& options) {
  COHORT_ASSIGN_OR_RETURN(
      auto db, store::sql::OpenSqlite(options.path, std::max<std::size_t>(2, options.connections)));
  auto queue = std::make_unique<SqliteQueue>(std::move(db), options);
  COHORT_TRY(queue->Migrate());
  return std::unique_ptr<MessageQueue>(std::move(queue));
}

}  // namespace cohort::queue
