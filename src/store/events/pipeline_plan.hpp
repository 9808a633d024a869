#pragma once
// The checked plan behind a Pipeline (private to store/events). Parse resolves every field reference against
// the shape of the documents entering its stage and infers the type of everything a stage produces, so that
// the backends (sql_pipeline.cpp, Pipeline::ToMongo) compile it without checking anything again.
//
// Document shapes are trees of FieldNode. A leaf is one SQL column of the relation a stage reads (the events
// table's own columns first, then columns named f<N> made by $group, $project and $count), typed by Kind.
// SQL NULL in a leaf means "missing" or "null" depending on null_is_missing: event fields that are absent are
// missing (MongoDB omits them), while a $group key or an accumulator that has no value is null.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace cohort::store::events {

using OrderedJson = nlohmann::ordered_json;

inline constexpr std::size_t kMaxStages = 50;
inline constexpr std::size_t kMaxPathLength = 200;
inline constexpr int kMaxNesting = 16;        // $and/$or and arithmetic nesting, $group _id documents
inline constexpr std::size_t kMaxListValues = 1000;  // $in / $nin
inline constexpr std::size_t kMaxSortKeys = 32;      // MongoDB's own limit
// Values compared in $match and fields made by $group/$project, over the whole pipeline: each becomes a bound
// parameter or a column, and SQLite allows 32766 parameters and 2000 columns per statement.
inline constexpr std::size_t kMaxValues = 10'000;
inline constexpr std::size_t kMaxOutputFields = 500;

enum class Kind {
  kString,    // SQL text
  kInt,       // SQL 64-bit integer
  kDouble,    // SQL double
  kDate,      // SQL 64-bit integer, microseconds since the epoch; RFC 3339 text in documents
  kJson,      // any JSON value: TEXT holding JSON in SQLite, JSONB in PostgreSQL
  kArray,     // a JSON array whose elements are of element_kind (made by $addToSet)
  kDocument,  // no column of its own: named children
};

struct FieldNode {
  Kind kind = Kind::kDocument;
  bool null_is_missing = true;
  std::string column;           // leaves
  Kind element_kind = Kind::kJson;  // kArray
  // kDocument made by projecting a path inside a JSON value: a boolean column, true when that value is an
  // object (the sub-document exists). Empty: the document always exists.
  std::string presence_column;
  std::vector<std::pair<std::string, FieldNode>> children;  // kDocument, in document order

  const FieldNode* Child(std::string_view name) const {
    for (const auto& [key, node] : children)
      if (key == name) return &node;
    return nullptr;
  }
  FieldNode* Child(std::string_view name) {
    for (auto& [key, node] : children)
      if (key == name) return &node;
    return nullptr;
  }
  bool IsLeaf() const { return kind != Kind::kDocument; }
};

// A field path resolved against the shape of the documents entering a stage.
struct FieldRef {
  enum class Target {
    kMissing,   // no such field: every document lacks it
    kLeaf,      // a typed leaf (string, number, date, array)
    kJson,      // a value inside (or equal to) a JSON leaf: node is that leaf, json_path the keys below it
    kDocument,  // a sub-document: node is it
  };
  std::string path;  // dotted, as written
  Target target = Target::kMissing;
  FieldNode node;
  std::vector<std::string> json_path;
};

// Expressions: field paths, literals and arithmetic, as $group and $project use them.
struct Expr {
  enum class Op { kField, kLiteral, kAdd, kSubtract, kMultiply, kDivide };
  Op op = Op::kLiteral;
  FieldRef field;        // kField
  OrderedJson literal;   // kLiteral: a string, number, boolean or null
  std::vector<Expr> args;  // arithmetic
  // The type of the value: for a field its node's kind (kJson for values inside JSON and for missing fields),
  // for a literal kString / kInt / kDouble / kJson (booleans and null), for arithmetic kInt or kDouble.
  Kind kind = Kind::kJson;
  bool null_is_missing = false;
};

struct Predicate {
  enum class Op { kAnd, kOr, kEq, kNe, kGt, kGte, kLt, kLte, kIn, kNin, kExists };
  Op op = Op::kAnd;
  std::vector<Predicate> children;  // kAnd, kOr
  FieldRef field;
  // Scalars (string, number, boolean, null). Compared with a kDate field they are integers (microseconds),
  // converted from the RFC 3339 strings written in the pipeline.
  std::vector<OrderedJson> values;
  bool dates = false;  // values were converted from RFC 3339
  bool exists = true;  // kExists
};

// One column a $group or $project stage produces.
struct ColumnDef {
  enum class Source {
    kCopy,        // copy input_column
    kExpr,        // evaluate expr
    kJsonRemove,  // expr (a JSON value) without the keys at `removed`
    kIsObject,    // whether expr (a JSON value) is an object: a presence column
  };
  std::string column;
  Source source = Source::kExpr;
  std::string input_column;
  Expr expr;
  std::vector<std::vector<std::string>> removed;
};

struct GroupKeyColumn {
  std::string column;
  Expr expr;
  bool in_document = false;  // part of a document _id, where a missing value is left out, not null
};

enum class AccumulatorOp { kSum, kAvg, kMin, kMax, kCount, kFirst, kLast, kAddToSet };

struct Accumulator {
  std::string name;
  std::string column;
  AccumulatorOp op = AccumulatorOp::kCount;
  Expr operand;  // not for kCount
};

struct GroupStage {
  std::vector<GroupKeyColumn> keys;  // the leaves of _id
  std::vector<Accumulator> accumulators;
};

struct SortKey {
  FieldRef field;
  bool descending = false;
};

enum class StageKind { kMatch, kGroup, kSort, kLimit, kSkip, kProject, kCount };

struct Stage {
  StageKind kind = StageKind::kMatch;
  std::size_t index = 0;
  std::string name;    // "$match", ...
  OrderedJson source;  // the stage's specification as written (checked)

  Predicate match;
  GroupStage group;
  std::vector<SortKey> sort;
  std::int64_t amount = 0;           // $limit, $skip
  std::vector<ColumnDef> project;    // $project
  std::string count_column;          // $count

  bool reads_events = false;  // the documents entering this stage are events (no $group/$project/$count yet)
  FieldNode output;           // the shape of the documents this stage produces
};

struct PlanData {
  FieldNode events;  // the shape of event documents
  std::vector<Stage> stages;

  const FieldNode& output() const { return stages.empty() ? events : stages.back().output; }
};

// The shape of event documents over the events table's columns.
FieldNode EventDocumentShape();

}  // namespace cohort::store::events
