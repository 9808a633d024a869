// Pipeline → SQL, and rows → documents. See sql_pipeline.hpp for the approach and for where the result
// differs from MongoDB's.

#include "store/events/sql_pipeline.hpp"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "common/time.hpp"

namespace cohort::store::events {
namespace {

using sql::Dialect;

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

// Bound parameters: $1..$n, each value bound once (PostgreSQL also needs one type per parameter, hence the
// explicit casts, which SQLite does not have).
class Binder {
 public:
  explicit Binder(Dialect dialect) : dialect_(dialect) {}

  std::string Text(std::string value) { return Bind(std::move(value), "text"); }
  std::string Int(std::int64_t value) { return Bind(value, "bigint"); }
  std::string Double(double value) { return Bind(value, "double precision"); }
  // A JSON value, as JSON text: jsonb in PostgreSQL, text that the JSON functions read in SQLite.
  std::string Json(std::string json_text) { return Bind(std::move(json_text), "jsonb"); }
  // A path of object keys below a JSON value: '$.a.b' for SQLite's JSON functions, '{"a","b"}' for
  // PostgreSQL's #> and #>> (quoted, so that a key such as NULL stays a key).
  std::string Path(const std::vector<std::string>& keys) {
    if (dialect_ == Dialect::kSqlite) {
      std::string path = "$";
      for (const auto& key : keys) path += "." + key;
      return Bind(std::move(path), "text");
    }
    std::vector<std::string> quoted;
    for (const auto& key : keys) quoted.push_back("\"" + key + "\"");
    return Bind("{" + Join(quoted, ",") + "}", "text[]");
  }

  std::vector<sql::Value> Take() { return std::move(values_); }

 private:
  std::string Bind(sql::Value value, std::string_view pg_type) {
    std::string repr = std::visit(
        [](const auto& v) -> std::string {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::nullptr_t>) {
            return "null";
          } else if constexpr (std::is_same_v<T, std::string>) {
            return v;
          } else {
            return fmt::format("{}", v);
          }
        },
        value);
    auto key = std::make_tuple(std::string(pg_type), value.index(), std::move(repr));
    auto [it, inserted] = seen_.try_emplace(std::move(key), values_.size() + 1);
    if (inserted) values_.push_back(std::move(value));
    if (dialect_ == Dialect::kSqlite) return fmt::format("${}", it->second);
    return fmt::format("${}::{}", it->second, pg_type);
  }

  Dialect dialect_;
  std::vector<sql::Value> values_;
  std::map<std::tuple<std::string, std::size_t, std::string>, std::size_t> seen_;
};

struct OrderTerm {
  std::string expr;
  bool descending = false;
  bool bytewise = false;  // a string: PostgreSQL compares it with COLLATE "C" (MongoDB compares bytes)
};

// One SELECT. A "star" query selects * (plus `extra`) and may carry WHERE, ORDER BY and LIMIT; its `order`
// is valid over both its FROM and its output. Any other query (a projection, a grouping) is wrapped before
// anything is added to it, and its `order` is valid over its output.
struct Query {
  std::string from;
  bool star = true;
  std::vector<std::string> extra;
  std::vector<std::string> select;
  std::vector<std::string> where;
  std::vector<std::string> group_by;
  std::vector<OrderTerm> order;
  std::string limit;
  std::string offset;
};

// A JSON value to inspect: a JSON column and a key path below it.
struct JsonSource {
  std::string column;
  std::vector<std::string> path;
};

class Compiler {
 public:
  explicit Compiler(Dialect dialect) : dialect_(dialect), bind_(dialect) {}

  CompiledPipeline Compile(const PlanData& plan, std::size_t max_rows) {
    Query q;
    q.from = "events";
    q.order.push_back({"seq", false, false});  // arrival order, for $first/$last and an unsorted $limit
    for (const Stage& stage : plan.stages) {
      switch (stage.kind) {
        case StageKind::kMatch:
          if (!q.star || !q.limit.empty() || !q.offset.empty()) q = Wrap(q);
          q.where.push_back(PredicateSql(stage.match));
          break;
        case StageKind::kSort: {
          if (!q.star || !q.limit.empty() || !q.offset.empty()) q = Wrap(q);
          std::vector<OrderTerm> terms;
          for (const SortKey& key : stage.sort) AppendSortTerms(key.field, key.descending, terms);
          terms.insert(terms.end(), q.order.begin(), q.order.end());
          q.order = std::move(terms);
          break;
        }
        case StageKind::kLimit:
          if (!q.star || !q.limit.empty()) q = Wrap(q);
          q.limit = bind_.Int(stage.amount);
          break;
        case StageKind::kSkip:
          if (!q.star || !q.limit.empty() || !q.offset.empty()) q = Wrap(q);
          q.offset = bind_.Int(stage.amount);
          break;
        case StageKind::kProject:
          q = Project(q, stage);
          break;
        case StageKind::kGroup:
          q = Group(q, stage.group);
          break;
        case StageKind::kCount: {
          Query count = Wrap(q);
          count.star = false;
          count.select = {"COUNT(*) AS " + stage.count_column};
          count.order.clear();
          q = Wrap(count);
          q.where.push_back(stage.count_column + " > 0");  // MongoDB's $count outputs nothing for no input
          break;
        }
      }
    }
    CompiledPipeline out;
    out.output = plan.output();
    CollectColumns(out.output, out.columns);
    Query final_query = Wrap(q);
    final_query.star = false;
    final_query.select = out.columns;
    if (final_query.select.empty()) final_query.select.push_back("0 AS " + Name('z'));
    final_query.limit = bind_.Int(static_cast<std::int64_t>(max_rows) + 1);
    out.sql = Render(final_query, /*final=*/true);
    out.params = bind_.Take();
    return out;
  }

