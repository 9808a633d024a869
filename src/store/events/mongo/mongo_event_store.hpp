#pragma once
// The event store on MongoDB (libmongoc, one thread-safe client pool per store).
//
// Collection layout — the contract with Pipeline::ToMongo()/ToMongoOrdered(), which map event fields to these
// names:
//   database   from the URL's path (mongodb://host/<db>), "cohort" when the URL names none
//   collection `events`, one document per event:
//     {_id: <event_id, string>, user_id: string, type: string, product_id?: string, category?: string,
//      price?: double, quantity: int64, ts: BSON date, properties: {...}}
//   Optional fields are omitted when absent (never stored as null). `ts` is a BSON date and so has
//   MILLISECOND precision: an event's microseconds are floored to the millisecond when stored (the SQL
//   backends keep microseconds). `properties` is the event's JSON object as an embedded document (JSON
//   integers as int64, other numbers as double).
//   Indexes, created by Migrate(): {user_id: 1, ts: -1}, {type: 1, ts: -1}, {product_id: 1}, {category: 1}.
//
// Pipelines (Aggregate): ToMongoOrdered() is parsed with libbson's extended-JSON reader, after every
// {"$date": "<RFC 3339>"} is turned into milliseconds (any fraction and offset are accepted; a bound between
// two milliseconds rounds up for $gte/$lt, down otherwise). A {$limit: max_rows + 1} stage is appended.
// Results go back to JSON: dates → RFC 3339 strings (FormatRfc3339), int32/int64/double → numbers,
// ObjectId → hex string, decimal128 → number. While the documents are still events (no $group, $count,
// $bucket, $replaceRoot, ... and no $project computing an `_id`), their `_id` is renamed `event_id`.
// UserEvents sorts by ts descending, then _id descending; `since` keeps stored times >= since.
//
// Append is idempotent, NOT atomic: without a replica set MongoDB has no multi-document transaction, so a
// batch is an unordered insert_many keyed by _id = event_id. A batch that fails half-way (network, server
// restart) may leave some of its events stored; it returns an error, and retrying the same batch converges
// to the same state (already stored events count as duplicates). Duplicate-key errors (11000) are
// duplicates, not errors; any other write error makes Append return an error.
//
// event.ingested messages (domain/messages.hpp) go to the transactional outbox of a relational database when
// the store is opened with one (the server's configuration always does). No transaction spans MongoDB and that
// database, so they are written after the insert, for every event of the batch, duplicates included: a batch
// whose messages failed returns an error, and its retry (all duplicates by then) writes them. A message for an
// event that was stored already only makes its consumer recompute an unchanged user.
//
// Timeouts: unless the URL sets them, serverSelectionTimeoutMS=3000, connectTimeoutMS=3000,
// socketTimeoutMS=10000 and waitQueueTimeoutMS=5000 (waiting for a pooled connection), so that a dead server
// fails within a few seconds. Reads carry maxTimeMS (Aggregate: limits.timeout, which should stay below
// socketTimeoutMS to surface as kDeadlineExceeded rather than kUnavailable).
// Errors: no server / network → kUnavailable; server time limit (code 50) → kDeadlineExceeded; a bad URL →
// kInvalidArgument; a checked pipeline that fails on the server (bad data for an operator) → kInvalidArgument;
// a pipeline past max_rows, or the server's memory limit for a stage → kResourceExhausted.

#include <cstddef>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "store/events/event_store.hpp"
#include "store/sql/database.hpp"

namespace cohort::store {

class MongoEventStore final : public EventStore {
 public:
  struct State;  // the client pool and names; see mongo_event_store.cpp
  explicit MongoEventStore(std::unique_ptr<State> state);
  ~MongoEventStore() override;
  MongoEventStore(const MongoEventStore&) = delete;
  MongoEventStore& operator=(const MongoEventStore&) = delete;

  std::string_view backend() const override { return "mongo"; }
  Result<int> Migrate() override;  // creates the indexes; returns the layout version (1)
  Result<void> Ping() override;
  Result<AppendCounts> Append(std::span<const domain::Event> events) override;
  Result<std::vector<domain::Event>> UserEvents(const EventQuery& query) override;
  Result<std::vector<nlohmann::json>> Aggregate(const events::Pipeline& pipeline,
                                                const events::PipelineLimits& limits) override;
  Result<std::int64_t> Count() override;  // estimatedDocumentCount: from collection metadata, no scan
  Result<void> Scan(std::size_t page_size, const EventPageSink& sink) override;  // one cursor on the user_id+ts index

  // Runs an aggregate pipeline already in MongoDB extended JSON on the events collection, with the same
  // limits and result conversion as Aggregate (which calls it with pipeline.ToMongoOrdered()). Ordered JSON:
  // key order is meaningful in $sort. For tests and tools: the pipeline is NOT checked, so it must never
  // come from a client.
  Result<std::vector<nlohmann::json>> AggregateMongoPipeline(const nlohmann::ordered_json& mongo_pipeline,
                                                             const events::PipelineLimits& limits);

  const std::string& database_name() const;
  // Drops the whole database named by the URL. For tests, which use a database of their own each.
  Result<void> DropDatabase();

 private:
  std::unique_ptr<State> state_;
};

// Opens a pool of at most max_connections connections (the URL's maxPoolSize wins when set). Connects
// lazily: a server that is down fails the first operation (Ping, Migrate, ...), not the open.
// kInvalidArgument when the URL is not a MongoDB connection string.
// `outbox`, when given, is where Append writes event.ingested messages; Migrate then migrates its outbox tables.
Result<std::unique_ptr<EventStore>> OpenMongoEventStore(const std::string& url, std::size_t max_connections,
                                                       std::unique_ptr<sql::Database> outbox = nullptr);

}  // namespace cohort::store
