// Pipeline parsing (JSON → a checked PlanData) and the MongoDB form of a plan. Every check happens here, once:
// the backends trust the plan. Field references are resolved against the shape of the documents entering each
// stage, so a stage after $group sees the fields $group produced, typed.

#include "store/events/pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "common/time.hpp"
#include "store/events/pipeline_plan.hpp"

namespace cohort::store::events {

FieldNode EventDocumentShape() {
  auto leaf = [](Kind kind, const char* column) {
    FieldNode n;
    n.kind = kind;
    n.column = column;
    n.null_is_missing = true;  // absent optional fields are missing, as MongoDB stores them
    return n;
  };
  FieldNode root;
  root.children = {{"event_id", leaf(Kind::kString, "event_id")},
                   {"user_id", leaf(Kind::kString, "user_id")},
                   {"type", leaf(Kind::kString, "type")},
                   {"product_id", leaf(Kind::kString, "product_id")},
                   {"category", leaf(Kind::kString, "category")},
                   {"price", leaf(Kind::kDouble, "price")},
                   {"quantity", leaf(Kind::kInt, "quantity")},
                   {"ts", leaf(Kind::kDate, "ts")},
                   {"properties", leaf(Kind::kJson, "properties")}};
  return root;
}

namespace {

using Json = OrderedJson;

// User text inside an error message: short, printable ASCII (the message itself travels as JSON).
std::string Quote(std::string_view text) {
  constexpr std::size_t kMax = 60;
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (text.size() > kMax) out += "...";
  return out;
}

bool IsPlainSegment(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string JoinPath(const std::vector<std::string>& segments, std::size_t from = 0) {
  std::string out;
  for (std::size_t i = from; i < segments.size(); ++i) {
    if (!out.empty()) out += '.';
    out += segments[i];
  }
  return out;
}

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kString: return "a string";
    case Kind::kInt:
    case Kind::kDouble: return "a number";
    case Kind::kDate: return "a date";
    case Kind::kJson: return "a JSON value";
    case Kind::kArray: return "an array";
    case Kind::kDocument: return "a document";
  }
  return "a value";
}

bool IsScalar(const Json& v) { return v.is_string() || v.is_number() || v.is_boolean() || v.is_null(); }

// A JSON number as an integer when it is one that fits in 64 bits.
std::optional<std::int64_t> AsInt64(const Json& v) {
  if (v.is_number_integer() && !v.is_number_unsigned()) return v.get<std::int64_t>();
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return static_cast<std::int64_t>(u);
    return std::nullopt;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    // 2^63 is exactly representable; anything at or past it does not fit.
    if (std::floor(d) == d && d >= -9.2233720368547758e18 && d < 9.2233720368547758e18)
      return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

class Parser {
 public:
  Result<PlanData> Run(const Json& pipeline) {
    if (!pipeline.is_array()) return Error::InvalidArgument("the pipeline must be a JSON array of stages");
    if (pipeline.size() > kMaxStages)
      return Error::InvalidArgument(
          fmt::format("the pipeline has {} stages; at most {} are allowed", pipeline.size(), kMaxStages));
    PlanData plan;
    plan.events = EventDocumentShape();
    for (std::size_t i = 0; i < pipeline.size(); ++i) {
      index_ = i;
      name_.clear();
      const Json& item = pipeline[i];
      if (!item.is_object() || item.size() != 1)
        return Error::InvalidArgument(
            fmt::format("stage {}: a stage must be an object with exactly one key, such as {{\"$match\": {{}}}}", i));
      const std::string& name = item.begin().key();
      const Json& spec = item.begin().value();
      name_ = Quote(name);
      const FieldNode& input = plan.stages.empty() ? plan.events : plan.stages.back().output;
      Stage stage;
      stage.index = i;
      stage.name = name;
      stage.source = spec;
      stage.reads_events = reads_events_;
      COHORT_TRY(ParseStage(name, spec, input, stage));
      plan.stages.push_back(std::move(stage));
    }
    return plan;
  }

 private:
  Error Fail(std::string_view message) const {
    return Error::InvalidArgument(fmt::format("stage {} ({}): {}", index_, name_, message));
  }

  std::string NewColumn() { return fmt::format("f{}", next_column_++); }

  Result<void> ParseStage(const std::string& name, const Json& spec, const FieldNode& input, Stage& stage) {
    if (name == "$match") {
      stage.kind = StageKind::kMatch;
      COHORT_ASSIGN_OR_RETURN(stage.match, ParseMatch(spec, input, 0));
      stage.output = input;
    } else if (name == "$group") {
      stage.kind = StageKind::kGroup;
      COHORT_TRY(ParseGroup(spec, input, stage));
      reads_events_ = false;
    } else if (name == "$sort") {
      stage.kind = StageKind::kSort;
      COHORT_TRY(ParseSort(spec, input, stage));
      stage.output = input;
    } else if (name == "$limit" || name == "$skip") {
      stage.kind = name == "$limit" ? StageKind::kLimit : StageKind::kSkip;
      const std::int64_t least = name == "$limit" ? 1 : 0;
      const auto amount = spec.is_number() ? AsInt64(spec) : std::nullopt;
      if (!amount || *amount < least)
        return Fail(least == 1 ? "needs a positive integer" : "needs an integer of 0 or more");
      stage.amount = *amount;
      stage.output = input;
    } else if (name == "$project") {
      stage.kind = StageKind::kProject;
      COHORT_TRY(ParseProject(spec, input, stage));
      reads_events_ = false;
    } else if (name == "$count") {
      stage.kind = StageKind::kCount;
      if (!spec.is_string() || !IsPlainSegment(spec.get<std::string>()) ||
          spec.get<std::string>().size() > kMaxPathLength)
        return Fail("needs a field name of letters, digits and '_', such as \"total\"");
      stage.count_column = NewColumn();
      FieldNode leaf;
      leaf.kind = Kind::kInt;
      leaf.column = stage.count_column;
      leaf.null_is_missing = false;
      stage.output = FieldNode{};
      stage.output.children.push_back({spec.get<std::string>(), std::move(leaf)});
      reads_events_ = false;
    } else {
      return Fail("this stage is not supported; the supported stages are $match, $group, $sort, $limit, $skip, "
                  "$project and $count");
    }
    return {};
  }

  // ---- field paths ----

  Result<std::vector<std::string>> SplitPath(std::string_view path) const {
    if (path.empty()) return Fail("a field name is empty");
    if (path.size() > kMaxPathLength)
      return Fail(fmt::format("field name '{}' is longer than {} characters", Quote(path), kMaxPathLength));
    std::vector<std::string> segments;
    std::size_t start = 0;
    for (;;) {
      const auto dot = path.find('.', start);
      const auto segment = path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
      if (!IsPlainSegment(segment))
        return Fail(fmt::format("field name '{}' is not a dotted path of letters, digits and '_'", Quote(path)));
      segments.emplace_back(segment);
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    return segments;
  }

  // A path that reads the documents entering the stage.
  Result<std::vector<std::string>> ReferencePath(std::string_view path) const {
    COHORT_ASSIGN_OR_RETURN(auto segments, SplitPath(path));
    if (reads_events_ && segments.front() == "_id")
      return Fail("event documents have no '_id'; their key is 'event_id'");
    return segments;
  }

  static FieldRef Resolve(const FieldNode& shape, const std::vector<std::string>& segments) {
    FieldRef ref;
    ref.path = JoinPath(segments);
    const FieldNode* node = &shape;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (node->kind == Kind::kDocument) {
        node = node->Child(segments[i]);
        if (node == nullptr) return ref;  // missing
        continue;
      }
      if (node->kind == Kind::kJson) {
        ref.target = FieldRef::Target::kJson;
        ref.node = *node;
        ref.json_path.assign(segments.begin() + static_cast<std::ptrdiff_t>(i), segments.end());
        return ref;
      }
      return ref;  // a scalar has no fields
    }
    ref.node = *node;
    if (node->kind == Kind::kDocument) {
      ref.target = FieldRef::Target::kDocument;
    } else if (node->kind == Kind::kJson) {
      ref.target = FieldRef::Target::kJson;
    } else {
      ref.target = FieldRef::Target::kLeaf;
    }
    return ref;
  }

  // ---- expressions ----

  Result<Expr> ParseExpr(const Json& v, const FieldNode& shape, int depth) const {
    if (depth > kMaxNesting) return Fail("an expression is nested too deeply");
    Expr e;
    if (v.is_string()) {
      const auto& s = v.get_ref<const std::string&>();
      if (s.starts_with("$$")) return Fail(fmt::format("variables such as '{}' are not supported", Quote(s)));
      if (!s.starts_with("$")) {
        e.op = Expr::Op::kLiteral;
        e.literal = v;
        e.kind = Kind::kString;
        return e;
      }
      COHORT_ASSIGN_OR_RETURN(auto segments, ReferencePath(std::string_view(s).substr(1)));
      e.op = Expr::Op::kField;
      e.field = Resolve(shape, segments);
      switch (e.field.target) {
        case FieldRef::Target::kMissing:
          e.kind = Kind::kJson;
          e.null_is_missing = true;
          break;
        case FieldRef::Target::kLeaf:
          e.kind = e.field.node.kind;
          e.null_is_missing = e.field.node.null_is_missing;
          break;
        case FieldRef::Target::kJson:
          e.kind = Kind::kJson;
          e.null_is_missing = e.field.json_path.empty() ? e.field.node.null_is_missing : true;
          break;
        case FieldRef::Target::kDocument:
          e.kind = Kind::kDocument;
          e.null_is_missing = true;
          break;
      }
      return e;
    }
    if (v.is_number()) {
      e.op = Expr::Op::kLiteral;
      e.literal = v;
      e.kind = (v.is_number_float() || !AsInt64(v)) ? Kind::kDouble : Kind::kInt;
      if (v.is_number_unsigned() && !AsInt64(v)) e.literal = v.get<double>();
      return e;
    }
    if (v.is_boolean() || v.is_null()) {
      e.op = Expr::Op::kLiteral;
      e.literal = v;
      e.kind = Kind::kJson;
      return e;
    }
    if (v.is_array()) return Fail("array expressions are not supported");
    if (v.empty()) return Fail("an empty document is not an expression");
    if (v.size() != 1 || !v.begin().key().starts_with("$"))
      return Fail("document expressions are not supported; use a field path, a literal or an arithmetic operator");
    const std::string& op = v.begin().key();
    const Json& args = v.begin().value();
    if (op == "$add") {
      e.op = Expr::Op::kAdd;
    } else if (op == "$subtract") {
      e.op = Expr::Op::kSubtract;
    } else if (op == "$multiply") {
      e.op = Expr::Op::kMultiply;
    } else if (op == "$divide") {
      e.op = Expr::Op::kDivide;
    } else {
      return Fail(fmt::format("expression operator '{}' is not supported; use $add, $subtract, $multiply or $divide",
                              Quote(op)));
    }
    const bool binary = e.op == Expr::Op::kSubtract || e.op == Expr::Op::kDivide;
    if (!args.is_array() || args.empty() || (binary && args.size() != 2))
      return Fail(fmt::format("'{}' needs an array of {}", op, binary ? "two operands" : "operands"));
    bool all_int = true;
    for (const Json& arg : args) {
      COHORT_ASSIGN_OR_RETURN(Expr operand, ParseExpr(arg, shape, depth + 1));
      const bool null_literal = operand.op == Expr::Op::kLiteral && operand.literal.is_null();
      const bool numeric = operand.kind == Kind::kInt || operand.kind == Kind::kDouble ||
                           (operand.kind == Kind::kJson && (operand.op == Expr::Op::kField || null_literal));
      if (!numeric)
        return Fail(fmt::format("'{}' needs numbers, but {} is {}", op,
                                operand.op == Expr::Op::kField ? "'$" + Quote(operand.field.path) + "'"
                                                               : std::string("an operand"),
                                KindName(operand.kind)));
      all_int = all_int && operand.kind == Kind::kInt;
      e.args.push_back(std::move(operand));
    }
    e.kind = (all_int && e.op != Expr::Op::kDivide) ? Kind::kInt : Kind::kDouble;
    e.null_is_missing = false;
    return e;
  }

  // ---- $match ----

  Result<Predicate> ParseMatch(const Json& doc, const FieldNode& shape, int depth) {
    if (depth > kMaxNesting) return Fail("conditions are nested too deeply");
    if (!doc.is_object()) return Fail("a condition must be a JSON object");
    Predicate all;
    all.op = Predicate::Op::kAnd;
    for (const auto& [key, value] : doc.items()) {
      if (key == "$and" || key == "$or") {
        if (!value.is_array() || value.empty())
          return Fail(fmt::format("'{}' needs a non-empty array of conditions", key));
        Predicate group;
        group.op = key == "$and" ? Predicate::Op::kAnd : Predicate::Op::kOr;
        for (const Json& element : value) {
          COHORT_ASSIGN_OR_RETURN(Predicate child, ParseMatch(element, shape, depth + 1));
          group.children.push_back(std::move(child));
        }
        all.children.push_back(std::move(group));
        continue;
      }
      if (key.starts_with("$")) return Fail(fmt::format("operator '{}' is not supported", Quote(key)));
      COHORT_ASSIGN_OR_RETURN(auto segments, ReferencePath(key));
      FieldRef field = Resolve(shape, segments);
      if (field.target == FieldRef::Target::kLeaf && field.node.kind == Kind::kArray)
        return Fail(fmt::format("field '{}' is an array made by $addToSet and cannot be matched", Quote(key)));
      if (value.is_object()) {
        if (value.empty()) return Fail(fmt::format("field '{}': document values are not supported", Quote(key)));
        for (const auto& [op, operand] : value.items()) {
          if (!op.starts_with("$"))
            return Fail(fmt::format("field '{}': document values are not supported", Quote(key)));
          COHORT_ASSIGN_OR_RETURN(Predicate leaf, ParseCondition(field, op, operand));
          COHORT_TRY(CountValues(std::max<std::size_t>(1, leaf.values.size())));
          all.children.push_back(std::move(leaf));
        }
      } else if (value.is_array()) {
        return Fail(fmt::format("field '{}': array values are not supported", Quote(key)));
      } else {
        COHORT_ASSIGN_OR_RETURN(Predicate leaf, ParseCondition(field, "$eq", value));
        COHORT_TRY(CountValues(1));
        all.children.push_back(std::move(leaf));
      }
    }
    if (all.children.size() == 1) return std::move(all.children.front());
    return all;
  }

  Result<OrderedJson> MatchValue(const FieldRef& field, std::string_view op, const Json& v) const {
    if (!IsScalar(v))
      return Fail(fmt::format("field '{}': '{}' needs a string, number, boolean or null", Quote(field.path), op));
    const bool date = field.target == FieldRef::Target::kLeaf && field.node.kind == Kind::kDate;
    if (!date || v.is_null()) return v;
    if (!v.is_string())
      return Fail(fmt::format("field '{}' is a date: compare it with an RFC 3339 string such as "
                              "\"2026-01-31T00:00:00Z\"",
                              Quote(field.path)));
    const auto t = ParseRfc3339(v.get_ref<const std::string&>());
    if (!t)
      return Fail(fmt::format("field '{}': '{}' is not an RFC 3339 date such as \"2026-01-31T00:00:00Z\"",
                              Quote(field.path), Quote(v.get_ref<const std::string&>())));
    return OrderedJson(std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch()).count());
  }

  Result<Predicate> ParseCondition(const FieldRef& field, const std::string& op, const Json& operand) const {
    static const std::map<std::string, Predicate::Op, std::less<>> kOps = {
        {"$eq", Predicate::Op::kEq},   {"$ne", Predicate::Op::kNe},   {"$gt", Predicate::Op::kGt},
        {"$gte", Predicate::Op::kGte}, {"$lt", Predicate::Op::kLt},   {"$lte", Predicate::Op::kLte},
        {"$in", Predicate::Op::kIn},   {"$nin", Predicate::Op::kNin}, {"$exists", Predicate::Op::kExists}};
    const auto it = kOps.find(op);
    if (it == kOps.end())
      return Fail(fmt::format("field '{}': operator '{}' is not supported", Quote(field.path), Quote(op)));
    Predicate p;
    p.op = it->second;
    p.field = field;
    p.dates = field.target == FieldRef::Target::kLeaf && field.node.kind == Kind::kDate;
    if (p.op == Predicate::Op::kExists) {
      if (operand.is_boolean()) {
        p.exists = operand.get<bool>();
      } else if (operand.is_number()) {
        p.exists = operand.get<double>() != 0;
      } else {
        return Fail(fmt::format("field '{}': '$exists' needs true or false", Quote(field.path)));
      }
      return p;
    }
    if (p.op == Predicate::Op::kIn || p.op == Predicate::Op::kNin) {
      if (!operand.is_array())
        return Fail(fmt::format("field '{}': '{}' needs an array of values", Quote(field.path), op));
      if (operand.size() > kMaxListValues)
        return Fail(fmt::format("field '{}': '{}' takes at most {} values", Quote(field.path), op, kMaxListValues));
      for (const Json& v : operand) {
        COHORT_ASSIGN_OR_RETURN(OrderedJson value, MatchValue(field, op, v));
        p.values.push_back(std::move(value));
      }
      return p;
    }
    COHORT_ASSIGN_OR_RETURN(OrderedJson value, MatchValue(field, op, operand));
    p.values.push_back(std::move(value));
    return p;
  }

  Result<void> CountValues(std::size_t n) {
    values_ += n;
    if (values_ > kMaxValues) return Fail(fmt::format("the pipeline compares more than {} values", kMaxValues));
    return {};
  }

  // ---- $group ----

  Result<void> CheckOutputName(std::string_view name) const {
    if (!IsPlainSegment(name) || name.size() > kMaxPathLength)
      return Fail(fmt::format("output field name '{}' must be letters, digits and '_' (no '.' or '$')",
                              Quote(name)));
    return {};
  }

  Result<void> ParseGroup(const Json& spec, const FieldNode& input, Stage& stage) {
    if (!spec.is_object()) return Fail("needs an object such as {\"_id\": \"$type\", \"n\": {\"$sum\": 1}}");
    if (!spec.contains("_id")) return Fail("needs an _id (null puts every document in one group)");
    FieldNode out;
    COHORT_ASSIGN_OR_RETURN(FieldNode id, ParseGroupKey(spec["_id"], input, stage.group.keys, false, 0));
    out.children.push_back({"_id", std::move(id)});
    if (spec.size() > kMaxOutputFields) return Fail(fmt::format("makes at most {} fields", kMaxOutputFields));
    for (const auto& [name, value] : spec.items()) {
      if (name == "_id") continue;
      COHORT_TRY(CheckOutputName(name));
      if (!value.is_object() || value.size() != 1 || !value.begin().key().starts_with("$"))
        return Fail(fmt::format("field '{}': an accumulator is an object with one operator, such as {{\"$sum\": 1}}",
                                Quote(name)));
      const std::string& op = value.begin().key();
      const Json& operand = value.begin().value();
      static const std::map<std::string, AccumulatorOp, std::less<>> kAccumulators = {
          {"$sum", AccumulatorOp::kSum},     {"$avg", AccumulatorOp::kAvg},   {"$min", AccumulatorOp::kMin},
          {"$max", AccumulatorOp::kMax},     {"$count", AccumulatorOp::kCount}, {"$first", AccumulatorOp::kFirst},
          {"$last", AccumulatorOp::kLast},   {"$addToSet", AccumulatorOp::kAddToSet}};
      const auto it = kAccumulators.find(op);
      if (it == kAccumulators.end())
        return Fail(fmt::format("field '{}': unknown accumulator '{}'", Quote(name), Quote(op)));
      Accumulator acc;
      acc.name = name;
      acc.op = it->second;
      acc.column = NewColumn();
      FieldNode leaf;
      leaf.column = acc.column;
      leaf.null_is_missing = false;
      if (acc.op == AccumulatorOp::kCount) {
        if (!operand.is_object() || !operand.empty()) return Fail(fmt::format("field '{}': '$count' takes {{}}", Quote(name)));
        leaf.kind = Kind::kInt;
      } else {
        COHORT_ASSIGN_OR_RETURN(acc.operand, ParseExpr(operand, input, 1));
        const Kind kind = acc.operand.kind;
        const bool ordered = acc.op == AccumulatorOp::kFirst || acc.op == AccumulatorOp::kLast;
        if (kind == Kind::kDocument || (kind == Kind::kArray && !ordered))
          return Fail(fmt::format("field '{}': '{}' over {} is not supported", Quote(name), op, KindName(kind)));
        switch (acc.op) {
          case AccumulatorOp::kSum:
            // Over values inside JSON the sum is a JSON number: whole when they all are, as in MongoDB.
            leaf.kind = kind == Kind::kInt ? Kind::kInt : kind == Kind::kJson ? Kind::kJson : Kind::kDouble;
            break;
          case AccumulatorOp::kAvg:
            leaf.kind = Kind::kDouble;
            break;
          case AccumulatorOp::kAddToSet:
            leaf.kind = Kind::kArray;
            leaf.element_kind = kind;
            break;
          default:
            leaf.kind = kind;
            if (kind == Kind::kArray) leaf.element_kind = acc.operand.field.node.element_kind;
            break;
        }
      }
      stage.group.accumulators.push_back(std::move(acc));
      out.children.push_back({name, std::move(leaf)});
    }
    stage.output = std::move(out);
    return {};
  }

  Result<FieldNode> ParseGroupKey(const Json& v, const FieldNode& input, std::vector<GroupKeyColumn>& keys,
                                  bool in_document, int depth) {
    if (depth > kMaxNesting) return Fail("_id is nested too deeply");
    bool document = v.is_object();
    for (auto it = v.begin(); document && it != v.end(); ++it) document = !it.key().starts_with("$");
    if (document) {
      FieldNode doc;
      for (const auto& [name, sub] : v.items()) {
        COHORT_TRY(CheckOutputName(name));
        COHORT_ASSIGN_OR_RETURN(FieldNode child, ParseGroupKey(sub, input, keys, true, depth + 1));
        doc.children.push_back({name, std::move(child)});
      }
      return doc;
    }
    COHORT_ASSIGN_OR_RETURN(Expr e, ParseExpr(v, input, depth + 1));
    if (e.kind == Kind::kArray) return Fail("grouping by an array made by $addToSet is not supported");
    if (e.kind == Kind::kDocument) return KeyFromDocument(e.field.node, keys);
    FieldNode leaf;
    leaf.kind = e.kind;
    leaf.column = NewColumn();
    leaf.null_is_missing = in_document && e.null_is_missing;
    keys.push_back({leaf.column, std::move(e), in_document});
    return leaf;
  }

  // Grouping by a whole sub-document (the _id of an earlier $group): one key per leaf, same shape.
  Result<FieldNode> KeyFromDocument(const FieldNode& source, std::vector<GroupKeyColumn>& keys) {
    if (!source.presence_column.empty()) return Fail("grouping by a projected sub-document is not supported");
    FieldNode doc;
    for (const auto& [name, child] : source.children) {
      if (child.kind == Kind::kDocument) {
        COHORT_ASSIGN_OR_RETURN(FieldNode sub, KeyFromDocument(child, keys));
        doc.children.push_back({name, std::move(sub)});
        continue;
      }
      if (child.kind == Kind::kArray) return Fail("grouping by an array made by $addToSet is not supported");
      Expr e;
      e.op = Expr::Op::kField;
      e.field.target = child.kind == Kind::kJson ? FieldRef::Target::kJson : FieldRef::Target::kLeaf;
      e.field.node = child;
      e.field.path = name;
      e.kind = child.kind;
      e.null_is_missing = child.null_is_missing;
      FieldNode leaf;
      leaf.kind = child.kind;
      leaf.column = NewColumn();
      leaf.null_is_missing = child.null_is_missing;
      keys.push_back({leaf.column, std::move(e), true});
      doc.children.push_back({name, std::move(leaf)});
    }
    return doc;
  }

  // ---- $sort ----

  Result<void> ParseSort(const Json& spec, const FieldNode& input, Stage& stage) const {
    if (!spec.is_object() || spec.empty()) return Fail("needs an object of fields, such as {\"ts\": -1}");
    if (spec.size() > kMaxSortKeys) return Fail(fmt::format("sorts by at most {} fields", kMaxSortKeys));
    for (const auto& [key, value] : spec.items()) {
      COHORT_ASSIGN_OR_RETURN(auto segments, ReferencePath(key));
      if (!value.is_number() || (value.get<double>() != 1 && value.get<double>() != -1))
        return Fail(fmt::format("field '{}': the sort order must be 1 or -1", Quote(key)));
      SortKey sort_key;
      sort_key.field = Resolve(input, segments);
      sort_key.descending = value.get<double>() < 0;
      if (sort_key.field.target == FieldRef::Target::kLeaf && sort_key.field.node.kind == Kind::kArray)
        return Fail(fmt::format("field '{}': sorting by an array made by $addToSet is not supported", Quote(key)));
      stage.sort.push_back(std::move(sort_key));
    }
    return {};
  }

  // ---- $project ----

  struct ProjectItem {
    enum class What { kInclude, kExclude, kCompute };
    std::vector<std::string> path;
    What what = What::kInclude;
    Json value;
  };

  Result<void> FlattenProjection(const Json& spec, const std::vector<std::string>& prefix,
                                 std::vector<ProjectItem>& items, int depth) const {
    if (depth > kMaxNesting) return Fail("the projection is nested too deeply");
    for (const auto& [key, value] : spec.items()) {
      COHORT_ASSIGN_OR_RETURN(auto segments, SplitPath(key));
      std::vector<std::string> path = prefix;
      path.insert(path.end(), segments.begin(), segments.end());
      if (JoinPath(path).size() > kMaxPathLength)
        return Fail(fmt::format("field name '{}' is longer than {} characters", Quote(JoinPath(path)), kMaxPathLength));
      if (items.size() >= kMaxOutputFields)
        return Fail(fmt::format("projects at most {} fields", kMaxOutputFields));
      ProjectItem item;
      item.path = std::move(path);
      item.value = value;
      if (value.is_object()) {
        if (value.empty()) return Fail(fmt::format("field '{}': an empty projection", Quote(key)));
        if (value.begin().key().starts_with("$")) {
          item.what = ProjectItem::What::kCompute;
        } else {
          COHORT_TRY(FlattenProjection(value, item.path, items, depth + 1));
          continue;
        }
      } else if (value.is_boolean()) {
        item.what = value.get<bool>() ? ProjectItem::What::kInclude : ProjectItem::What::kExclude;
      } else if (value.is_number()) {
        item.what = value.get<double>() != 0 ? ProjectItem::What::kInclude : ProjectItem::What::kExclude;
      } else if (value.is_string()) {
        item.what = ProjectItem::What::kCompute;
      } else {
        return Fail(fmt::format("field '{}': {} is not a projection; use 1, 0, a field path or an expression",
                                Quote(key), value.is_null() ? "null" : "an array"));
      }
      items.push_back(std::move(item));
    }
    return {};
  }

  Result<void> ParseProject(const Json& spec, const FieldNode& input, Stage& stage) {
    if (!spec.is_object() || spec.empty()) return Fail("needs an object of fields, such as {\"user_id\": 1}");
    std::vector<ProjectItem> items;
    COHORT_TRY(FlattenProjection(spec, {}, items, 0));
    // _id may be included or excluded in either mode; any other field decides the mode.
    bool includes = false, excludes = false, id_only = true;
    for (const auto& item : items) {
      const bool id = item.path.size() == 1 && item.path.front() == "_id";
      // A computed field may be named _id; including or excluding one needs documents that have it.
      if (reads_events_ && item.what != ProjectItem::What::kCompute && item.path.front() == "_id")
        return Fail("event documents have no '_id'; their key is 'event_id'");
      if (id && item.what != ProjectItem::What::kCompute) continue;  // a computed _id is an inclusion
      id_only = false;
      (item.what == ProjectItem::What::kExclude ? excludes : includes) = true;
    }
    if (includes && excludes) return Fail("cannot mix inclusion and exclusion of fields (except of _id)");
    if (id_only) {
      // {_id: 0} alone keeps everything else; {_id: 1} alone keeps only _id.
      excludes = items.front().what == ProjectItem::What::kExclude;
      includes = !excludes;
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      for (std::size_t j = 0; j < items.size(); ++j) {
        if (i == j) continue;
        const auto& a = items[i].path;
        const auto& b = items[j].path;
        if (a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin()))
          return Fail(fmt::format("path collision at '{}'", Quote(JoinPath(b))));
      }
    }
    stage.output = FieldNode{};
    if (!includes) return ProjectExclusion(items, input, stage);
    // Inclusion: _id stays unless excluded or given.
    const bool id_given = std::any_of(items.begin(), items.end(), [](const auto& item) { return item.path.front() == "_id"; });
    if (!id_given) {
      if (const FieldNode* id = input.Child("_id")) stage.output.children.push_back({"_id", Copy(*id, stage)});
    }
    for (const auto& item : items) {
      if (item.what == ProjectItem::What::kExclude) continue;  // _id: 0
      if (item.what == ProjectItem::What::kInclude) {
        Include(input, item.path, stage);
      } else {
        COHORT_TRY(Compute(item, input, stage));
      }
    }
    return {};
  }

