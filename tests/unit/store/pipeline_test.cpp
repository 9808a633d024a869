// Pipeline parsing: the supported subset is accepted and typed; anything else, or anything unsafe, is refused
// with kInvalidArgument naming the stage and the operator. Also the MongoDB form of a plan, and that the SQL a
// plan compiles to carries values only as parameters.

#include "store/events/pipeline.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store/events/pipeline_plan.hpp"
#include "store/events/sql_pipeline.hpp"

namespace cohort::store::events {
namespace {

Pipeline MustParse(std::string_view text) {
  auto parsed = Pipeline::ParseText(text);
  EXPECT_TRUE(parsed.ok()) << text << "\n" << (parsed.ok() ? "" : parsed.error().client_message);
  if (!parsed.ok()) std::abort();
  return std::move(parsed).value();
}

TEST(PipelineParseTest, AcceptsTheSupportedSubset) {
  const char* valid[] = {
      R"([])",
      R"([{"$match": {}}])",
      R"([{"$match": {"type": "purchase"}}, {"$group": {"_id": "$category", "count": {"$sum": 1},
          "total": {"$sum": {"$multiply": ["$price", "$quantity"]}}}}, {"$sort": {"total": -1}}])",
      R"([{"$match": {"price": {"$gt": 1, "$lte": 9.5}, "type": {"$in": ["a", "b"]}, "category": {"$nin": [null]},
          "product_id": {"$exists": true}, "quantity": {"$ne": 2, "$gte": 1, "$lt": 10}, "user_id": {"$eq": "u1"}}}])",
      R"([{"$match": {"$or": [{"type": "view"}, {"$and": [{"ts": {"$gte": "2026-01-01T00:00:00Z"}}, {"properties.a.b": 1}]}]}}])",
      R"([{"$group": {"_id": {"t": "$type", "d": "$properties.device", "k": "literal"}, "a": {"$avg": "$price"},
          "mn": {"$min": "$ts"}, "mx": {"$max": "$properties.score"}, "c": {"$count": {}}, "f": {"$first": "$user_id"},
          "l": {"$last": "$properties"}, "s": {"$addToSet": "$category"}}},
         {"$match": {"_id.t": "view", "c": {"$gte": 2}}}, {"$sort": {"_id.t": 1, "a": -1}}, {"$skip": 0}, {"$limit": 5},
         {"$project": {"_id": 0, "type": "$_id.t", "c": 1, "ratio": {"$divide": ["$a", {"$add": ["$c", 1]}]}}}])",
      R"([{"$group": {"_id": null, "n": {"$sum": 1}}}])",
      R"([{"$group": {"_id": 7, "n": {"$sum": 2.5}}}])",
      R"([{"$project": {"properties": 0, "price": false}}])",
      R"([{"$project": {"event_id": 1, "properties": {"device": 1, "campaign": {"source": 1}}, "t": "$type"}}])",
      R"([{"$sort": {"ts": -1}}, {"$limit": 10}, {"$count": "n"}])",
      R"([{"$limit": 5.0}, {"$skip": 2}])",
  };
  for (const char* text : valid) {
    auto parsed = Pipeline::ParseText(text);
    EXPECT_TRUE(parsed.ok()) << text << "\n" << (parsed.ok() ? "" : parsed.error().client_message);
  }
}

struct Refused {
  std::string pipeline;
  std::string where;     // "stage N ($op)" or another start of the message
  std::string fragment;  // what the message must also say
};

std::string Stages(int n) {
  std::string out = "[";
  for (int i = 0; i < n; ++i) out += std::string(i ? "," : "") + R"({"$match": {}})";
  return out + "]";
}

std::string Nested(int depth) {
  std::string out = R"({"type": "view"})";
  for (int i = 0; i < depth; ++i) out = R"({"$and": [)" + out + "]}";
  return "[{\"$match\": " + out + "}]";
}

