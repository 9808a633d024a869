#pragma once
// The messages that domain writes cause, as the outbox stores them and the consumers read them. Built here,
// from what a write actually stored, so that the relational store, the event stores and the consumers agree
// on them.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "domain/entities.hpp"
#include "domain/event.hpp"

namespace cohort::domain {

inline constexpr std::string_view kUserCreated = "user.created";
inline constexpr std::string_view kEventIngested = "event.ingested";
inline constexpr std::string_view kRecommendationServed = "recommendation.served";

struct MessageDraft {
  std::string type;
  std::string payload;  // JSON object
  std::string id;       // empty: named after its outbox row (store::OutboxMessageId)
};

// {"user_id": ...}
MessageDraft UserCreatedMessage(const User& user);

// What one batch added to one user's history.
struct UserEventsSummary {
  std::string user_id;
  std::int64_t events = 0;
  std::int64_t purchases = 0;
  double revenue = 0;  // price × quantity over purchases
  std::int64_t last_ts_micros = 0;
};

// One summary per user of `events`, in order of first appearance.
std::vector<UserEventsSummary> SummariseByUser(std::span<const Event> events);

// One event.ingested message per user of `stored` (the events a batch newly stored):
// {"user_id", "events", "purchases", "revenue", "last_ts_micros"}, in order of first appearance. The message
// says that the user's history changed; its consumer recomputes what depends on it from the store, so a
// message sent for events that turn out to be stored already (the MongoDB store, mongo_event_store.hpp) is
// harmless.
std::vector<MessageDraft> EventIngestedMessages(std::span<const Event> stored);

// {"user_id", "segment", "product_ids": [...]}
MessageDraft RecommendationServedMessage(std::string_view user_id, std::string_view segment,
                                         std::span<const std::string> product_ids);

}  // namespace cohort::domain