  // A copy of `node` in new columns (presence too).
  FieldNode Copy(const FieldNode& node, Stage& stage) {
    FieldNode out = node;
    if (node.kind == Kind::kDocument) {
      out.children.clear();
      if (!node.presence_column.empty()) out.presence_column = CopyColumn(node.presence_column, stage);
      for (const auto& [name, child] : node.children) out.children.push_back({name, Copy(child, stage)});
      return out;
    }
    out.column = CopyColumn(node.column, stage);
    return out;
  }

  std::string CopyColumn(const std::string& input_column, Stage& stage) {
    ColumnDef def;
    def.column = NewColumn();
    def.source = ColumnDef::Source::kCopy;
    def.input_column = input_column;
    stage.project.push_back(def);
    return def.column;
  }

  static Expr JsonValue(const FieldNode& leaf, std::vector<std::string> json_path) {
    Expr e;
    e.op = Expr::Op::kField;
    e.field.target = FieldRef::Target::kJson;
    e.field.node = leaf;
    e.field.json_path = std::move(json_path);
    e.field.path = leaf.column;
    e.kind = Kind::kJson;
    e.null_is_missing = e.field.json_path.empty() ? leaf.null_is_missing : true;
    return e;
  }

  // The output document at `name` under `parent`, created when missing. `presence` makes it exist only where
  // a JSON value is an object.
  FieldNode& OutputDocument(FieldNode& parent, const std::string& name, Stage& stage, const Expr* presence) {
    if (FieldNode* existing = parent.Child(name)) return *existing;
    FieldNode doc;
    if (presence != nullptr) {
      ColumnDef def;
      def.column = NewColumn();
      def.source = ColumnDef::Source::kIsObject;
      def.expr = *presence;
      stage.project.push_back(def);
      doc.presence_column = def.column;
    }
    parent.children.push_back({name, std::move(doc)});
    return parent.children.back().second;
  }

