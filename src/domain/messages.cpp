#include "domain/messages.hpp"

#include <unordered_map>

#include <nlohmann/json.hpp>

#include "common/json_text.hpp"

namespace cohort::domain {

MessageDraft UserCreatedMessage(const User& user) {
  return {std::string(kUserCreated), nlohmann::json{{"user_id", user.id}}.dump()};
}

std::vector<UserEventsSummary> SummariseByUser(std::span<const Event> events) {
  std::vector<UserEventsSummary> summaries;
  std::unordered_map<std::string_view, std::size_t> index;
  for (const Event& e : events) {
    auto [it, inserted] = index.try_emplace(e.user_id, summaries.size());
    if (inserted) summaries.push_back({.user_id = e.user_id});
    UserEventsSummary& s = summaries[it->second];
    ++s.events;
    if (e.type == kPurchase) {
      ++s.purchases;
      s.revenue += e.price.value_or(0) * static_cast<double>(e.quantity);
    }
    s.last_ts_micros = std::max(s.last_ts_micros, e.ts_micros);
  }
  return summaries;
}

std::vector<MessageDraft> EventIngestedMessages(std::span<const Event> stored) {
  const std::vector<UserEventsSummary> summaries = SummariseByUser(stored);
  std::vector<MessageDraft> out;
  out.reserve(summaries.size());
  for (const UserEventsSummary& s : summaries) {
    out.push_back({std::string(kEventIngested), nlohmann::json{{"user_id", s.user_id},
                                                               {"events", s.events},
                                                               {"purchases", s.purchases},
                                                               {"revenue", s.revenue},
                                                               {"last_ts_micros", s.last_ts_micros}}
                                                    .dump()});
  }
  return out;
}

MessageDraft RecommendationServedMessage(std::string_view user_id, std::string_view segment,
                                         std::span<const std::string> product_ids) {
  std::string payload;
  payload.reserve(64 + user_id.size() + segment.size() + 16 * product_ids.size());  // grown once, not five times
  payload += "{\"user_id\":";
  AppendJsonString(payload, user_id);
  payload += ",\"segment\":";
  AppendJsonString(payload, segment);
  payload += ",\"product_ids\":[";
  for (std::size_t i = 0; i < product_ids.size(); ++i) {
    if (i > 0) payload += ',';
    AppendJsonString(payload, product_ids[i]);
  }
  payload += "]}";
  return {std::string(kRecommendationServed), std::move(payload)};
}

}  // namespace cohort::domain
