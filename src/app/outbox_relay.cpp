#include "app/outbox_relay.hpp"

#include <spdlog/spdlog.h>

namespace cohort::app {

Result<std::size_t> OutboxRelay::RelayOnce() {
  COHORT_ASSIGN_OR_RETURN(std::vector<store::OutboxRow> rows, outbox_.Oldest(options_.batch));
  if (rows.empty()) return std::size_t{0};
  if (!prepared_ && options_.prepare) COHORT_TRY(options_.prepare());
  prepared_ = true;
  std::vector<queue::OutgoingMessage> messages;
  std::vector<std::int64_t> ids;
  messages.reserve(rows.size());
  ids.reserve(rows.size());
  for (store::OutboxRow& row : rows) {
    messages.push_back({std::move(row.message_id), std::move(row.type), std::move(row.payload),
                        Clock::time_point(std::chrono::milliseconds(row.created_at_ms))});
    ids.push_back(row.id);
  }
  COHORT_TRY(queue_.Publish(messages));
  COHORT_TRY(outbox_.Delete(ids));
  relayed_ += rows.size();
  return rows.size();
}

void OutboxRelay::Start() {
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void OutboxRelay::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void OutboxRelay::Run() {
  auto delay = options_.idle_interval;
  bool failing = false;
  while (!stopping_) {
    auto relayed = RelayOnce();
    if (relayed) {
      if (failing) spdlog::info("outbox relay: publishing again");
      failing = false;
      if (*relayed == options_.batch) continue;  // more may be waiting
      delay = options_.idle_interval;
    } else {
      if (!failing)
        spdlog::warn("outbox relay: {} ({}); messages wait in the outbox", relayed.error().client_message,
                     relayed.error().internal_message);
      failing = true;
      delay = std::min(options_.max_error_delay, std::max(delay * 2, options_.idle_interval));
    }
    // In slices, so that Stop is not held up by a long backoff.
    const auto until = std::chrono::steady_clock::now() + delay;
    while (!stopping_ && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::min(delay, std::chrono::milliseconds(20)));
  }
}

}  // namespace cohort::app
