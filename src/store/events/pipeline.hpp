#pragma once
// MongoDB-syntax aggregation pipelines over events, parsed once into a checked, read-only plan that each
// backend runs natively: SQL for SQLite and PostgreSQL (sql_pipeline.hpp), the aggregate command for
// MongoDB (ToMongo). Anything outside the supported subset is refused at parse time, naming the stage.
//
// The documents a pipeline starts from are events:
//   {event_id, user_id, type, product_id, category, price, quantity, ts, properties: {...}}
// where `ts` is a date (RFC 3339 strings in $match are read as dates when compared with `ts`). Absent optional
// fields (product_id, category, price) are missing, not null. Event documents have no `_id`: `event_id` is
// their key (MongoDB stores it as `_id`; ToMongo maps the name), and a reference to `_id` before the first
// $group, $project or $count is refused.
//
// Supported: $match (equality, $eq $ne $gt $gte $lt $lte $in $nin $exists, $and, $or), $group (_id: a field
// path, a document of expressions, a literal or null; $sum $avg $min $max $count $first $last $addToSet over
// field paths, literals and $add $subtract $multiply $divide), $sort, $limit, $skip, $project, $count, with
// MongoDB's semantics except where the "Differences" list in sql_pipeline.hpp says otherwise. Stages are
// numbered from 0, as in the JSON array.
//
// Key order: nlohmann::json keeps object keys sorted, which changes the meaning of a $sort on several fields
// ({total: -1, _id: 1} arrives as {_id: 1, total: -1}). Build pipelines as nlohmann::ordered_json or parse the
// request text with ParseText, and hand MongoDB ToMongoOrdered().

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace cohort::store::events {

struct PipelineLimits {
  std::size_t max_rows = 10'000;
  std::chrono::milliseconds timeout{5'000};
};

struct PlanData;  // the checked stages; see pipeline.cpp

class Pipeline {
 public:
  // kInvalidArgument with a message like "stage 2 ($group): unknown accumulator '$median'".
  static Result<Pipeline> Parse(const nlohmann::json& pipeline);
  // The same, keeping the written order of object keys (see "Key order" above).
  static Result<Pipeline> Parse(const nlohmann::ordered_json& pipeline);
  // Parses JSON text (an HTTP body's "pipeline" member, for instance) keeping the key order.
  static Result<Pipeline> ParseText(std::string_view json_text);

  // The pipeline for MongoDB's aggregate command as extended JSON (dates as {"$date": "..."}), with the
  // event fields mapped to the collection's field names (src/store/events/mongo/): event_id is `_id` there, so
  // stages reading events refer to `_id`, and projections of events say `_id: 0` unless they compute an `_id`
  // of their own. nlohmann::json sorts keys: a $sort on several fields keeps its order only in
  // ToMongoOrdered().
  nlohmann::json ToMongo() const;
  nlohmann::ordered_json ToMongoOrdered() const;

  const PlanData& plan() const { return *plan_; }

  Pipeline(Pipeline&&) noexcept;
  Pipeline& operator=(Pipeline&&) noexcept;
  ~Pipeline();

 private:
  explicit Pipeline(std::shared_ptr<const PlanData> plan);
  std::shared_ptr<const PlanData> plan_;
};

}  // namespace cohort::store::events