// Eleven $match stages of 1000 values each: past the pipeline's budget of bound values.
std::string ManyValues() {
  std::string list;
  for (int i = 0; i < 1000; ++i) list += (i ? "," : "") + std::to_string(i);
  std::string out = "[";
  for (int s = 0; s < 11; ++s) out += std::string(s ? "," : "") + R"({"$match": {"quantity": {"$in": [)" + list + "]}}}";
  return out + "]";
}

std::string ManyAccumulators() {
  std::string out = R"([{"$group": {"_id": null)";
  for (int i = 0; i < 501; ++i) out += ", \"n" + std::to_string(i) + R"(": {"$sum": 1})";
  return out + "}}]";
}

TEST(PipelineParseTest, RefusesWhatIsUnsupportedOrUnsafe) {
  const std::string long_name(201, 'a');
  const std::vector<Refused> corpus = {
      {R"({"$match": {}})", "the pipeline must be a JSON array", ""},
      {R"("[]")", "the pipeline must be a JSON array", ""},
      {Stages(51), "the pipeline has 51 stages", "at most 50"},
      {R"([[{"$match": {}}]])", "stage 0:", "exactly one key"},
      {R"([{"$match": {}, "$limit": 1}])", "stage 0:", "exactly one key"},
      {R"([{}])", "stage 0:", "exactly one key"},
      {R"~([{"$match": {}}, {"$where": "sleep(1000)"}])~", "stage 1 ($where)", "not supported"},
      {R"([{"$lookup": {"from": "users", "localField": "user_id", "foreignField": "_id", "as": "u"}}])", "stage 0 ($lookup)", "not supported"},
      {R"([{"$match": {}}, {"$out": "stolen"}])", "stage 1 ($out)", "not supported"},
      {R"([{"$merge": {"into": "events"}}])", "stage 0 ($merge)", "not supported"},
      {R"([{"$unionWith": "users"}])", "stage 0 ($unionWith)", "not supported"},
      {R"([{"$graphLookup": {"from": "events"}}])", "stage 0 ($graphLookup)", "not supported"},
      {R"([{"$facet": {"a": [{"$match": {}}]}}])", "stage 0 ($facet)", "not supported"},
      {R"([{"$bucket": {"groupBy": "$price"}}])", "stage 0 ($bucket)", "not supported"},
      {R"([{"match": {}}])", "stage 0 (match)", "not supported"},
      {R"([{"$match": {"$where": "this.price > 1"}}])", "stage 0 ($match)", "'$where'"},
      {R"([{"$match": {"$expr": {"$gt": ["$price", 1]}}}])", "stage 0 ($match)", "'$expr'"},
      {R"([{"$match": {"$nor": [{"type": "view"}]}}])", "stage 0 ($match)", "'$nor'"},
      {R"([{"$match": {"type": {"$regex": "^v"}}}])", "stage 0 ($match)", "'$regex'"},
      {R"([{"$match": {"price": {"$not": {"$gt": 1}}}}])", "stage 0 ($match)", "'$not'"},
      {R"([{"$match": {"$or": []}}])", "stage 0 ($match)", "non-empty array"},
      {R"([{"$match": {"$and": {"type": "view"}}}])", "stage 0 ($match)", "non-empty array"},
      {R"([{"$match": 5}])", "stage 0 ($match)", "must be a JSON object"},
      {R"([{"$match": {"$price": 1}}])", "stage 0 ($match)", "'$price'"},
      {R"([{"$match": {"properties.a$b": 1}}])", "stage 0 ($match)", "not a dotted path"},
      {R"([{"$match": {"a..b": 1}}])", "stage 0 ($match)", "not a dotted path"},
      {R"([{"$match": {".a": 1}}])", "stage 0 ($match)", "not a dotted path"},
      {R"([{"$match": {"a.": 1}}])", "stage 0 ($match)", "not a dotted path"},
      {R"([{"$match": {"": 1}}])", "stage 0 ($match)", "empty"},
      {R"([{"$match": {"na\u00efve": 1}}])", "stage 0 ($match)", "not a dotted path"},
      {R"([{"$match": {"a b": 1}}])", "stage 0 ($match)", "not a dotted path"},
      {R"([{"$match": {"a;DROP": 1}}])", "stage 0 ($match)", "not a dotted path"},
      {"[{\"$match\": {\"" + long_name + "\": 1}}]", "stage 0 ($match)", "longer than 200"},
      {R"([{"$match": {"_id": "e1"}}])", "stage 0 ($match)", "no '_id'"},
      {R"([{"$match": {"properties": {"a": 1}}}])", "stage 0 ($match)", "document values"},
      {R"([{"$match": {"type": ["view"]}}])", "stage 0 ($match)", "array values"},
      {R"([{"$match": {"price": {"$gt": {"$numberDecimal": "1"}}}}])", "stage 0 ($match)", "'$gt' needs a string"},
      {R"([{"$match": {"price": {"$in": "x"}}}])", "stage 0 ($match)", "'$in' needs an array"},
      {R"([{"$match": {"price": {"$exists": "yes"}}}])", "stage 0 ($match)", "'$exists'"},
      {R"([{"$match": {"ts": {"$gte": "yesterday"}}}])", "stage 0 ($match)", "not an RFC 3339 date"},
      {R"([{"$match": {"ts": {"$gte": 1767225600000}}}])", "stage 0 ($match)", "is a date"},
      {Nested(20), "stage 0 ($match)", "nested too deeply"},
      {ManyValues(), "stage 10 ($match)", "more than 10000 values"},
      {ManyAccumulators(), "stage 0 ($group)", "at most 500 fields"},
      {R"([{"$group": {"n": {"$sum": 1}}}])", "stage 0 ($group)", "needs an _id"},
      {R"([{"$group": {"_id": null, "n": {"$sum": 1, "$avg": "$price"}}}])", "stage 0 ($group)", "one operator"},
      {R"([{"$group": {"_id": null, "n": {"$median": "$price"}}}])", "stage 0 ($group)", "unknown accumulator '$median'"},
      {R"([{"$group": {"_id": null, "n": {"$push": "$price"}}}])", "stage 0 ($group)", "unknown accumulator '$push'"},
      {R"([{"$group": {"_id": null, "n": {"$accumulator": {"init": "function() {}"}}}}])", "stage 0 ($group)", "'$accumulator'"},
      {R"([{"$group": {"_id": null, "n": {"$sum": {"$function": {"body": "x", "args": [], "lang": "js"}}}}}])", "stage 0 ($group)", "'$function'"},
      {R"([{"$group": {"_id": null, "a.b": {"$sum": 1}}}])", "stage 0 ($group)", "output field name 'a.b'"},
      {R"([{"$group": {"_id": "$$ROOT"}}])", "stage 0 ($group)", "variables"},
      {R"([{"$group": {"_id": null, "n": {"$count": 1}}}])", "stage 0 ($group)", "'$count' takes {}"},
      {R"([{"$group": {"_id": null, "t": {"$sum": {"$multiply": ["$user_id", 2]}}}}])", "stage 0 ($group)", "needs numbers"},
      {R"([{"$group": {"_id": null, "t": {"$sum": {"$subtract": ["$price"]}}}}])", "stage 0 ($group)", "two operands"},
      {R"([{"$group": {"_id": null, "t": {"$sum": [1, 2]}}}])", "stage 0 ($group)", "array expressions"},
      {R"([{"$group": {"_id": null, "s": {"$addToSet": "$user_id"}}}, {"$match": {"s": "u1"}}])", "stage 1 ($match)", "array"},
      {R"([{"$limit": 0}])", "stage 0 ($limit)", "positive integer"},
      {R"([{"$limit": -5}])", "stage 0 ($limit)", "positive integer"},
      {R"([{"$limit": 2.5}])", "stage 0 ($limit)", "positive integer"},
      {R"([{"$limit": "10"}])", "stage 0 ($limit)", "positive integer"},
      {R"([{"$skip": -1}])", "stage 0 ($skip)", "0 or more"},
      {R"([{"$sort": {"ts": 2}}])", "stage 0 ($sort)", "1 or -1"},
      {R"([{"$sort": {"ts": "asc"}}])", "stage 0 ($sort)", "1 or -1"},
      {R"([{"$sort": {"score": {"$meta": "textScore"}}}])", "stage 0 ($sort)", "1 or -1"},
      {R"([{"$sort": {}}])", "stage 0 ($sort)", "needs an object"},
      {R"([{"$project": {}}])", "stage 0 ($project)", "needs an object"},
      {R"([{"$project": {"price": 1, "type": 0}}])", "stage 0 ($project)", "cannot mix"},
      {R"([{"$project": {"x": {"$concat": ["$type", "!"]}}}])", "stage 0 ($project)", "'$concat' is not supported"},
      {R"([{"$project": {"properties": 1, "properties.a": 1}}])", "stage 0 ($project)", "path collision"},
      {R"([{"$project": {"x": null}}])", "stage 0 ($project)", "not a projection"},
      {R"([{"$project": {"_id": 0, "type": 1}}])", "stage 0 ($project)", "no '_id'"},
      {R"([{"$group": {"_id": "$type", "n": {"$sum": 1}}}, {"$project": {"_id": "$n", "n": 0}}])", "stage 1 ($project)",
       "cannot mix"},
      {R"([{"$count": ""}])", "stage 0 ($count)", "field name"},
      {R"([{"$count": "a.b"}])", "stage 0 ($count)", "field name"},
      {R"([{"$count": "$n"}])", "stage 0 ($count)", "field name"},
      {R"([{"$count": 1}])", "stage 0 ($count)", "field name"},
  };
  ASSERT_GE(corpus.size(), 30u);
  for (const Refused& r : corpus) {
    auto parsed = Pipeline::ParseText(r.pipeline);
    ASSERT_FALSE(parsed.ok()) << "accepted: " << r.pipeline;
    const Error& e = parsed.error();
    EXPECT_EQ(e.code, ErrorCode::kInvalidArgument) << r.pipeline;
    EXPECT_TRUE(e.client_message.starts_with(r.where)) << r.pipeline << "\n  message: " << e.client_message;
    EXPECT_NE(e.client_message.find(r.fragment), std::string::npos)
        << r.pipeline << "\n  message: " << e.client_message << "\n  wanted: " << r.fragment;
  }
}