  void Include(const FieldNode& input, const std::vector<std::string>& path, Stage& stage) {
    const FieldNode* src = &input;
    FieldNode* dst = &stage.output;
    for (std::size_t i = 0; i < path.size(); ++i) {
      const FieldNode* child = src->Child(path[i]);
      if (child == nullptr) return;  // missing: nothing to include
      if (i + 1 == path.size()) {
        dst->children.push_back({path[i], Copy(*child, stage)});
        return;
      }
      if (child->kind == Kind::kDocument) {
        if (FieldNode* existing = dst->Child(path[i])) {
          dst = existing;
        } else {
          FieldNode doc;
          if (!child->presence_column.empty()) doc.presence_column = CopyColumn(child->presence_column, stage);
          dst->children.push_back({path[i], std::move(doc)});
          dst = &dst->children.back().second;
        }
        src = child;
        continue;
      }
      if (child->kind == Kind::kJson) {
        // The rest of the path lies inside a JSON value: each level exists where the value there is an object.
        std::vector<std::string> inner;
        const Expr root = JsonValue(*child, inner);
        dst = &OutputDocument(*dst, path[i], stage, &root);
        for (std::size_t j = i + 1; j + 1 < path.size(); ++j) {
          inner.push_back(path[j]);
          const Expr level = JsonValue(*child, inner);
          dst = &OutputDocument(*dst, path[j], stage, &level);
        }
        inner.push_back(path.back());
        ColumnDef def;
        def.column = NewColumn();
        def.source = ColumnDef::Source::kExpr;
        def.expr = JsonValue(*child, inner);
        stage.project.push_back(def);
        FieldNode leaf;
        leaf.kind = Kind::kJson;
        leaf.column = def.column;
        leaf.null_is_missing = true;
        dst->children.push_back({path.back(), std::move(leaf)});
        return;
      }
      return;  // a scalar has no fields
    }
  }

