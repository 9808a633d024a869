#pragma once
// Compiles a checked Pipeline into ONE parameterised SQL statement over the events table, for SQLite or
// PostgreSQL, and turns that statement's rows back into documents that are the same in both dialects.
//
// Each stage becomes a clause of the current query or, where SQL needs it ($match after $limit, $group,
// $project, $count), wraps it as a subquery. Every value is a bound parameter; the only names in the SQL text
// are the events table's columns and names the compiler makes (f<N> for fields, g/a/w/o<N> for helpers,
// t<N> for subqueries). The outermost query asks for max_rows + 1 rows, so that the caller can tell "more than
// max_rows" from "exactly max_rows". Row order: that of the last $sort, ties broken by the order documents
// had before it (arrival order, `seq`, for events); none after $group.
//
// Where the SQL backends differ from MongoDB (everything else follows MongoDB's documented semantics):
//  - Arrays inside `properties` are compared as whole values: {"properties.tags": "a"} does not match
//    {"tags": ["a", "b"]} (MongoDB matches any element), and a numeric path segment names an object key only.
//  - Arithmetic on something that is not a number (a string inside properties) gives null, and so does
//    division by zero; MongoDB fails the whole query in both cases. Arithmetic on a field whose type is known
//    not to be a number is refused by Parse.
//  - $min and $max over values inside properties compare numbers, strings and booleans in MongoDB's order
//    (numbers < strings < booleans); objects and arrays are skipped.
//  - $sort ranks objects and arrays inside properties as equal among themselves (ties keep their previous
//    order) instead of comparing them field by field. Grouping by an object compares its JSON text in SQLite
//    (key order matters, as in MongoDB) and ignores key order in PostgreSQL; $addToSet in SQLite keeps 1 and
//    1.0 apart.
//  - Numbers that are whole and come from JSON (properties, $min/$max/$first/$last of them) are returned as
//    integers: JSON does not tell 2 from 2.0, and the two dialects spell them differently.

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/events/pipeline.hpp"
#include "store/events/pipeline_plan.hpp"
#include "store/sql/database.hpp"

namespace cohort::store::events {

struct CompiledPipeline {
  std::string sql;
  std::vector<sql::Value> params;
  FieldNode output;                  // the documents' shape: its leaves and presence columns name result columns
  std::vector<std::string> columns;  // the result's columns, in order
};

CompiledPipeline CompileToSql(const Pipeline& pipeline, sql::Dialect dialect, std::size_t max_rows);

// The documents in `rows`, a result of compiled.sql.
std::vector<nlohmann::json> RowsToDocuments(const CompiledPipeline& compiled, const sql::Rows& rows);

}  // namespace cohort::store::events
