// EventStore over the SQL layer, for SQLite and PostgreSQL. The statements are the same text in both except
// for the ingestion path, where PostgreSQL's COPY is an order of magnitude faster than row-by-row INSERTs.

#include "store/events/sql_event_store.hpp"

#include <algorithm>
#include <limits>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "store/events/event_history.hpp"
#include "store/events/event_schema.hpp"
#include "store/messaging/messaging_schema.hpp"
#include "store/messaging/outbox.hpp"
#include "store/events/sql_pipeline.hpp"

namespace cohort::store {
namespace {

using sql::Connection;
using sql::Rows;
using sql::Value;
using Params = std::vector<Value>;

constexpr std::string_view kEventColumns =
    "event_id, user_id, type, product_id, category, price, quantity, ts, properties";
// kEventColumns without the details (EventQuery::details).
constexpr std::string_view kBehaviourColumns = "user_id, type, product_id, category, price, quantity, ts";

Value Optional(const std::optional<std::string>& v) { return v ? Value{*v} : Value{nullptr}; }

constexpr std::string_view kMaxSeq = "SELECT COALESCE(MAX(seq), 0) FROM events";

// An event's values in the order of kEventColumns.
void AppendValues(const domain::Event& e, std::vector<Value>& values) {
  values.emplace_back(e.event_id);
  values.emplace_back(e.user_id);
  values.emplace_back(e.type);
  values.push_back(Optional(e.product_id));
  values.push_back(Optional(e.category));
  values.push_back(e.price ? Value{*e.price} : Value{nullptr});
  values.emplace_back(e.quantity);
  values.emplace_back(e.ts_micros);
  values.emplace_back(e.properties);
}

// Rows of kEventColumns, in order, as events; rows of kBehaviourColumns when not `details`.
std::vector<domain::Event> EventsFromRows(Rows& rows, bool details = true) {
  const std::size_t first = details ? 1 : 0;  // the column of user_id
  std::vector<domain::Event> out;
  out.reserve(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    domain::Event e;
    if (details) {
      e.event_id = rows.TakeText(r, 0);
      e.properties = rows.TakeText(r, first + 7);
    }
    e.user_id = rows.TakeText(r, first);
    e.type = rows.TakeText(r, first + 1);
    if (!rows.IsNull(r, first + 2)) e.product_id = rows.TakeText(r, first + 2);
    if (!rows.IsNull(r, first + 3)) e.category = rows.TakeText(r, first + 3);
    if (!rows.IsNull(r, first + 4)) e.price = rows.Double(r, first + 4);
    e.quantity = rows.Int(r, first + 5);
    e.ts_micros = rows.Int(r, first + 6);
    out.push_back(std::move(e));
  }
  return out;
}

class SqlEventStore final : public EventStore {
 public:
  explicit SqlEventStore(std::unique_ptr<sql::Database> db) : db_(std::move(db)) {}

  std::string_view backend() const override {
    return db_->dialect() == sql::Dialect::kSqlite ? "sqlite" : "postgres";
  }
  bool in_process() const override { return db_->dialect() == sql::Dialect::kSqlite; }

  Result<int> Migrate() override {
    // The outbox that Append writes to lives in this same database (messaging_schema.hpp).
    COHORT_TRY(sql::ApplyMigrations(*db_, kMessagingComponent, MessagingMigrations(db_->dialect())));
    return sql::ApplyMigrations(*db_, kEventsComponent, EventMigrations(db_->dialect()));
  }

  Result<void> Ping() override {
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    COHORT_TRY(lease->Execute("SELECT 1"));
    return {};
  }