  Result<void> Compute(const ProjectItem& item, const FieldNode& input, Stage& stage) {
    COHORT_ASSIGN_OR_RETURN(Expr e, ParseExpr(item.value, input, 1));
    FieldNode* dst = &stage.output;
    for (std::size_t i = 0; i + 1 < item.path.size(); ++i) dst = &OutputDocument(*dst, item.path[i], stage, nullptr);
    const std::string& name = item.path.back();
    if (e.op == Expr::Op::kField && e.field.target == FieldRef::Target::kMissing) return {};  // left out
    if (e.kind == Kind::kDocument) {
      dst->children.push_back({name, Copy(e.field.node, stage)});
      return {};
    }
    ColumnDef def;
    def.column = NewColumn();
    def.source = ColumnDef::Source::kExpr;
    FieldNode leaf;
    leaf.kind = e.kind;
    leaf.column = def.column;
    leaf.null_is_missing = e.null_is_missing;
    if (e.kind == Kind::kArray) leaf.element_kind = e.field.node.element_kind;
    def.expr = std::move(e);
    stage.project.push_back(std::move(def));
    dst->children.push_back({name, std::move(leaf)});
    return {};
  }

  Result<void> ProjectExclusion(const std::vector<ProjectItem>& items, const FieldNode& input, Stage& stage) {
    stage.output = input;
    std::map<std::string, std::vector<std::vector<std::string>>> removed;  // JSON leaf column -> key paths
    for (const auto& item : items) {
      if (item.what != ProjectItem::What::kExclude) continue;  // _id: 1 keeps _id, as it is kept anyway
      FieldNode* node = &stage.output;
      for (std::size_t i = 0; i < item.path.size(); ++i) {
        if (node->kind == Kind::kJson) {
          removed[node->column].emplace_back(item.path.begin() + static_cast<std::ptrdiff_t>(i), item.path.end());
          break;
        }
        if (node->kind != Kind::kDocument) break;  // a scalar has no fields
        if (i + 1 == item.path.size()) {
          std::erase_if(node->children, [&](const auto& child) { return child.first == item.path[i]; });
          break;
        }
        node = node->Child(item.path[i]);
        if (node == nullptr) break;
      }
    }
    Renumber(stage.output, removed, stage);
    return {};
  }