 private:
  bool pg() const { return dialect_ == Dialect::kPostgres; }
  std::string Name(char prefix) { return fmt::format("{}{}", prefix, next_name_++); }

  static void CollectColumns(const FieldNode& node, std::vector<std::string>& columns) {
    if (node.kind != Kind::kDocument) {
      columns.push_back(node.column);
      return;
    }
    if (!node.presence_column.empty()) columns.push_back(node.presence_column);
    for (const auto& [name, child] : node.children) CollectColumns(child, columns);
  }

  // ---- queries ----

  std::string OrderSql(const std::vector<OrderTerm>& terms) const {
    std::vector<std::string> parts;
    for (const auto& t : terms) {
      std::string part = "(" + t.expr + ")";
      if (t.bytewise && pg()) part += " COLLATE \"C\"";
      // MongoDB puts null and missing first when ascending; PostgreSQL's default would put NULL last.
      part += t.descending ? " DESC NULLS LAST" : " ASC NULLS FIRST";
      parts.push_back(std::move(part));
    }
    return Join(parts, ", ");
  }

  std::string Render(const Query& q, bool final) const {
    std::string sql = "SELECT ";
    if (q.star) {
      sql += "*";
      for (const auto& e : q.extra) sql += ", " + e;
    } else {
      sql += Join(q.select, ", ");
    }
    sql += " FROM " + q.from;
    if (!q.where.empty()) {
      std::vector<std::string> conditions;
      for (const auto& w : q.where) conditions.push_back("(" + w + ")");
      sql += " WHERE " + Join(conditions, " AND ");
    }
    if (!q.group_by.empty()) sql += " GROUP BY " + Join(q.group_by, ", ");
    const bool ordered = final || (q.star && (!q.limit.empty() || !q.offset.empty()));
    if (ordered && !q.order.empty()) sql += " ORDER BY " + OrderSql(q.order);
    if (!q.limit.empty()) {
      sql += " LIMIT " + q.limit;
    } else if (!q.offset.empty() && !pg()) {
      sql += " LIMIT -1";  // SQLite has no OFFSET without LIMIT
    }
    if (!q.offset.empty()) sql += " OFFSET " + q.offset;
    return sql;
  }

  Query Wrap(const Query& q) {
    Query w;
    w.from = "(" + Render(q, false) + ") AS " + Name('t');
    w.order = q.order;
    return w;
  }

  // ---- values ----

  JsonSource JsonOf(const FieldRef& ref) {
    if (ref.target == FieldRef::Target::kJson) return {ref.node.column, ref.json_path};
    return {pg() ? "NULL::jsonb" : "NULL", {}};  // missing
  }

  JsonSource JsonOf(const Expr& e) {
    if (e.op == Expr::Op::kLiteral) return {bind_.Json(nlohmann::json(e.literal).dump()), {}};
    return JsonOf(e.field);
  }

  // The JSON value itself: JSON text in SQLite, jsonb in PostgreSQL; NULL when missing.
  std::string JsonValue(const JsonSource& s) {
    if (s.path.empty()) return s.column;
    return "(" + s.column + (pg() ? " #> " : " -> ") + bind_.Path(s.path) + ")";
  }

  // Its type: SQLite's json_type names or PostgreSQL's jsonb_typeof names; NULL when missing.
  std::string JsonType(const JsonSource& s) {
    if (pg()) return "jsonb_typeof(" + JsonValue(s) + ")";
    if (s.path.empty()) return "json_type(" + s.column + ")";
    return "json_type(" + s.column + ", " + bind_.Path(s.path) + ")";
  }

  // SQLite: the SQL value (text, integer, real; 1/0 for booleans; JSON text for objects and arrays).
  std::string JsonExtract(const JsonSource& s) {
    return "json_extract(" + s.column + ", " + (s.path.empty() ? std::string("'$'") : bind_.Path(s.path)) + ")";
  }

