#pragma once
// A realistic, reproducible demo data set: countries and cities of skewed sizes, users with addresses,
// products in categories with a long-tail price range. Pure: the same seed gives the same data.

#include <cstdint>
#include <vector>

#include "domain/entities.hpp"
#include "domain/event.hpp"

namespace cohort::app {

struct DemoOptions {
  int users = 10'000;
  int products = 1'000;
  std::uint64_t seed = 42;
  std::int64_t until_micros = 0;  // events end here (the same seed and `until` give the same data)
};

// Product ids are "p00001"..., user ids "u000001"...
std::vector<domain::Product> DemoProducts(const DemoOptions& options);
// Users [first, first + count) of the data set, so that a large set can be written in batches.
std::vector<domain::User> DemoUsers(const DemoOptions& options, int first, int count);

// Behaviour of demo users over the year before `until`: sessions of views leading to carts and purchases,
// Zipf-like product popularity inside categories, two favourite categories per user, products often bought
// together, more activity at weekends and in the evening, users who churn (stop), users never active, and a
// few heavy buyers.
class DemoEventGenerator {
 public:
  DemoEventGenerator(const DemoOptions& options, const std::vector<domain::Product>& products);
  // The events of user number `user_index` (as in DemoUsers), in time order.
  std::vector<domain::Event> ForUser(int user_index) const;

 private:
  struct CategoryProducts {
    std::vector<std::size_t> by_popularity;  // product indexes, most popular first
    std::vector<double> weights;             // Zipf weights by rank
  };
  DemoOptions options_;
  const std::vector<domain::Product>& products_;
  std::vector<CategoryProducts> categories_;
  std::vector<double> category_weights_;
  std::vector<std::size_t> category_of_;   // product index -> category index
  std::vector<std::size_t> companion_of_;  // product index -> a product often bought with it
};

}  // namespace cohort::app