TEST(PipelineParseTest, RefusesInvalidJsonText) {
  auto parsed = Pipeline::ParseText("[{\"$match\": ");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
}

TEST(PipelineParseTest, ErrorMessagesDoNotEchoUnprintableInput) {
  auto parsed = Pipeline::ParseText("[{\"$match\": {\"a\\u0000\\n\\u00e9\": 1}}]");
  ASSERT_FALSE(parsed.ok());
  for (char c : parsed.error().client_message)
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "byte " << static_cast<int>(static_cast<unsigned char>(c));
}

TEST(PipelineParseTest, ParseTextKeepsTheOrderOfSortKeys) {
  const Pipeline p = MustParse(R"([{"$group": {"_id": "$type", "total": {"$sum": 1}, "b": {"$max": "$price"}}},
                                   {"$sort": {"total": -1, "_id": 1, "b": 1}}])");
  const auto& sort = p.plan().stages[1].sort;
  ASSERT_EQ(sort.size(), 3u);
  EXPECT_EQ(sort[0].field.path, "total");
  EXPECT_TRUE(sort[0].descending);
  EXPECT_EQ(sort[1].field.path, "_id");
  EXPECT_EQ(sort[2].field.path, "b");
}

TEST(PipelineParseTest, TsValuesBecomeMicroseconds) {
  const Pipeline p = MustParse(R"([{"$match": {"ts": {"$gte": "2026-01-01T02:00:00+02:00", "$in": [null, "1970-01-01T00:00:01.5Z"]}}}])");
  const Predicate& all = p.plan().stages[0].match;
  ASSERT_EQ(all.children.size(), 2u);
  EXPECT_TRUE(all.children[0].dates);
  EXPECT_EQ(all.children[0].values[0].get<std::int64_t>(), 1767225600000000);
  EXPECT_TRUE(all.children[1].values[0].is_null());
  EXPECT_EQ(all.children[1].values[1].get<std::int64_t>(), 1500000);
}

