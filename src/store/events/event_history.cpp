#include "store/events/event_history.hpp"

#include <charconv>
#include <cstring>
#include <limits>

namespace cohort::store {
namespace {

// Each value is read where it stands, up to the comma after it, which the reader checks: a number is parsed as
// it is scanned. Finding each value's end first (a call of memchr per value, then a parse of the value) cost a
// third more.
struct Reader {
  const char* at;
  const char* end;
  bool doubled = false;  // whether a text read since this was last cleared held a doubled quote

  bool Comma() {
    if (at == end || *at != ',') return false;
    ++at;
    return true;
  }

  bool Null() {
    if (end - at < 4 || std::memcmp(at, "NULL", 4) != 0) return false;
    at += 4;
    return true;
  }

  // Text between single quotes, each quote doubled: its raw content.
  bool Text(std::string_view& out) {
    if (at == end || *at != '\'') return false;
    const char* const start = ++at;
    while (true) {
      while (at != end && *at != '\'') ++at;
      if (at == end) return false;
      if (end - at > 1 && at[1] == '\'') {  // a doubled quote
        doubled = true;
        at += 2;
        continue;
      }
      out = std::string_view(start, static_cast<std::size_t>(at - start));
      ++at;
      return true;
    }
  }

  bool OptionalText(std::optional<std::string_view>& out) {
    if (Null()) {
      out.reset();
      return true;
    }
    return Text(out.emplace());
  }

  bool OptionalReal(std::optional<double>& out) {
    if (Null()) {
      out.reset();
      return true;
    }
    const auto [ptr, ec] = std::from_chars(at, end, out.emplace());
    at = ptr;
    return ec == std::errc();
  }

  // An integer as quote() writes it: an optional minus and decimal digits (std::from_chars, written out: it
  // cost four times as much on these short numbers).
  bool Integer(std::int64_t& out) {
    const bool negative = at != end && *at == '-';
    if (negative) ++at;
    const char* const digits = at;
    std::uint64_t value = 0;
    for (; at != end && *at >= '0' && *at <= '9'; ++at) {
      if (at - digits == 19) return false;  // past the largest integer; 19 digits cannot wrap
      value = value * 10 + static_cast<std::uint64_t>(*at - '0');
    }
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (at == digits || value > kMax + (negative ? 1 : 0)) return false;
    out = negative ? static_cast<std::int64_t>(0 - value) : static_cast<std::int64_t>(value);
    return true;
  }
};

// Reads the record at `reader` into `h`.
bool NextRecord(Reader& reader, HistoryEvent& h) {
  reader.doubled = false;
  if (!reader.Text(h.event_id) || reader.doubled) return false;  // a quote: not an event_id (domain::IsValidId)
  const bool whole = reader.Comma() && reader.Text(h.type) && reader.Comma() &&
                     reader.OptionalText(h.product_id) && reader.Comma() && reader.OptionalText(h.category) &&
                     reader.Comma() && reader.OptionalReal(h.price) && reader.Comma() &&
                     reader.Integer(h.quantity) && reader.Comma() && reader.Integer(h.ts_micros) && reader.Comma();
  h.quoted = reader.doubled;
  return whole;
}

// `raw` with each doubled quote made one; `quoted`: whether its record holds any.
void SetText(std::string_view raw, bool quoted, std::string& out) {
  if (!quoted) {
    out.assign(raw);
    return;
  }
  out.clear();
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    out.push_back(raw[i]);
    if (raw[i] == '\'') ++i;  // the second of a doubled quote
  }
}

void SetText(const std::optional<std::string_view>& raw, bool quoted, std::optional<std::string>& out) {
  if (raw) {
    SetText(*raw, quoted, out.emplace());
  } else {
    out.reset();
  }
}

}  // namespace

bool ParseEventHistory(std::string_view text, std::vector<HistoryEvent>& out) {
  const std::size_t before = out.size();
  Reader reader{text.data(), text.data() + text.size()};
  while (reader.at != reader.end) {
    if (!NextRecord(reader, out.emplace_back())) {
      out.resize(before);
      return false;
    }
  }
  return true;
}

std::string RawHistoryText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    out.push_back(c);
    if (c == '\'') out.push_back(c);
  }
  return out;
}

void BuildEvent(const HistoryEvent& h, domain::Event& e) {
  SetText(h.type, h.quoted, e.type);
  SetText(h.product_id, h.quoted, e.product_id);
  SetText(h.category, h.quoted, e.category);
  e.price = h.price;
  e.quantity = h.quantity;
  e.ts_micros = h.ts_micros;
}

}  // namespace cohort::store