  // PostgreSQL: the value as text (a string without its quotes).
  std::string JsonText(const JsonSource& s) {
    if (s.path.empty()) return "(" + s.column + " #>> '{}')";
    return "(" + s.column + " #>> " + bind_.Path(s.path) + ")";
  }

  std::string JsonNumber(const JsonSource& s) {
    if (pg()) return "(CASE WHEN " + JsonType(s) + " = 'number' THEN " + JsonText(s) + "::double precision END)";
    return "(CASE WHEN " + JsonType(s) + " IN ('integer', 'real') THEN " + JsonExtract(s) + " END)";
  }

  std::string JsonString(const JsonSource& s) {
    if (pg()) return "(CASE WHEN " + JsonType(s) + " = 'string' THEN " + JsonText(s) + " END)";
    return "(CASE WHEN " + JsonType(s) + " = 'text' THEN " + JsonExtract(s) + " END)";
  }

  // 1 for true, 0 for false, NULL otherwise.
  std::string JsonBool(const JsonSource& s) {
    if (pg())
      return "(CASE WHEN " + JsonType(s) + " = 'boolean' THEN CASE WHEN " + JsonValue(s) +
             " = 'true'::jsonb THEN 1 ELSE 0 END END)";
    return "(CASE " + JsonType(s) + " WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)";
  }

  std::string TypedNull(Kind kind) const {
    if (!pg()) return "NULL";
    switch (kind) {
      case Kind::kString: return "NULL::text";
      case Kind::kInt:
      case Kind::kDate: return "NULL::bigint";
      case Kind::kDouble: return "NULL::double precision";
      default: return "NULL::jsonb";
    }
  }

  std::string Literal(const OrderedJson& v) {
    if (v.is_string()) return bind_.Text(v.get<std::string>());
    if (v.is_number_float()) return bind_.Double(v.get<double>());
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return bind_.Double(static_cast<double>(u));
    }
    if (v.is_number()) return bind_.Int(v.get<std::int64_t>());
    return bind_.Json(nlohmann::json(v).dump());
  }

  // An expression's value in the column form of its kind (see Kind).
  std::string ValueSql(const Expr& e) {
    switch (e.op) {
      case Expr::Op::kField:
        switch (e.field.target) {
          case FieldRef::Target::kLeaf: return e.field.node.column;
          case FieldRef::Target::kJson: return JsonValue(JsonOf(e.field));
          default: return TypedNull(e.kind);
        }
      case Expr::Op::kLiteral:
        return Literal(e.literal);
      default:
        return NumericSql(e);
    }
  }

  // An expression as a number (NULL when it is not one).
  std::string NumericSql(const Expr& e) {
    switch (e.op) {
      case Expr::Op::kField:
        if (e.field.target == FieldRef::Target::kLeaf &&
            (e.field.node.kind == Kind::kInt || e.field.node.kind == Kind::kDouble))
          return e.field.node.column;
        if (e.field.target == FieldRef::Target::kJson) return JsonNumber(JsonOf(e.field));
        return TypedNull(Kind::kDouble);
      case Expr::Op::kLiteral:
        if (e.literal.is_number()) return Literal(e.literal);
        return TypedNull(Kind::kDouble);
      case Expr::Op::kAdd:
      case Expr::Op::kMultiply: {
        std::vector<std::string> args;
        for (const auto& arg : e.args) args.push_back(NumericSql(arg));
        return "(" + Join(args, e.op == Expr::Op::kAdd ? " + " : " * ") + ")";
      }
      case Expr::Op::kSubtract:
        return "(" + NumericSql(e.args[0]) + " - " + NumericSql(e.args[1]) + ")";
      case Expr::Op::kDivide:
        return "(CAST(" + NumericSql(e.args[0]) + (pg() ? " AS double precision)" : " AS REAL)") + " / NULLIF(" +
               NumericSql(e.args[1]) + ", 0))";
    }
    return TypedNull(Kind::kDouble);
  }

  // ---- $match ----

  std::string PredicateSql(const Predicate& p) {
    switch (p.op) {
      case Predicate::Op::kAnd:
      case Predicate::Op::kOr: {
        if (p.children.empty()) return "TRUE";
        std::vector<std::string> parts;
        for (const auto& child : p.children) parts.push_back(PredicateSql(child));
        return "(" + Join(parts, p.op == Predicate::Op::kAnd ? " AND " : " OR ") + ")";
      }
      default:
        break;
    }
    switch (p.field.target) {
      case FieldRef::Target::kMissing: return AbsentLeaf(p, "TRUE");
      case FieldRef::Target::kDocument:
        return AbsentLeaf(p, p.field.node.presence_column.empty()
                                 ? std::string("FALSE")
                                 : "(" + p.field.node.presence_column + " IS NOT TRUE)");
      case FieldRef::Target::kLeaf: return TypedLeaf(p);
      case FieldRef::Target::kJson: return JsonLeaf(p);
    }
    return "FALSE";
  }