TEST(PipelineParseTest, TracksTheShapeOfDocumentsThroughStages) {
  const Pipeline p = MustParse(R"([
    {"$group": {"_id": {"t": "$type", "c": "$category"}, "n": {"$sum": 1}, "q": {"$sum": "$quantity"},
                "r": {"$sum": "$price"}, "first": {"$first": "$ts"}, "tags": {"$addToSet": "$properties.tag"}}},
    {"$project": {"kind": "$_id.t", "n": 1, "tags": 1, "first": 1}}])");
  const FieldNode& group = p.plan().stages[0].output;
  const FieldNode* id = group.Child("_id");
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(id->kind, Kind::kDocument);
  EXPECT_EQ(id->Child("t")->kind, Kind::kString);
  EXPECT_TRUE(id->Child("c")->null_is_missing);  // a missing category is left out of the _id document
  EXPECT_EQ(group.Child("n")->kind, Kind::kInt);
  EXPECT_EQ(group.Child("q")->kind, Kind::kInt);
  EXPECT_EQ(group.Child("r")->kind, Kind::kDouble);
  EXPECT_EQ(group.Child("first")->kind, Kind::kDate);
  EXPECT_EQ(group.Child("tags")->kind, Kind::kArray);
  EXPECT_EQ(group.Child("tags")->element_kind, Kind::kJson);
  const FieldNode& out = p.plan().output();
  EXPECT_NE(out.Child("_id"), nullptr);  // kept unless excluded
  EXPECT_EQ(out.Child("kind")->kind, Kind::kString);
  EXPECT_EQ(out.Child("first")->kind, Kind::kDate);
  EXPECT_EQ(out.Child("r"), nullptr);
}