  void Renumber(FieldNode& node, const std::map<std::string, std::vector<std::vector<std::string>>>& removed,
                Stage& stage) {
    if (node.kind == Kind::kDocument) {
      if (!node.presence_column.empty()) node.presence_column = CopyColumn(node.presence_column, stage);
      for (auto& [name, child] : node.children) Renumber(child, removed, stage);
      return;
    }
    const auto it = removed.find(node.column);
    if (it == removed.end()) {
      node.column = CopyColumn(node.column, stage);
      return;
    }
    ColumnDef def;
    def.column = NewColumn();
    def.source = ColumnDef::Source::kJsonRemove;
    def.expr = JsonValue(node, {});
    def.removed = it->second;
    stage.project.push_back(std::move(def));
    node.column = stage.project.back().column;
  }

  std::size_t index_ = 0;
  std::string name_;
  bool reads_events_ = true;
  int next_column_ = 0;
  std::size_t values_ = 0;
};

// ---- MongoDB ----------------------------------------------------------------------------------------------

// MongoDB keeps dates in milliseconds; the SQL backends keep microseconds. Rounded so that comparisons with
// stored (floored) milliseconds select the same events: t >= s ⇔ t >= ceil(s), t > s ⇔ t > floor(s).
Json MongoDate(std::int64_t micros, Predicate::Op op) {
  std::int64_t ms = micros / 1000;
  if (micros % 1000 < 0) --ms;  // floor
  const bool round_up = (op == Predicate::Op::kGte || op == Predicate::Op::kLt) && micros % 1000 != 0;
  if (round_up) ++ms;
  using namespace std::chrono;
  const auto t = time_point_cast<Clock::duration>(sys_time<milliseconds>(milliseconds(ms)));
  const auto y = static_cast<int>(year_month_day(floor<days>(t)).year());
  if (y < 1970 || y > 9999) return Json{{"$date", Json{{"$numberLong", std::to_string(ms)}}}};
  std::string text = FormatRfc3339(t);  // whole seconds, or six fraction digits
  if (const auto dot = text.find('.'); dot != std::string::npos) text = text.substr(0, dot + 4) + "Z";
  return Json{{"$date", text}};
}

