#pragma once
// Events in and out of JSON. Parsing is on simdjson (ingestion is a hot path); one bad event never spoils
// the others: each input item yields either an Event or an error naming its index.

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "domain/event.hpp"

namespace cohort::api {

struct ParsedEvents {
  std::vector<domain::Event> events;
  std::vector<std::size_t> indexes;                   // input index of each event
  std::vector<std::pair<std::size_t, Error>> errors;  // input index and why it was refused
  std::size_t total = 0;                              // items seen
};

// A JSON object or an array of objects. Errors of the whole body (malformed JSON, not an object or array)
// are returned as an error; errors of single items go to ParsedEvents::errors.
Result<ParsedEvents> ParseEventsJson(std::string_view body, std::int64_t now_micros);
// One JSON object per line; an item's index is its 0-based line number; blank lines are skipped; a
// malformed line is an item error.
ParsedEvents ParseEventsNdjson(std::string_view body, std::int64_t now_micros);

// The checks every event passes, wherever it came from (JSON, CSV, a retail import). Fills in the defaults:
// an event_id derived from the content when absent, so that the same event sent twice is stored once.
Result<void> ValidateAndComplete(domain::Event& event);

nlohmann::json ToJson(const domain::Event& event);

}  // namespace cohort::api