  static bool HasNull(const Predicate& p) {
    return std::any_of(p.values.begin(), p.values.end(), [](const auto& v) { return v.is_null(); });
  }

  // A field that is either missing (`absent`) or a document: no scalar equals it.
  static std::string AbsentLeaf(const Predicate& p, const std::string& absent) {
    const std::string present = absent == "TRUE" ? "FALSE" : absent == "FALSE" ? "TRUE" : "NOT " + absent;
    switch (p.op) {
      case Predicate::Op::kEq:
      case Predicate::Op::kGte:
      case Predicate::Op::kLte:
        return p.values.front().is_null() ? absent : "FALSE";
      case Predicate::Op::kNe:
        return p.values.front().is_null() ? present : "TRUE";
      case Predicate::Op::kGt:
      case Predicate::Op::kLt:
        return "FALSE";
      case Predicate::Op::kIn:
        return HasNull(p) ? absent : "FALSE";
      case Predicate::Op::kNin:
        return HasNull(p) ? present : "TRUE";
      case Predicate::Op::kExists:
        return p.exists ? present : absent;
      default:
        return "FALSE";
    }
  }

  static const char* Comparison(Predicate::Op op) {
    switch (op) {
      case Predicate::Op::kGt: return " > ";
      case Predicate::Op::kGte: return " >= ";
      case Predicate::Op::kLt: return " < ";
      case Predicate::Op::kLte: return " <= ";
      default: return " = ";
    }
  }

  // MongoDB compares only values of the same type class: a string never equals or exceeds a number.
  static bool SameClass(Kind kind, const OrderedJson& v) {
    switch (kind) {
      case Kind::kString: return v.is_string();
      case Kind::kInt:
      case Kind::kDouble:
      case Kind::kDate: return v.is_number();  // dates arrive as microseconds
      default: return false;
    }
  }

  std::string TypedValue(Kind kind, const OrderedJson& v) {
    if (kind == Kind::kString) return bind_.Text(v.get<std::string>());
    return Literal(v);
  }

  std::string TypedLeaf(const Predicate& p) {
    const FieldNode& node = p.field.node;
    const std::string& c = node.column;
    const bool bytewise = pg() && node.kind == Kind::kString;
    switch (p.op) {
      case Predicate::Op::kEq: {
        const auto& v = p.values.front();
        if (v.is_null()) return c + " IS NULL";
        return SameClass(node.kind, v) ? c + " = " + TypedValue(node.kind, v) : "FALSE";
      }
      case Predicate::Op::kNe: {
        const auto& v = p.values.front();
        if (v.is_null()) return c + " IS NOT NULL";
        if (!SameClass(node.kind, v)) return "TRUE";
        return "(" + c + " IS NULL OR " + c + " <> " + TypedValue(node.kind, v) + ")";
      }
      case Predicate::Op::kGt:
      case Predicate::Op::kGte:
      case Predicate::Op::kLt:
      case Predicate::Op::kLte: {
        const auto& v = p.values.front();
        if (v.is_null()) return (p.op == Predicate::Op::kGte || p.op == Predicate::Op::kLte) ? c + " IS NULL" : "FALSE";
        if (!SameClass(node.kind, v)) return "FALSE";
        return c + (bytewise ? " COLLATE \"C\"" : "") + Comparison(p.op) + TypedValue(node.kind, v);
      }
      case Predicate::Op::kIn:
      case Predicate::Op::kNin: {
        std::vector<std::string> list;
        for (const auto& v : p.values)
          if (SameClass(node.kind, v)) list.push_back(TypedValue(node.kind, v));
        const bool has_null = HasNull(p);
        if (p.op == Predicate::Op::kIn) {
          std::vector<std::string> parts;
          if (!list.empty()) parts.push_back(c + " IN (" + Join(list, ", ") + ")");
          if (has_null) parts.push_back(c + " IS NULL");
          return parts.empty() ? "FALSE" : "(" + Join(parts, " OR ") + ")";
        }
        if (has_null) return list.empty() ? c + " IS NOT NULL" : "(" + c + " IS NOT NULL AND " + c + " NOT IN (" + Join(list, ", ") + "))";
        return list.empty() ? "TRUE" : "(" + c + " IS NULL OR " + c + " NOT IN (" + Join(list, ", ") + "))";
      }
      case Predicate::Op::kExists:
        if (!node.null_is_missing) return p.exists ? "TRUE" : "FALSE";
        return c + (p.exists ? " IS NOT NULL" : " IS NULL");
      default:
        return "FALSE";
    }
  }

  std::string JsonIsNull(const JsonSource& s) { return "(COALESCE(" + JsonType(s) + ", 'null') = 'null')"; }