  Result<AppendCounts> Append(std::span<const domain::Event> events) override {
    if (events.empty()) return AppendCounts{};
    if (db_->dialect() == sql::Dialect::kPostgres) return AppendByCopy(events);
    return db_->InTransaction<AppendCounts>([&](Connection& conn) -> Result<AppendCounts> {
      // One multi-row INSERT per 256 events (RETURNING or a changes() per row would cost a statement journal or
      // a statement per event). BEGIN IMMEDIATE holds the write lock, so the rows past the highest seq before
      // the INSERTs are exactly the ones it stored, numbered in arrival order: when there are as many as events,
      // every event was stored, else they are read back to tell which.
      COHORT_ASSIGN_OR_RETURN(Rows before, conn.Execute(kMaxSeq));
      COHORT_TRY(sql::InsertRows(conn, fmt::format("INSERT INTO events ({}) VALUES ", kEventColumns),
                                 "({0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, json({8}))", 9,
                                 " ON CONFLICT (event_id) DO NOTHING", events.size(),
                                 [&](std::size_t i, std::vector<Value>& params) { AppendValues(events[i], params); }));
      COHORT_ASSIGN_OR_RETURN(Rows after, conn.Execute(kMaxSeq));
      const auto inserted = static_cast<std::size_t>(after.Int(0, 0) - before.Int(0, 0));
      std::vector<domain::Event> stored;
      if (inserted == events.size()) {
        stored.assign(events.begin(), events.end());
      } else {
        COHORT_ASSIGN_OR_RETURN(Rows ids, conn.Execute("SELECT event_id FROM events WHERE seq > $1",
                                                       Params{before.Int(0, 0)}));
        std::unordered_set<std::string> new_ids;
        for (std::size_t r = 0; r < ids.size(); ++r) new_ids.insert(ids.Text(r, 0));
        // A repeat inside the batch conflicted with its first copy, which alone was stored.
        for (const auto& e : events)
          if (new_ids.erase(e.event_id) > 0) stored.push_back(e);
      }
      // The event.ingested messages commit with the events (transactional outbox).
      COHORT_TRY(WriteOutbox(conn, domain::EventIngestedMessages(stored)));
      return AppendCounts{.accepted = stored.size(), .duplicates = events.size() - stored.size()};
    });
  }

  Result<std::vector<domain::Event>> UserEvents(const EventQuery& query) override {
    std::vector<domain::Event> out;
    if (query.limit == 0) return out;
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    if (db_->dialect() == sql::Dialect::kSqlite && !query.details) {
      COHORT_ASSIGN_OR_RETURN(History history, ReadHistory(*lease, query));
      if (history) return std::move(*history);
    }
    Params params{query.user_id};
    std::string where = "user_id = $1";
    if (query.type) {
      params.emplace_back(*query.type);
      where += fmt::format(" AND type = ${}", params.size());
    }
    if (query.since_micros) {
      params.emplace_back(*query.since_micros);
      where += fmt::format(" AND ts >= ${}", params.size());
    }
    params.emplace_back(static_cast<std::int64_t>(
        std::min<std::size_t>(query.limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max()))));
    // Served by the index on (user_id, ts, ...), which in SQLite holds every column. Events of the same instant
    // come in descending binary order of event_id, as in every backend (event_id is COLLATE "C" in PostgreSQL,
    // BINARY in SQLite).
    const std::string sql = fmt::format("SELECT {} FROM events WHERE {} ORDER BY ts DESC, event_id DESC LIMIT ${}",
                                        query.details ? kEventColumns : kBehaviourColumns, where, params.size());
    COHORT_ASSIGN_OR_RETURN(Rows rows, Query(*lease, query, sql, params));
    return EventsFromRows(rows, query.details);
  }

