#pragma once
// The model `serve` answers with: the newest saved version, loaded at start and replaced, without a restart,
// when a newer one appears in the model store (checked every `poll`). Readers get a shared pointer to an
// immutable model, so a swap never disturbs a request that is using the old one.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "analytics/model.hpp"
#include "store/models/model_store.hpp"

namespace cohort::app {

class ModelRegistry {
 public:
  using OnChange = std::function<void(const analytics::Model&)>;

  // Loads the newest model (none is fine: answers then use the defaults). poll = 0: no polling.
  ModelRegistry(store::ModelStore& store, std::chrono::seconds poll, OnChange on_change = {});
  ~ModelRegistry();
  ModelRegistry(const ModelRegistry&) = delete;
  ModelRegistry& operator=(const ModelRegistry&) = delete;

  std::shared_ptr<const analytics::Model> Current() const;
  // Loads the newest version if it is not the current one; true when the model changed.
  Result<bool> Refresh();

 private:
  void Poll(std::chrono::seconds every);

  store::ModelStore& store_;
  OnChange on_change_;
  mutable std::mutex mutex_;
  std::shared_ptr<const analytics::Model> current_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread poller_;
};

}  // namespace cohort::app