  std::string JsonEquals(const JsonSource& s, const OrderedJson& v) {
    if (v.is_null()) return JsonIsNull(s);
    if (pg()) return "(" + JsonValue(s) + " = " + bind_.Json(nlohmann::json(v).dump()) + ")";
    if (v.is_boolean()) return "(" + JsonType(s) + (v.get<bool>() ? " = 'true')" : " = 'false')");
    if (v.is_number())
      return "(" + JsonType(s) + " IN ('integer', 'real') AND " + JsonExtract(s) + " = " + Literal(v) + ")";
    return "(" + JsonType(s) + " = 'text' AND " + JsonExtract(s) + " = " + bind_.Text(v.get<std::string>()) + ")";
  }

  std::string JsonCompare(const JsonSource& s, Predicate::Op op, const OrderedJson& v) {
    if (v.is_null()) return (op == Predicate::Op::kGte || op == Predicate::Op::kLte) ? JsonIsNull(s) : "FALSE";
    const char* cmp = Comparison(op);
    if (pg()) {
      if (v.is_string())
        return "(" + JsonType(s) + " = 'string' AND " + JsonText(s) + " COLLATE \"C\"" + cmp +
               bind_.Text(v.get<std::string>()) + ")";
      return "(" + JsonType(s) + (v.is_number() ? " = 'number'" : " = 'boolean'") + " AND " + JsonValue(s) + cmp +
             bind_.Json(nlohmann::json(v).dump()) + ")";
    }
    if (v.is_boolean()) return "(" + JsonBool(s) + cmp + bind_.Int(v.get<bool>() ? 1 : 0) + ")";
    if (v.is_number())
      return "(" + JsonType(s) + " IN ('integer', 'real') AND " + JsonExtract(s) + cmp + Literal(v) + ")";
    return "(" + JsonType(s) + " = 'text' AND " + JsonExtract(s) + cmp + bind_.Text(v.get<std::string>()) + ")";
  }

  std::string JsonLeaf(const Predicate& p) {
    const JsonSource s = JsonOf(p.field);
    switch (p.op) {
      case Predicate::Op::kEq:
        return JsonEquals(s, p.values.front());
      case Predicate::Op::kNe:
        // NULL (missing) must count as "not equal": COALESCE before NOT.
        return "(NOT COALESCE(" + JsonEquals(s, p.values.front()) + ", FALSE))";
      case Predicate::Op::kGt:
      case Predicate::Op::kGte:
      case Predicate::Op::kLt:
      case Predicate::Op::kLte:
        return JsonCompare(s, p.op, p.values.front());
      case Predicate::Op::kIn:
      case Predicate::Op::kNin: {
        std::vector<std::string> parts;
        for (const auto& v : p.values) parts.push_back(JsonEquals(s, v));
        const std::string any = parts.empty() ? "FALSE" : "(" + Join(parts, " OR ") + ")";
        return p.op == Predicate::Op::kIn ? any : "(NOT COALESCE(" + any + ", FALSE))";
      }
      case Predicate::Op::kExists:
        if (s.path.empty() && !p.field.node.null_is_missing) return p.exists ? "TRUE" : "FALSE";
        return JsonType(s) + (p.exists ? " IS NOT NULL" : " IS NULL");
      default:
        return "FALSE";
    }
  }

  // ---- $sort ----

  void AppendSortTerms(const FieldRef& field, bool descending, std::vector<OrderTerm>& terms) {
    switch (field.target) {
      case FieldRef::Target::kMissing:
        return;  // the same for every document
      case FieldRef::Target::kLeaf:
        terms.push_back({field.node.column, descending, field.node.kind == Kind::kString});
        return;
      case FieldRef::Target::kDocument:
        for (const auto& [name, child] : field.node.children) {
          FieldRef sub;
          sub.node = child;
          sub.target = child.kind == Kind::kDocument ? FieldRef::Target::kDocument
                       : child.kind == Kind::kJson   ? FieldRef::Target::kJson
                                                     : FieldRef::Target::kLeaf;
          AppendSortTerms(sub, descending, terms);
        }
        return;
      case FieldRef::Target::kJson:
        break;
    }
    // MongoDB's order across types: null and missing < numbers < strings < objects < arrays < booleans.
    // Objects (and arrays) rank as equals among themselves: MongoDB's field-by-field order is not reproduced,
    // and this way both dialects agree (ties keep the order they had).
    const JsonSource s = JsonOf(field);
    const std::string t = JsonType(s);
    terms.push_back({pg() ? "CASE " + t +
                                " WHEN 'number' THEN 1 WHEN 'string' THEN 2 WHEN 'object' THEN 3 WHEN 'array' THEN 4 "
                                "WHEN 'boolean' THEN 5 ELSE 0 END"
                          : "CASE " + t +
                                " WHEN 'integer' THEN 1 WHEN 'real' THEN 1 WHEN 'text' THEN 2 WHEN 'object' THEN 3 "
                                "WHEN 'array' THEN 4 WHEN 'true' THEN 5 WHEN 'false' THEN 5 ELSE 0 END",
                     descending, false});
    terms.push_back({JsonNumber(s), descending, false});
    terms.push_back({JsonString(s), descending, true});
    terms.push_back({JsonBool(s), descending, false});
  }