std::string MongoPath(const std::string& path, bool events) {
  if (!events) return path;
  if (path == "event_id") return "_id";
  if (path.starts_with("event_id.")) return "_id" + path.substr(8);
  return path;
}

Json MatchToMongo(const Predicate& p, bool events) {
  if (p.op == Predicate::Op::kAnd || p.op == Predicate::Op::kOr) {
    Json children = Json::array();
    for (const auto& child : p.children) children.push_back(MatchToMongo(child, events));
    if (p.op == Predicate::Op::kAnd && children.empty()) return Json::object();
    return Json{{p.op == Predicate::Op::kAnd ? "$and" : "$or", std::move(children)}};
  }
  static const std::map<Predicate::Op, const char*> kNames = {
      {Predicate::Op::kEq, "$eq"},   {Predicate::Op::kNe, "$ne"}, {Predicate::Op::kGt, "$gt"},
      {Predicate::Op::kGte, "$gte"}, {Predicate::Op::kLt, "$lt"}, {Predicate::Op::kLte, "$lte"},
      {Predicate::Op::kIn, "$in"},   {Predicate::Op::kNin, "$nin"}, {Predicate::Op::kExists, "$exists"}};
  auto value = [&](const Json& v) {
    return (p.dates && !v.is_null()) ? MongoDate(v.get<std::int64_t>(), p.op) : v;
  };
  Json operand;
  if (p.op == Predicate::Op::kExists) {
    operand = p.exists;
  } else if (p.op == Predicate::Op::kIn || p.op == Predicate::Op::kNin) {
    operand = Json::array();
    for (const auto& v : p.values) operand.push_back(value(v));
  } else {
    operand = value(p.values.front());
  }
  return Json{{MongoPath(p.field.path, events), Json{{kNames.at(p.op), std::move(operand)}}}};
}