TEST(PipelineParseTest, IdIsExemptFromTheProjectionMode) {
  const char* group = R"({"$group": {"_id": "$type", "n": {"$sum": 1}, "q": {"$sum": "$quantity"}}})";
  auto names = [](const Pipeline& p) {
    std::vector<std::string> out;
    for (const auto& [name, node] : p.plan().output().children) out.push_back(name);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names(MustParse(std::string("[") + group + R"(, {"$project": {"_id": 1, "n": 0}}])")), (V{"_id", "q"}));
  EXPECT_EQ(names(MustParse(std::string("[") + group + R"(, {"$project": {"_id": 0, "n": 1}}])")), (V{"n"}));
  EXPECT_EQ(names(MustParse(std::string("[") + group + R"(, {"$project": {"_id": 0}}])")), (V{"n", "q"}));
  EXPECT_EQ(names(MustParse(std::string("[") + group + R"(, {"$project": {"_id": 1}}])")), (V{"_id"}));
  EXPECT_EQ(names(MustParse(std::string("[") + group + R"(, {"$project": {"q": 1}}])")), (V{"_id", "q"}));
}

TEST(PipelineParseTest, TheJsonOverloadAcceptsTheSamePipelines) {
  const nlohmann::json pipeline = nlohmann::json::parse(R"([{"$match": {"type": "view"}}, {"$count": "n"}])");
  auto parsed = Pipeline::Parse(pipeline);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->plan().stages.size(), 2u);
  auto refused = Pipeline::Parse(nlohmann::json::parse(R"([{"$out": "x"}])"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().client_message.rfind("stage 0 ($out)", 0), 0u);
}

// ---- MongoDB ----

