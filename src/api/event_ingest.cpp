#include "api/event_ingest.hpp"

#include <algorithm>
#include <unordered_set>

namespace cohort::api {

Result<IngestCounts> IngestEvents(store::EventStore& events, store::RelationalStore& relational,
                                  std::span<const domain::Event> batch) {
  IngestCounts counts;
  if (batch.empty()) return counts;
  std::vector<std::string> user_ids;
  user_ids.reserve(batch.size());
  for (const auto& e : batch) user_ids.push_back(e.user_id);
  std::sort(user_ids.begin(), user_ids.end());
  user_ids.erase(std::unique(user_ids.begin(), user_ids.end()), user_ids.end());
  COHORT_ASSIGN_OR_RETURN(std::vector<std::string> known, relational.ExistingUserIds(user_ids));
  const std::unordered_set<std::string> known_set(known.begin(), known.end());
  for (const auto& e : batch) counts.unknown_users += known_set.contains(e.user_id) ? 0 : 1;

  COHORT_ASSIGN_OR_RETURN(store::AppendCounts appended, events.Append(batch));
  counts.accepted = appended.accepted;
  counts.duplicates = appended.duplicates;
  return counts;
}

}  // namespace cohort::api
