#pragma once
// Behavioural events as documents, behind one interface: idempotent batch ingestion, per-user history
// (indexed by user and time) and read-only aggregation pipelines. Backends: sqlite/, postgres/, mongo/.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "domain/event.hpp"
#include "store/events/pipeline.hpp"

namespace cohort::store {

struct AppendCounts {
  std::size_t accepted = 0;    // newly stored
  std::size_t duplicates = 0;  // already stored under the same event_id (or twice in this batch)
};

struct EventQuery {
  std::string user_id;
  std::optional<std::string> type;
  std::optional<std::int64_t> since_micros;  // ts >= since
  std::size_t limit = 100;
  // False: each event's event_id and properties are not read (left empty and "{}"). The analytics use neither,
  // and in SQLite they were a third of the cost of reading a user's history.
  bool details = true;
  // Fails with kDeadlineExceeded once the read has run this long (SQLite: checked while the statement runs).
  std::optional<std::chrono::milliseconds> time_limit;
};

// Receives the events of a scan a page at a time; an error stops the scan and is returned by Scan.
using EventPageSink = std::function<Result<void>(std::vector<domain::Event>& page)>;

class EventStore {
 public:
  virtual ~EventStore() = default;

  virtual std::string_view backend() const = 0;  // "sqlite", "postgres" or "mongo"
  // True when reads run inside this process (SQLite): they cannot hang on a server that stops answering, and
  // query time limits are checked while the statement runs.
  virtual bool in_process() const { return false; }
  // Creates tables or collections and their indexes (user_id+ts, type+ts, product_id, category).
  virtual Result<int> Migrate() = 0;
  virtual Result<void> Ping() = 0;

  // Stores the events whose event_id is not stored yet, all of them or none. Events must be valid.
  virtual Result<AppendCounts> Append(std::span<const domain::Event> events) = 0;
  // A user's events, newest first.
  virtual Result<std::vector<domain::Event>> UserEvents(const EventQuery& query) = 0;
  // Runs a checked pipeline natively; kResourceExhausted past limits.max_rows, kDeadlineExceeded past the
  // time limit.
  virtual Result<std::vector<nlohmann::json>> Aggregate(const events::Pipeline& pipeline,
                                                        const events::PipelineLimits& limits) = 0;
  virtual Result<std::int64_t> Count() = 0;
  // Every event, ordered by user, then time, then event_id, in pages of about `page_size` that end at a user
  // boundary (a user's events are never split across pages; a page holding one very active user is longer).
  // Read through the (user_id, ts) index, so memory stays bounded whatever the store holds. For training.
  virtual Result<void> Scan(std::size_t page_size, const EventPageSink& sink) = 0;
};

}  // namespace cohort::store
