#include "api/event_codec.hpp"

#include <cmath>

#include <fmt/format.h>
#include <simdjson.h>

#include "common/time.hpp"
#include "domain/validation.hpp"

namespace cohort::api {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

Error Invalid(std::string message) { return Error::InvalidArgument(std::move(message)); }

// FNV-1a, 64 bits, with a chosen offset basis: two differently seeded runs give a 128-bit content id.
std::uint64_t Fnv1a(std::string_view data, std::uint64_t basis) {
  std::uint64_t h = basis;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string ContentId(const domain::Event& e) {
  std::string canonical = fmt::format("{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}", e.user_id, e.type,
                                      e.product_id.value_or(""), e.category.value_or(""),
                                      e.price ? fmt::format("{}", *e.price) : "", e.quantity, e.ts_micros,
                                      e.properties);
  return fmt::format("h{:016x}{:016x}", Fnv1a(canonical, 14695981039346656037ULL),
                     Fnv1a(canonical, 0x84222325cbf29ce4ULL));
}

Result<std::string> StringField(element value, std::string_view name) {
  std::string_view s;
  if (value.get(s) != simdjson::SUCCESS)
    return Invalid(fmt::format("field '{}' must be a string", name));
  return std::string(s);
}

Result<domain::Event> EventFromElement(element item, std::int64_t now_micros) {
  simdjson::dom::object object;
  if (item.get(object) != simdjson::SUCCESS) return Invalid("an event must be a JSON object");
  domain::Event e;
  bool has_ts = false;
  for (auto field : object) {
    const std::string_view key = field.key;
    element value = field.value;
    if (key == "event_id") {
      COHORT_ASSIGN_OR_RETURN(e.event_id, StringField(value, key));
      if (!domain::IsValidId(e.event_id)) return Invalid("field 'event_id' must be 1-64 characters of [A-Za-z0-9_.:-]");
    } else if (key == "user_id") {
      COHORT_ASSIGN_OR_RETURN(e.user_id, StringField(value, key));
    } else if (key == "type") {
      COHORT_ASSIGN_OR_RETURN(e.type, StringField(value, key));
    } else if (key == "product_id" || key == "category") {
      if (value.is_null()) continue;
      COHORT_ASSIGN_OR_RETURN(std::string s, StringField(value, key));
      (key == "product_id" ? e.product_id : e.category) = std::move(s);
    } else if (key == "price") {
      if (value.is_null()) continue;
      double price = 0;
      if (value.get(price) != simdjson::SUCCESS) return Invalid("field 'price' must be a number");
      e.price = price;
    } else if (key == "quantity") {
      std::int64_t quantity = 0;
      if (value.get(quantity) != simdjson::SUCCESS) return Invalid("field 'quantity' must be an integer");
      e.quantity = quantity;
    } else if (key == "ts") {
      COHORT_ASSIGN_OR_RETURN(std::string text, StringField(value, key));
      auto t = ParseRfc3339(text);
      if (!t) return Invalid(fmt::format("field 'ts' must be an RFC 3339 time, like 2026-11-25T17:00:00Z (got '{}')", text));
      e.ts_micros = std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch()).count();
      has_ts = true;
    } else if (key == "properties") {
      if (value.type() != element_type::OBJECT) return Invalid("field 'properties' must be a JSON object");
      e.properties = simdjson::minify(value);
    } else {
      return Invalid(fmt::format("unknown field '{}' (put extra data under 'properties')", key));
    }
  }
  if (!has_ts) e.ts_micros = now_micros;
  COHORT_TRY(ValidateAndComplete(e));
  return e;
}

void Collect(ParsedEvents& out, std::size_t index, Result<domain::Event> event) {
  if (event) {
    out.events.push_back(std::move(event).value());
    out.indexes.push_back(index);
  } else {
    out.errors.emplace_back(index, std::move(event).error());
  }
}

std::string SimdjsonError(simdjson::error_code code) {
  return fmt::format("malformed JSON: {}", simdjson::error_message(code));
}

}  // namespace

Result<void> ValidateAndComplete(domain::Event& e) {
  if (e.user_id.empty()) return Invalid("missing field 'user_id'");
  if (!domain::IsValidId(e.user_id)) return Invalid("field 'user_id' must be 1-64 characters of [A-Za-z0-9_.:-]");
  if (e.type.empty()) return Invalid("missing field 'type'");
  if (auto problem = domain::ValidateText("type", e.type, 64)) return Invalid(*problem);
  if (e.product_id && !domain::IsValidId(*e.product_id))
    return Invalid("field 'product_id' must be 1-64 characters of [A-Za-z0-9_.:-]");
  if (e.category)
    if (auto problem = domain::ValidateText("category", *e.category, 100)) return Invalid(*problem);
  if (e.price && (!std::isfinite(*e.price) || *e.price < 0)) return Invalid("field 'price' must be a number >= 0");
  if (e.quantity < 1 || e.quantity > 1'000'000) return Invalid("field 'quantity' must be an integer from 1 to 1000000");
  const std::size_t size = e.user_id.size() + e.type.size() + e.properties.size() +
                           e.product_id.value_or("").size() + e.category.value_or("").size() + e.event_id.size();
  if (size > domain::kMaxEventBytes)
    return Invalid(fmt::format("the event is larger than {} bytes", domain::kMaxEventBytes));
  if (e.event_id.empty()) e.event_id = ContentId(e);
  return {};
}

Result<ParsedEvents> ParseEventsJson(std::string_view body, std::int64_t now_micros) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  element root;
  if (auto error = parser.parse(padded).get(root); error) return Invalid(SimdjsonError(error));
  ParsedEvents out;
  if (root.type() == element_type::ARRAY) {
    std::size_t index = 0;
    for (element item : root.get_array()) {
      Collect(out, index, EventFromElement(item, now_micros));
      ++index;
    }
    out.total = index;
    if (index == 0) return Invalid("the array of events is empty");
  } else if (root.type() == element_type::OBJECT) {
    out.total = 1;
    Collect(out, 0, EventFromElement(root, now_micros));
  } else {
    return Invalid("the body must be an event object or an array of events");
  }
  return out;
}

ParsedEvents ParseEventsNdjson(std::string_view body, std::int64_t now_micros) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);  // every line then has readable padding after it
  ParsedEvents out;
  std::size_t start = 0, index = 0;
  while (start < body.size()) {
    std::size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view line(padded.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = end + 1;
    if (line.find_first_not_of(" \t") == std::string_view::npos) {
      ++index;  // blank lines are skipped but keep the numbering of lines
      continue;
    }
    ++out.total;
    element root;
    if (auto error = parser.parse(line.data(), line.size(), false).get(root); error) {
      out.errors.emplace_back(index++, Invalid(SimdjsonError(error)));
      continue;
    }
    Collect(out, index++, EventFromElement(root, now_micros));
  }
  return out;
}

nlohmann::json ToJson(const domain::Event& e) {
  nlohmann::json j = {{"event_id", e.event_id}, {"user_id", e.user_id}, {"type", e.type}};
  if (e.product_id) j["product_id"] = *e.product_id;
  if (e.category) j["category"] = *e.category;
  if (e.price) j["price"] = *e.price;
  j["quantity"] = e.quantity;
  j["ts"] = FormatRfc3339(Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::microseconds(e.ts_micros))));
  j["properties"] = nlohmann::json::parse(e.properties, nullptr, false);
  return j;
}

}  // namespace cohort::api
