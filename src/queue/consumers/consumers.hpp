#pragma once
// The consumers of the messages that domain writes cause (domain/messages.hpp). Their effects live in the
// relational database (messaging_schema.hpp), each written in one transaction with the message's
// processed-message record, so a message delivered twice changes nothing the second time; the webhook is the
// exception (at least once, with an Idempotency-Key header for the receiver).
//
// - WelcomeNotifier (queue "notifications", user.created): POSTs {"type":"welcome","user_id":...} to the
// webhook
//   when one is configured, else records the notification in the notifications table.
// - UserCountersUpdater (queue "user-counters", event.ingested): recomputes the user's counters (events,
//   purchase events, purchase revenue, last event time) and analytics::FeatureState from their stored events
//   into user_event_counters, and invalidates the user's cached answers. Recomputing, rather than adding the
//   message's counts, keeps the row exact whatever order messages arrive in and whatever a message claims; a
//   write never replaces a row computed from more events (two refreshes of one user racing).
// - ImpressionCounter (queue "impressions", recommendation.served): one impression per product served, per
//   product and per segment, in impression_counters.
// A payload that is not the JSON the message type promises is rejected (dead-lettered at once).

#include <functional>
#include <memory>
#include <optional>
#include <vector>
#include <string_view>

#include "analytics/features.hpp"
#include "domain/event.hpp"
#include "queue/consumer.hpp"
#include "queue/consumers/webhook_client.hpp"
#include "store/sql/database.hpp"

namespace cohort::queue {

inline constexpr std::string_view kNotificationsQueue = "notifications";
inline constexpr std::string_view kUserCountersQueue = "user-counters";
inline constexpr std::string_view kImpressionsQueue = "impressions";

// Empty webhook url: the notifications table.
std::shared_ptr<Consumer> MakeWelcomeNotifier(store::sql::Database& db, WebhookOptions webhook);

using InvalidateUser = std::function<void(std::string_view user_id)>;
// A user's stored events (any order), for UserCountersUpdater.
using ReadUserEvents = std::function<Result<std::vector<domain::Event>>(std::string_view user_id)>;
std::shared_ptr<Consumer> MakeUserCountersUpdater(store::sql::Database& db, ReadUserEvents read_events,
                                                  InvalidateUser invalidate);
// The feature state UserCountersUpdater last stored for a user; nullopt when it has none.
Result<std::optional<analytics::FeatureState>> LoadUserFeatures(store::sql::Database& db, std::string_view user_id);

std::shared_ptr<Consumer> MakeImpressionCounter(store::sql::Database& db);

}  // namespace cohort::queue
