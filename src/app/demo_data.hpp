#pragma once
// A realistic, reproducible demo data set: countries and cities of skewed sizes, users with addresses,
// products in categories with a long-tail price range. Pure: the same seed gives the same data.

#include <cstdint>
#include <vector>

#include "domain/entities.hpp"

namespace cohort::app {

struct DemoOptions {
  int users = 10'000;
  int products = 1'000;
  std::uint64_t seed = 42;
};

// Product ids are "p00001"..., user ids "u000001"...
std::vector<domain::Product> DemoProducts(const DemoOptions& options);
// Users [first, first + count) of the data set, so that a large set can be written in batches.
std::vector<domain::User> DemoUsers(const DemoOptions& options, int first, int count);

}  // namespace cohort::app