  // SQLite's event_history rows of the user (event_history.hpp), filtered and newest first as the index would
  // give them. Nothing when the user has more than about four times `limit` events, where reading the newest
  // from the index costs less, or when a row does not parse (the index is the record).
  using History = std::optional<std::vector<domain::Event>>;
  static Result<History> ReadHistory(Connection& conn, const EventQuery& query) {
    const auto parts = static_cast<std::int64_t>(std::min<std::size_t>(query.limit, 1u << 30) / 4 + 1);
    COHORT_ASSIGN_OR_RETURN(Rows rows, Query(conn, query,
                                             "SELECT events FROM event_history WHERE user_id = $1 LIMIT $2",
                                             Params{query.user_id, parts + 1}));
    if (rows.size() > static_cast<std::size_t>(parts)) return History();
    std::vector<std::string> texts;  // the parsed records point into them
    texts.reserve(rows.size());
    std::vector<HistoryEvent> history;
    history.reserve(rows.size() * 16);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      if (!ParseEventHistory(texts.emplace_back(rows.TakeText(r, 0)), history)) {
        spdlog::warn("event store: a row of event_history of user '{}' does not parse; reading the events index",
                     query.user_id);
        return History();
      }
    }
    // Sorted as small keys: moving whole events about cost more than reading them.
    struct Key {
      std::int64_t ts;
      std::string_view event_id;
      std::size_t index;
    };
    std::vector<Key> keys;
    keys.reserve(history.size());
    const std::string raw_type = query.type ? RawHistoryText(*query.type) : std::string();
    for (std::size_t i = 0; i < history.size(); ++i) {
      const HistoryEvent& h = history[i];
      if (query.type && h.type != raw_type) continue;
      if (query.since_micros && h.ts_micros < *query.since_micros) continue;
      keys.push_back({h.ts_micros, h.event_id, i});
    }
    const auto newer = [](const Key& a, const Key& b) {
      return a.ts != b.ts ? a.ts > b.ts : a.event_id > b.event_id;
    };
    const auto keep = static_cast<std::ptrdiff_t>(std::min(query.limit, keys.size()));
    if (keep < std::ssize(keys)) std::nth_element(keys.begin(), keys.begin() + keep, keys.end(), newer);
    std::sort(keys.begin(), keys.begin() + keep, newer);
    std::vector<domain::Event> out;
    out.reserve(static_cast<std::size_t>(keep));
    for (auto key = keys.begin(); key != keys.begin() + keep; ++key) {
      domain::Event& e = out.emplace_back();
      BuildEvent(history[key->index], e);
      e.user_id = query.user_id;
    }
    return History(std::move(out));
  }

  // A read of the user's events, under the query's time limit when it has one.
  static Result<Rows> Query(Connection& conn, const EventQuery& query, std::string_view sql, const Params& params) {
    if (!query.time_limit) return conn.Execute(sql, params);
    return conn.ExecuteWithTimeLimit(sql, params, *query.time_limit, Connection::Caching::kPrepareAndKeep);
  }

  Result<void> Scan(std::size_t page_size, const EventPageSink& sink) override {
    // Keyset on user_id alone, which the (user_id, ts) index serves: a page ends at a user boundary, so a page
    // that stops inside a user drops that user's rows and the next page starts with them.
    const auto limit = static_cast<std::int64_t>(std::max<std::size_t>(2, page_size));
    const std::string first =
        fmt::format("SELECT {} FROM events ORDER BY user_id, ts, event_id LIMIT $1", kEventColumns);
    const std::string next = fmt::format(
        "SELECT {} FROM events WHERE user_id > $1 ORDER BY user_id, ts, event_id LIMIT $2", kEventColumns);
    const std::string one_user =
        fmt::format("SELECT {} FROM events WHERE user_id = $1 ORDER BY ts, event_id", kEventColumns);
    std::optional<std::string> after;
    while (true) {
      COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
      COHORT_ASSIGN_OR_RETURN(Rows rows, after ? lease->Execute(next, Params{*after, limit})
                                               : lease->Execute(first, Params{limit}));
      std::vector<domain::Event> page = EventsFromRows(rows);
      if (page.empty()) return {};
      const bool last_page = page.size() < static_cast<std::size_t>(limit);
      if (!last_page) {
        const std::string cut = page.back().user_id;
        if (page.front().user_id == cut) {  // one user with more events than a page: read them whole
          COHORT_ASSIGN_OR_RETURN(Rows all, lease->Execute(one_user, Params{cut}));
          page = EventsFromRows(all);
        } else {
          while (page.back().user_id == cut) page.pop_back();
        }
      }
      after = page.back().user_id;
      COHORT_TRY(sink(page));
      if (last_page) return {};
    }
  }

