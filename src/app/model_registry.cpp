#include "app/model_registry.hpp"

#include <spdlog/spdlog.h>

namespace cohort::app {

ModelRegistry::ModelRegistry(store::ModelStore& store, std::chrono::seconds poll, OnChange on_change)
    : store_(store), on_change_(std::move(on_change)) {
  if (auto loaded = Refresh(); !loaded)
    spdlog::warn("models: cannot load the newest model: {}", loaded.error().internal_message.empty()
                                                                  ? loaded.error().client_message
                                                                  : loaded.error().internal_message);
  if (!Current()) spdlog::info("models: no trained model yet (run `cohort train`); answering with the defaults");
  if (poll.count() > 0) poller_ = std::thread([this, poll] { Poll(poll); });
}

ModelRegistry::~ModelRegistry() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (poller_.joinable()) poller_.join();
}

std::shared_ptr<const analytics::Model> ModelRegistry::Current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

Result<bool> ModelRegistry::Refresh() {
  COHORT_ASSIGN_OR_RETURN(auto latest, store_.LatestVersion());
  if (!latest) return false;
  if (auto current = Current(); current && current->version == *latest) return false;
  COHORT_ASSIGN_OR_RETURN(std::string body, store_.Load(*latest));
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded()) return Error::Internal("model " + *latest + " is not valid JSON");
  COHORT_ASSIGN_OR_RETURN(analytics::Model model, analytics::ModelFromJson(json));
  auto next = std::make_shared<const analytics::Model>(std::move(model));
  {
    std::lock_guard lock(mutex_);
    current_ = next;
  }
  spdlog::info("models: serving model {} (trained {})", next->version, next->trained_at);
  if (on_change_) on_change_(*next);
  return true;
}

void ModelRegistry::Poll(std::chrono::seconds every) {
  std::unique_lock lock(mutex_);
  while (!stop_cv_.wait_for(lock, every, [this] { return stopping_; })) {
    lock.unlock();
    if (auto r = Refresh(); !r) spdlog::warn("models: refresh failed: {}", r.error().client_message);
    lock.lock();
  }
}

}  // namespace cohort::app
