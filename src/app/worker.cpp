// `cohort worker`: the outbox relay and the consumers, without HTTP, until SIGTERM or SIGINT.

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "app/commands.hpp"
#include "app/messaging.hpp"
#include "app/stores.hpp"
#include "app/training.hpp"
#include "common/time.hpp"
#include "cache/tiered_cache.hpp"

namespace cohort::app {

int RunWorker(const Config& config) {
  // Blocked before any thread starts, so that every thread inherits the mask and sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // The stores are opened for their migrations (a worker may start before any serve process) and for the
  // event.ingested consumer's reads, one per consumer thread.
  auto stores = OpenStores(config, static_cast<std::size_t>(config.queue_worker_threads) + 1);
  if (!stores) {
    spdlog::error("{}", stores.error().client_message);
    return 1;
  }
  // Invalidations reach the other processes through the Redis tier (this process holds no cached answers).
  cache::CacheOptions cache_options;
  cache_options.enabled = config.cache_enabled;
  cache_options.l1_enabled = false;
  cache_options.l2_enabled = config.cache_l2_enabled;
  cache_options.redis_url = config.redis_url;
  cache_options.key_prefix = config.cache_key_prefix;
  auto cache = cache::TieredCache::Create(cache_options);
  if (!cache) {
    spdlog::error("{}", cache.error().client_message);
    return 1;
  }
  cache::TieredCache& tiers = **cache;
  auto messaging =
      Messaging::Start(config, MessagingRole::kWorker, *stores->events,
                       [&tiers](std::string_view user) { tiers.Invalidate(user); });
  if (!messaging) {
    spdlog::error("{} {}", messaging.error().client_message, messaging.error().internal_message);
    return 1;
  }
  std::unique_ptr<store::ModelStore> models;
  if (config.retrain_interval_s > 0) {
    auto opened = store::OpenModelStore(config.SqlitePath(), config.postgres_url, 1);
    if (opened) {
      if (auto migrated = (*opened)->Migrate(); !migrated) opened = std::move(migrated).error();
    }
    if (!opened) {
      spdlog::error("{}", opened.error().client_message);
      return 1;
    }
    models = std::move(opened).value();
    spdlog::info("worker retrains the models every {} s", config.retrain_interval_s);
  }
  spdlog::info("worker running; SIGTERM or SIGINT stops it");
  // Retraining runs on a thread of its own, so that this thread is always waiting for the signal.
  std::mutex mutex;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread retrainer;
  if (models) {
    retrainer = std::thread([&] {
      std::unique_lock lock(mutex);
      while (!stop_cv.wait_for(lock, std::chrono::seconds(config.retrain_interval_s), [&] { return stopping; })) {
        lock.unlock();
        const auto now = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
        auto model = TrainAndSave(config, *stores, *models, now, EngineOptionsFrom(config).time_unit,
                                  [](std::string_view line) { spdlog::info("retraining: {}", line); });
        if (!model) spdlog::error("retraining failed: {}", model.error().client_message);
        lock.lock();
      }
    });
  }
  int received = 0;
  sigwait(&signals, &received);
  {
    std::lock_guard lock(mutex);
    stopping = true;
  }
  stop_cv.notify_all();
  if (retrainer.joinable()) retrainer.join();  // a training under way finishes first
  spdlog::info("worker stopping (signal {})", received);
  (*messaging)->Stop();
  return 0;
}

}  // namespace cohort::app