  Result<std::vector<nlohmann::json>> Aggregate(const events::Pipeline& pipeline,
                                                const events::PipelineLimits& limits) override {
    const events::CompiledPipeline compiled = events::CompileToSql(pipeline, db_->dialect(), limits.max_rows);
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    COHORT_ASSIGN_OR_RETURN(Rows rows, lease->ExecuteWithTimeLimit(compiled.sql, compiled.params, limits.timeout,
                                                                   Connection::Caching::kOneOff));
    if (rows.size() > limits.max_rows)
      return Error{ErrorCode::kResourceExhausted,
                   fmt::format("the result has more than {} rows; add a $limit stage", limits.max_rows),
                   "pipeline result past max_rows"};
    return events::RowsToDocuments(compiled, rows);
  }

  Result<std::int64_t> Count() override {
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    COHORT_ASSIGN_OR_RETURN(Rows rows, lease->Execute("SELECT COUNT(*) FROM events"));
    return rows.Int(0, 0);
  }

 private:
  Result<AppendCounts> AppendByCopy(std::span<const domain::Event> events) {
    static constexpr std::string_view kColumns[] = {"ord",      "event_id", "user_id", "type",      "product_id",
                                                    "category", "price",    "quantity", "ts",       "properties"};
    std::vector<Value> values;
    values.reserve(events.size() * std::size(kColumns));
    std::int64_t ord = 0;
    for (const auto& e : events) {
      values.emplace_back(ord++);
      AppendValues(e, values);
    }
    return db_->InTransaction<AppendCounts>([&](Connection& conn) -> Result<AppendCounts> {
      // Dropped at COMMIT (and gone with a ROLLBACK): nothing to clean up on this pooled connection.
      COHORT_TRY(conn.Execute(
          "CREATE TEMPORARY TABLE events_incoming (ord BIGINT, event_id TEXT, user_id TEXT, type TEXT, "
          "product_id TEXT, category TEXT, price DOUBLE PRECISION, quantity BIGINT, ts BIGINT, properties JSONB) "
          "ON COMMIT DROP"));
      COHORT_TRY(conn.CopyRows("events_incoming", kColumns, values));
      // In arrival order, so that seq follows it; a repeat inside the batch conflicts with its first copy.
      COHORT_ASSIGN_OR_RETURN(
          Rows inserted,
          conn.Execute(fmt::format("WITH inserted AS (INSERT INTO events ({0}) SELECT {0} FROM events_incoming "
                                   "ORDER BY ord ON CONFLICT (event_id) DO NOTHING RETURNING event_id) "
                                   "SELECT event_id FROM inserted",
                                   kEventColumns)));
      AppendCounts counts;
      counts.accepted = inserted.size();
      counts.duplicates = events.size() - counts.accepted;
      // The event.ingested messages commit with the events (transactional outbox). A repeat inside the batch
      // carries the id of its first copy, which alone was stored.
      std::unordered_set<std::string> stored_ids;
      for (std::size_t r = 0; r < inserted.size(); ++r) stored_ids.insert(inserted.Text(r, 0));
      std::vector<domain::Event> stored;
      for (const auto& e : events)
        if (stored_ids.erase(e.event_id) > 0) stored.push_back(e);
      COHORT_TRY(WriteOutbox(conn, domain::EventIngestedMessages(stored)));
      return counts;
    });
  }

  std::unique_ptr<sql::Database> db_;
};

}  // namespace

Result<std::unique_ptr<EventStore>> OpenSqlEventStore(std::unique_ptr<sql::Database> db) {
  if (!db) return Error::Internal("OpenSqlEventStore: no database");
  return std::unique_ptr<EventStore>(std::make_unique<SqlEventStore>(std::move(db)));
}

Result<std::unique_ptr<EventStore>> OpenSqlEventStore(const std::string& sqlite_path, const std::string& postgres_url,
                                                      std::size_t max_connections) {
  auto db = sql::OpenDatabase(sqlite_path, postgres_url, max_connections);
  if (!db) return std::move(db).error();
  return OpenSqlEventStore(std::move(db).value());
}

}  // namespace cohort::store
