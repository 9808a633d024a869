#include "store/events/event_history.hpp"

#include <charconv>
#include <optional>
#include <string>

namespace cohort::store {
namespace {

// One value written by quote() and the comma after it. No member initialisers: seven are declared per event,
// and zeroing them first was a measurable part of the parsing.
struct Literal {
  enum class Kind { kNull, kText, kNumber } kind;
  std::string_view raw;  // text: between the quotes, with each quote still doubled
};

bool NextLiteral(std::string_view text, std::size_t& pos, Literal& out) {
  if (pos >= text.size()) return false;
  std::size_t end = 0;
  if (text[pos] == '\'') {
    end = pos + 1;
    while (true) {
      end = text.find('\'', end);
      if (end == std::string_view::npos) return false;
      if (end + 1 < text.size() && text[end + 1] == '\'') {
        end += 2;
        continue;
      }
      break;
    }
    out = {Literal::Kind::kText, text.substr(pos + 1, end - pos - 1)};
    ++end;
  } else {
    end = text.find(',', pos);
    if (end == std::string_view::npos) return false;
    const std::string_view raw = text.substr(pos, end - pos);
    out = {raw == "NULL" ? Literal::Kind::kNull : Literal::Kind::kNumber, raw};
  }
  if (end >= text.size() || text[end] != ',') return false;
  pos = end + 1;
  return true;
}

std::string Unquote(std::string_view raw) {
  if (raw.find('\'') == std::string_view::npos) return std::string(raw);
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    out.push_back(raw[i]);
    if (raw[i] == '\'') ++i;  // the second of a doubled quote
  }
  return out;
}

template <typename T>
bool Number(const Literal& literal, T& out) {
  if (literal.kind != Literal::Kind::kNumber) return false;
  const char* end = literal.raw.data() + literal.raw.size();
  const auto [ptr, ec] = std::from_chars(literal.raw.data(), end, out);
  return ec == std::errc() && ptr == end;
}

// Reads the record at `pos` into `h`, parsed in place: an event is large to move.
bool NextEvent(std::string_view text, std::size_t& pos, HistoryEvent& h) {
  Literal v[7];
  for (Literal& literal : v)
    if (!NextLiteral(text, pos, literal)) return false;
  const auto text_or_null = [](const Literal& literal, std::optional<std::string>& out) {
    if (literal.kind == Literal::Kind::kText) out = Unquote(literal.raw);
    return literal.kind != Literal::Kind::kNumber;
  };
  domain::Event& e = h.event;
  if (v[0].kind != Literal::Kind::kText || v[1].kind != Literal::Kind::kText) return false;
  if (v[0].raw.find('\'') != std::string_view::npos) return false;  // not an event_id (domain::IsValidId)
  h.event_id = v[0].raw;
  e.type = Unquote(v[1].raw);
  if (!text_or_null(v[2], e.product_id) || !text_or_null(v[3], e.category)) return false;
  if (v[4].kind != Literal::Kind::kNull && !Number(v[4], e.price.emplace())) return false;
  return Number(v[5], e.quantity) && Number(v[6], e.ts_micros);
}

}  // namespace

bool ParseEventHistory(std::string_view text, std::vector<HistoryEvent>& out) {
  const std::size_t before = out.size();
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!NextEvent(text, pos, out.emplace_back())) {
      out.resize(before);
      return false;
    }
  }
  return true;
}

}  // namespace cohort::store
