#pragma once
// HTTP routes of the relational core: users, countries, products and their aggregate counts.

#include <chrono>

#include "api/router.hpp"
#include "cache/tiered_cache.hpp"
#include "store/relational/relational_store.hpp"

namespace cohort::api {

struct CacheTtls {
  std::chrono::seconds user{3600};
  std::chrono::seconds analytics{60};
};

// GET /api/users/{id} and the analytics counts are answered through `cache`; writes to a user invalidate it.
void AddRelationalRoutes(Router& router, store::RelationalStore& store, cache::TieredCache& cache, CacheTtls ttls);

}  // namespace cohort::api