// Field paths ("$event_id...") inside expressions, renamed for the collection.
Json RenameExpressionPaths(const Json& v, bool events) {
  if (!events) return v;
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.starts_with("$") && !s.starts_with("$$")) return "$" + MongoPath(s.substr(1), true);
    return v;
  }
  if (v.is_object()) {
    Json out = Json::object();
    for (const auto& [key, value] : v.items()) out[key] = RenameExpressionPaths(value, events);
    return out;
  }
  if (v.is_array()) {
    Json out = Json::array();
    for (const auto& value : v) out.push_back(RenameExpressionPaths(value, events));
    return out;
  }
  return v;
}

bool IsInclusionFlag(const Json& v) { return v.is_boolean() || v.is_number(); }

void FlattenProjection(const Json& spec, const std::string& prefix, std::vector<std::pair<std::string, Json>>& out) {
  for (const auto& [key, value] : spec.items()) {
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (value.is_object() && !value.empty() && !value.begin().key().starts_with("$")) {
      FlattenProjection(value, path, out);
    } else {
      out.emplace_back(path, value);
    }
  }
}

// A $project over events, where event_id is the collection's `_id`.
Json ProjectEventsToMongo(const Json& spec) {
  std::vector<std::pair<std::string, Json>> items;
  FlattenProjection(spec, "", items);
  const bool excludes = std::any_of(items.begin(), items.end(), [](const auto& item) {
    const Json& v = item.second;
    return IsInclusionFlag(v) && !(v.is_boolean() ? v.get<bool>() : v.get<double>() != 0);
  });
  Json out = Json::object();
  if (excludes) {
    for (const auto& [path, value] : items) out[MongoPath(path, true)] = value;
    return out;
  }
  bool computes_id = false;
  for (const auto& [path, value] : items) {
    const bool flag = IsInclusionFlag(value);
    if (path == "_id" || path.starts_with("_id.")) computes_id = true;  // Parse allows only computed ones here
    if (flag && path == "event_id") {
      out["event_id"] = "$_id";
    } else if (flag && path.starts_with("event_id.")) {
      continue;  // inside a string: always missing
    } else {
      out[path] = flag ? value : RenameExpressionPaths(value, true);
    }
  }
  if (!computes_id) out["_id"] = 0;
  // MongoDB reads {_id: 0} alone as an exclusion; here it means that nothing is left.
  if (out.size() == 1 && !computes_id) out["_cohort_nothing"] = "$_cohort_nothing";
  return out;
}

}  // namespace

