// `cohort worker`: the outbox relay and the consumers, without HTTP, until SIGTERM or SIGINT.

#include <csignal>

#include <spdlog/spdlog.h>

#include "app/commands.hpp"
#include "app/messaging.hpp"
#include "app/stores.hpp"
#include "cache/tiered_cache.hpp"

namespace cohort::app {

int RunWorker(const Config& config) {
  // Blocked before any thread starts, so that every thread inherits the mask and sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // The stores are opened for their migrations: a worker may start before any serve process.
  auto stores = OpenStores(config, 1);
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
      Messaging::Start(config, MessagingRole::kWorker, [&tiers](std::string_view user) { tiers.Invalidate(user); });
  if (!messaging) {
    spdlog::error("{} {}", messaging.error().client_message, messaging.error().internal_message);
    return 1;
  }
  spdlog::info("worker running; SIGTERM or SIGINT stops it");
  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("worker stopping (signal {})", received);
  (*messaging)->Stop();
  return 0;
}

}  // namespace cohort::app
