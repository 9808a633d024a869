#pragma once
// HTTP routes of the relational core: users, countries, products and their aggregate counts.

#include "api/router.hpp"
#include "store/relational/relational_store.hpp"

namespace cohort::api {

void AddRelationalRoutes(Router& router, store::RelationalStore& store);

}  // namespace cohort::api