Pipeline::Pipeline(std::shared_ptr<const PlanData> plan) : plan_(std::move(plan)) {}
Pipeline::Pipeline(Pipeline&&) noexcept = default;
Pipeline& Pipeline::operator=(Pipeline&&) noexcept = default;
Pipeline::~Pipeline() = default;

Result<Pipeline> Pipeline::Parse(const nlohmann::ordered_json& pipeline) {
  Parser parser;
  COHORT_ASSIGN_OR_RETURN(PlanData plan, parser.Run(pipeline));
  return Pipeline(std::make_shared<const PlanData>(std::move(plan)));
}

Result<Pipeline> Pipeline::Parse(const nlohmann::json& pipeline) {
  return Parse(nlohmann::ordered_json(pipeline));
}

Result<Pipeline> Pipeline::ParseText(std::string_view json_text) {
  auto parsed = nlohmann::ordered_json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Error::InvalidArgument("the pipeline is not valid JSON");
  return Parse(parsed);
}

nlohmann::ordered_json Pipeline::ToMongoOrdered() const {
  Json out = Json::array();
  for (const Stage& stage : plan_->stages) {
    const bool events = stage.reads_events;
    switch (stage.kind) {
      case StageKind::kMatch:
        out.push_back(Json{{"$match", MatchToMongo(stage.match, events)}});
        break;
      case StageKind::kGroup:
        out.push_back(Json{{"$group", RenameExpressionPaths(stage.source, events)}});
        break;
      case StageKind::kSort: {
        Json spec = Json::object();
        for (const auto& [key, value] : stage.source.items()) spec[MongoPath(key, events)] = value;
        out.push_back(Json{{"$sort", std::move(spec)}});
        break;
      }
      case StageKind::kProject:
        if (events) {
          out.push_back(Json{{"$project", ProjectEventsToMongo(stage.source)}});
        } else {
          out.push_back(Json{{"$project", stage.source}});
        }
        break;
      case StageKind::kLimit:
      case StageKind::kSkip:
      case StageKind::kCount:
        out.push_back(Json{{stage.name, stage.source}});
        break;
    }
  }
  return out;
}

nlohmann::json Pipeline::ToMongo() const { return nlohmann::json(ToMongoOrdered()); }

}  // namespace cohort::store::events