  // ---- $project ----

  std::string ColumnSql(const ColumnDef& def) {
    switch (def.source) {
      case ColumnDef::Source::kCopy:
        return def.input_column;
      case ColumnDef::Source::kExpr:
        return ValueSql(def.expr);
      case ColumnDef::Source::kIsObject:
        return "(" + JsonType(JsonOf(def.expr)) + (pg() ? " = 'object')" : " = 'object')");
      case ColumnDef::Source::kJsonRemove: {
        std::string value = JsonValue(JsonOf(def.expr));
        if (pg()) {
          for (const auto& path : def.removed) value = "(" + value + " #- " + bind_.Path(path) + ")";
          return value;
        }
        std::vector<std::string> paths;
        for (const auto& path : def.removed) paths.push_back(bind_.Path(path));
        return "json_remove(" + value + ", " + Join(paths, ", ") + ")";
      }
    }
    return "NULL";
  }

  Query Project(const Query& q, const Stage& stage) {
    Query p = Wrap(q);
    p.star = false;
    for (const ColumnDef& def : stage.project) p.select.push_back(ColumnSql(def) + " AS " + def.column);
    // The order so far travels on as columns of the projection.
    std::vector<OrderTerm> order;
    for (const auto& term : q.order) {
      const std::string name = Name('o');
      p.select.push_back(term.expr + " AS " + name);
      order.push_back({name, term.descending, term.bytewise});
    }
    p.order = std::move(order);
    if (p.select.empty()) p.select.push_back("0 AS " + Name('z'));
    return p;
  }

  // ---- $group ----

  // A JSON value's type class for grouping (SQLite): numbers together, booleans together. In a document _id
  // a JSON null and a missing value are different keys ({k: null} and {}); as the whole _id both are null.
  std::string JsonClass(const JsonSource& s, bool null_apart) {
    return "(CASE " + JsonType(s) +
           " WHEN 'integer' THEN 'n' WHEN 'real' THEN 'n' WHEN 'true' THEN 'b' WHEN 'false' THEN 'b' "
           "WHEN 'text' THEN 's' WHEN 'object' THEN 'o' WHEN 'array' THEN 'a'" +
           (null_apart ? std::string(" WHEN 'null' THEN 'z'") : std::string()) + " END)";
  }

  // A value as a JSON array element (JSON text in SQLite, jsonb in PostgreSQL); NULL leaves it out.
  std::string ElementSql(const Expr& e) {
    if (e.kind == Kind::kJson) {
      const JsonSource s = JsonOf(e);
      const std::string v = JsonValue(s);
      if (s.path.empty() && !e.null_is_missing) return "COALESCE(" + v + (pg() ? ", 'null'::jsonb)" : ", 'null')");
      return v;
    }
    const std::string v = ValueSql(e);
    if (pg()) return e.null_is_missing ? "to_jsonb(" + v + ")" : "COALESCE(to_jsonb(" + v + "), 'null'::jsonb)";
    // json_quote writes a REAL with 15 significant digits; 17 read back as the same double.
    const std::string quoted = e.kind == Kind::kDouble ? "printf('%!.17g', " + v + ")" : "json_quote(" + v + ")";
    if (e.null_is_missing || e.kind == Kind::kDouble)
      return "(CASE WHEN " + v + " IS NOT NULL THEN " + quoted + (e.null_is_missing ? " END)" : " ELSE 'null' END)");
    return quoted;
  }

