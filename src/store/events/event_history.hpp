#pragma once
// The rows of SQLite's event_history table (events migration 3, event_schema.cpp). A trigger on events keeps
// each user's events there too, 16 to a row, so that the main request reads a user's history as a few rows
// where the index gave one row per event. A row's `events` is the concatenation of records that SQLite's
// quote() writes, each value followed by a comma: event_id, type, product_id, category, price, quantity, ts.
// quote() writes text between single quotes with each quote doubled, NULL as NULL, and a REAL with as many
// digits as it takes to read back the same double.

#include <string_view>
#include <vector>

#include "domain/event.hpp"

namespace cohort::store {

// An event of a history row: every field but user_id and properties, which the rows do not hold. `event_id`
// points into the parsed text.
struct HistoryEvent {
  // Provided, so that the emplace_back() of each parsed event does not zero the whole object before
  // constructing its members (value-initialisation of a class without a provided constructor).
  HistoryEvent() {}
  std::string_view event_id;
  domain::Event event;
};

// Appends the events of one row's `events` to `out`. False, with `out` as it was, when the text is not a
// sequence of whole records.
bool ParseEventHistory(std::string_view text, std::vector<HistoryEvent>& out);

}  // namespace cohort::store