TEST(PipelineMongoTest, EventFieldsUseTheCollectionsNamesAndDatesBecomeDates) {
  const Pipeline p = MustParse(R"([
    {"$match": {"event_id": {"$in": ["a", "b"]}, "ts": {"$gte": "2026-01-01T00:00:00.250Z", "$lt": "2026-02-01T00:00:00Z"}}},
    {"$sort": {"ts": -1, "event_id": 1}},
    {"$group": {"_id": "$user_id", "ids": {"$addToSet": "$event_id"}, "n": {"$sum": 1}}},
    {"$sort": {"n": -1, "_id": 1}},
    {"$limit": 3}])");
  const nlohmann::ordered_json expected = nlohmann::ordered_json::parse(R"([
    {"$match": {"$and": [{"_id": {"$in": ["a", "b"]}},
                         {"ts": {"$gte": {"$date": "2026-01-01T00:00:00.250Z"}}},
                         {"ts": {"$lt": {"$date": "2026-02-01T00:00:00Z"}}}]}},
    {"$sort": {"ts": -1, "_id": 1}},
    {"$group": {"_id": "$user_id", "ids": {"$addToSet": "$_id"}, "n": {"$sum": 1}}},
    {"$sort": {"n": -1, "_id": 1}},
    {"$limit": 3}])");
  EXPECT_EQ(p.ToMongoOrdered(), expected) << p.ToMongoOrdered().dump();
  EXPECT_EQ(p.ToMongo(), nlohmann::json(expected));
}

TEST(PipelineMongoTest, ProjectionsOfEventsHideTheCollectionsId) {
  EXPECT_EQ(MustParse(R"([{"$project": {"event_id": 1, "type": 1, "r": {"$multiply": ["$price", 2]}}}])").ToMongoOrdered(),
            nlohmann::ordered_json::parse(
                R"([{"$project": {"event_id": "$_id", "type": 1, "r": {"$multiply": ["$price", 2]}, "_id": 0}}])"));
  EXPECT_EQ(MustParse(R"([{"$project": {"event_id": 0, "properties.a": 0}}])").ToMongoOrdered(),
            nlohmann::ordered_json::parse(R"([{"$project": {"_id": 0, "properties.a": 0}}])"));
  EXPECT_EQ(MustParse(R"([{"$project": {"_id": "$user_id", "n": "$quantity"}}])").ToMongoOrdered(),
            nlohmann::ordered_json::parse(R"([{"$project": {"_id": "$user_id", "n": "$quantity"}}])"));
  // After $group the documents are no longer events: nothing is renamed.
  EXPECT_EQ(MustParse(R"([{"$group": {"_id": "$type"}}, {"$project": {"event_id": 1}}])").ToMongoOrdered(),
            nlohmann::ordered_json::parse(R"([{"$group": {"_id": "$type"}}, {"$project": {"event_id": 1}}])"));
}

// ---- SQL ----

TEST(PipelineSqlTest, ValuesAndPropertyKeysTravelAsParameters) {
  const std::string hostile = "x'); DROP TABLE events; --";
  const Pipeline p = MustParse(R"([{"$match": {"type": "x'); DROP TABLE events; --",
                                               "properties.DROP_TABLE": {"$in": ["x'); DROP TABLE events; --", 1]}}},
                                   {"$group": {"_id": "$properties.evil_key", "n": {"$sum": 3}}},
                                   {"$limit": 4}])");
  for (auto dialect : {sql::Dialect::kSqlite, sql::Dialect::kPostgres}) {
    const CompiledPipeline compiled = CompileToSql(p, dialect, 100);
    EXPECT_EQ(compiled.sql.find("DROP"), std::string::npos) << compiled.sql;
    EXPECT_EQ(compiled.sql.find("evil_key"), std::string::npos) << compiled.sql;
    EXPECT_NE(std::find(compiled.params.begin(), compiled.params.end(), sql::Value{hostile}), compiled.params.end());
    // The outermost query asks for one row past the limit.
    EXPECT_NE(std::find(compiled.params.begin(), compiled.params.end(), sql::Value{std::int64_t{101}}),
              compiled.params.end());
  }
}

TEST(PipelineSqlTest, AnUnsortedPipelineKeepsArrivalOrder) {
  const CompiledPipeline compiled = CompileToSql(MustParse(R"([{"$match": {"type": "view"}}])"), sql::Dialect::kSqlite, 10);
  EXPECT_NE(compiled.sql.find("ORDER BY (seq) ASC NULLS FIRST"), std::string::npos) << compiled.sql;
  EXPECT_EQ(compiled.columns.size(), 9u);  // the event fields
}

}  // namespace
}  // namespace cohort::store::events