  Query Group(const Query& q, const GroupStage& group) {
    Query l1 = q.star ? q : Wrap(q);  // the keys and operands as extra columns
    std::vector<std::string> keys;     // grouping columns
    std::vector<std::string> outputs;
    for (const GroupKeyColumn& key : group.keys) {
      if (key.expr.kind == Kind::kJson) {
        const JsonSource s = JsonOf(key.expr);
        if (pg()) {
          const std::string g = Name('g');
          const std::string v = JsonValue(s);
          l1.extra.push_back((key.in_document ? v : "COALESCE(" + v + ", 'null'::jsonb)") + " AS " + g);
          keys.push_back(g);
          outputs.push_back(g + " AS " + key.column);
        } else {
          const std::string cls = Name('g'), val = Name('g'), text = Name('g');
          l1.extra.push_back(JsonClass(s, key.in_document) + " AS " + cls);
          l1.extra.push_back(JsonExtract(s) + " AS " + val);
          l1.extra.push_back(JsonValue(s) + " AS " + text);
          keys.push_back(cls);
          keys.push_back(val);
          outputs.push_back("MIN(" + text + ") AS " + key.column);
        }
        continue;
      }
      const std::string g = Name('g');
      l1.extra.push_back(ValueSql(key.expr) + " AS " + g);
      keys.push_back(g);
      outputs.push_back(g + " AS " + key.column);
    }
    if (keys.empty()) {  // _id: {}: one group, but none without input, as in MongoDB
      const std::string g = Name('g');
      l1.extra.push_back("0 AS " + g);
      keys.push_back(g);
    }
    std::vector<std::string> windows;  // $first / $last, computed over the keys in document order
    std::vector<std::string> window_columns;
    for (const Accumulator& acc : group.accumulators) {
      const std::string& out = acc.column;
      switch (acc.op) {
        case AccumulatorOp::kCount:
          outputs.push_back("COUNT(*) AS " + out);
          break;
        case AccumulatorOp::kSum:
        case AccumulatorOp::kAvg: {
          const std::string a = Name('a');
          l1.extra.push_back(NumericSql(acc.operand) + " AS " + a);
          std::string total = "COALESCE(SUM(" + a + "), 0)";
          // A JSON column may hold a plain number in SQLite (its JSON functions read one), which keeps every digit.
          if (acc.operand.kind == Kind::kJson && pg()) total = "to_jsonb(" + total + ")";
          // PostgreSQL's AVG of integers is a numeric rounded to 16 places; the double quotient of the sum is
          // what SQLite computes, so that both dialects give the same number.
          const std::string average =
              pg() ? "(CAST(SUM(" + a + ") AS double precision) / NULLIF(COUNT(" + a + "), 0))" : "AVG(" + a + ")";
          outputs.push_back((acc.op == AccumulatorOp::kSum ? total : average) + " AS " + out);
          break;
        }
        case AccumulatorOp::kMin:
        case AccumulatorOp::kMax:
          outputs.push_back(MinMax(acc, l1) + " AS " + out);
          break;
        case AccumulatorOp::kFirst:
        case AccumulatorOp::kLast: {
          const std::string a = Name('a'), w = Name('w');
          l1.extra.push_back(ValueSql(acc.operand) + " AS " + a);
          std::string over = "PARTITION BY " + Join(keys, ", ");
          if (!l1.order.empty()) over += " ORDER BY " + OrderSql(l1.order);
          windows.push_back(std::string(acc.op == AccumulatorOp::kFirst ? "FIRST_VALUE(" : "LAST_VALUE(") + a +
                            ") OVER (" + over + " ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS " + w);
          window_columns.push_back(w);
          outputs.push_back(w + " AS " + out);
          break;
        }
        case AccumulatorOp::kAddToSet: {
          const std::string a = Name('a');
          l1.extra.push_back(ElementSql(acc.operand) + " AS " + a);
          outputs.push_back(pg() ? "COALESCE(jsonb_agg(DISTINCT " + a + ") FILTER (WHERE " + a +
                                       " IS NOT NULL), '[]'::jsonb) AS " + out
                                 : "('[' || COALESCE(group_concat(DISTINCT " + a + "), '') || ']') AS " + out);
          break;
        }
      }
    }
    Query source = l1;
    if (!windows.empty()) {
      source = Wrap(l1);
      source.extra = windows;
    }
    Query grouped = Wrap(source);
    grouped.star = false;
    grouped.select = outputs;
    grouped.group_by = keys;
    // A window value is the same for the whole group: grouping by it too lets every dialect select it.
    grouped.group_by.insert(grouped.group_by.end(), window_columns.begin(), window_columns.end());
    grouped.order.clear();  // MongoDB: $group's output has no defined order
    if (grouped.select.empty()) grouped.select.push_back("0 AS " + Name('z'));
    return grouped;
  }

  std::string MinMax(const Accumulator& acc, Query& l1) {
    const bool min = acc.op == AccumulatorOp::kMin;
    const char* fn = min ? "MIN(" : "MAX(";
    if (acc.operand.kind != Kind::kJson) {
      const std::string a = Name('a');
      l1.extra.push_back(ValueSql(acc.operand) + " AS " + a);
      return fn + a + (pg() && acc.operand.kind == Kind::kString ? " COLLATE \"C\")" : ")");
    }
    // Values inside JSON: the smallest (largest) of the lowest (highest) type class present.
    const JsonSource s = JsonOf(acc.operand);
    const std::string n = Name('a'), str = Name('a'), b = Name('a');
    l1.extra.push_back(JsonNumber(s) + " AS " + n);
    l1.extra.push_back(JsonString(s) + " AS " + str);
    l1.extra.push_back(JsonBool(s) + " AS " + b);
    const std::string num_agg = fn + n + ")";
    const std::string str_agg = fn + str + (pg() ? " COLLATE \"C\")" : ")");
    const std::string bool_agg = fn + b + ")";
    const std::string num_json = pg() ? "to_jsonb(" + num_agg + ")" : num_agg;  // see $sum
    const std::string str_json = pg() ? "to_jsonb(" + str_agg + ")" : "json_quote(" + str_agg + ")";
    const std::string bool_json = pg() ? "to_jsonb(" + bool_agg + " = 1)"
                                       : "(CASE " + bool_agg + " WHEN 1 THEN 'true' ELSE 'false' END)";
    const std::vector<std::pair<std::string, std::string>> classes =
        min ? std::vector<std::pair<std::string, std::string>>{{num_agg, num_json}, {str_agg, str_json}, {bool_agg, bool_json}}
            : std::vector<std::pair<std::string, std::string>>{{bool_agg, bool_json}, {str_agg, str_json}, {num_agg, num_json}};
    std::string sql = "(CASE";
    for (const auto& [agg, json] : classes) sql += " WHEN " + agg + " IS NOT NULL THEN " + json;
    return sql + " END)";
  }

