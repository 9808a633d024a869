#pragma once
// The rows of SQLite's event_history table (events migration 3, event_schema.cpp). A trigger on events keeps
// each user's events there too, 16 to a row, so that the main request reads a user's history as a few rows
// where the index gave one row per event. A row's `events` is the concatenation of records that SQLite's
// quote() writes, each value followed by a comma: event_id, type, product_id, category, price, quantity, ts.
// quote() writes text between single quotes with each quote doubled, NULL as NULL, and a REAL with as many
// digits as it takes to read back the same double.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/event.hpp"

namespace cohort::store {

// A record of a history row, parsed in place: its texts point into the row and are as quote() wrote them
// (between the quotes, each quote still doubled), so that only the events a read keeps are built (BuildEvent),
// each once where it is to stay.
struct HistoryEvent {
  // Provided, so that the emplace_back() of each parsed record does not zero it first (value-initialisation of
  // a class without a provided constructor).
  HistoryEvent() {}
  std::string_view event_id;  // holds no quote
  std::string_view type;
  std::optional<std::string_view> product_id;
  std::optional<std::string_view> category;
  std::optional<double> price;
  std::int64_t quantity;
  std::int64_t ts_micros;
  bool quoted;  // whether a text of the record holds a doubled quote: only then are its texts unquoted when built
};

// Appends the records of one row's `events` to `out`. False, with `out` as it was, when the text is not a
// sequence of whole records.
bool ParseEventHistory(std::string_view text, std::vector<HistoryEvent>& out);

// `text` as a record holds it, each quote doubled: what a parsed text is compared with.
std::string RawHistoryText(std::string_view text);

// Sets every field of `e` that a record holds (all but event_id, user_id and properties) from `h`.
void BuildEvent(const HistoryEvent& h, domain::Event& e);

}  // namespace cohort::store