  Dialect dialect_;
  Binder bind_;
  int next_name_ = 0;
};

// ---- rows → documents ----

// A whole number read from JSON as an integer: JSON does not tell 2 from 2.0, and the dialects spell it
// differently (see sql_pipeline.hpp).
void NormaliseNumbers(nlohmann::json& v) {
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9007199254740992.0) v = static_cast<std::int64_t>(d);
  } else if (v.is_structured()) {
    for (auto& child : v) NormaliseNumbers(child);
  }
}

std::optional<std::int64_t> ParseInt(std::string_view text) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

nlohmann::json DateJson(std::int64_t micros) {
  return FormatRfc3339(
      std::chrono::time_point_cast<Clock::duration>(std::chrono::sys_time<std::chrono::microseconds>(
          std::chrono::microseconds(micros))));
}

// An array element of the given kind, from its JSON form.
nlohmann::json Element(nlohmann::json v, Kind kind) {
  if (v.is_null()) return v;
  switch (kind) {
    case Kind::kDate:
      return v.is_number() ? DateJson(v.get<std::int64_t>()) : v;
    case Kind::kDouble:
      return v.is_number() ? nlohmann::json(v.get<double>()) : v;
    case Kind::kInt:
      return v.is_number_float() ? nlohmann::json(static_cast<std::int64_t>(v.get<double>())) : v;
    case Kind::kJson:
      NormaliseNumbers(v);
      return v;
    default:
      return v;
  }
}

nlohmann::json Scalar(const FieldNode& leaf, const std::string& text) {
  switch (leaf.kind) {
    case Kind::kString:
      return text;
    case Kind::kInt:
      if (auto v = ParseInt(text)) return *v;
      return std::strtod(text.c_str(), nullptr);  // PostgreSQL's numeric sums, SQLite's overflow to real
    case Kind::kDouble:
      return std::strtod(text.c_str(), nullptr);
    case Kind::kDate:
      return DateJson(ParseInt(text).value_or(0));
    case Kind::kJson: {
      auto v = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (v.is_discarded()) return text;
      NormaliseNumbers(v);
      return v;
    }
    case Kind::kArray: {
      auto v = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (!v.is_array()) return nlohmann::json::array();
      for (auto& element : v) element = Element(std::move(element), leaf.element_kind);
      return v;
    }
    case Kind::kDocument:
      break;
  }
  return nullptr;
}

bool Truthy(const std::string& text) { return text == "1" || text == "t" || text == "true"; }

std::optional<nlohmann::json> Decode(const FieldNode& node, const sql::Rows& rows, std::size_t row,
                                     const std::map<std::string, std::size_t>& index) {
  if (node.kind == Kind::kDocument) {
    if (!node.presence_column.empty()) {
      const std::size_t col = index.at(node.presence_column);
      if (rows.IsNull(row, col) || !Truthy(rows.Text(row, col))) return std::nullopt;
    }
    nlohmann::json doc = nlohmann::json::object();
    for (const auto& [name, child] : node.children)
      if (auto value = Decode(child, rows, row, index)) doc[name] = std::move(*value);
    return doc;
  }
  const std::size_t col = index.at(node.column);
  if (rows.IsNull(row, col)) {
    if (node.null_is_missing) return std::nullopt;
    return nlohmann::json(nullptr);
  }
  return Scalar(node, rows.Text(row, col));
}

}  // namespace

CompiledPipeline CompileToSql(const Pipeline& pipeline, sql::Dialect dialect, std::size_t max_rows) {
  return Compiler(dialect).Compile(pipeline.plan(), max_rows);
}

std::vector<nlohmann::json> RowsToDocuments(const CompiledPipeline& compiled, const sql::Rows& rows) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < compiled.columns.size(); ++i) index.emplace(compiled.columns[i], i);
  std::vector<nlohmann::json> documents;
  documents.reserve(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r)
    documents.push_back(Decode(compiled.output, rows, r, index).value_or(nlohmann::json::object()));
  return documents;
}

}  // namespace cohort::store::events
