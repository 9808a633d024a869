#pragma once
// A synthetic shop with latent structure, for recommender tests and benchmarks: each user prefers two
// categories (partly set by their country), products within a category follow a skewed popularity, products
// come in pairs that are often bought together, and users re-buy what they bought before. Deterministic for a
// seed.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "domain/event.hpp"

namespace cohort::analytics::testing {

struct SyntheticRetailOptions {
  std::uint64_t seed = 42;
  int users = 2000;
  int categories = 30;
  int products_per_category = 20;
  int days = 365;
  double mean_sessions = 8;
  // Purchases only, grouped by an "invoice" property, like the UCI Online Retail set; otherwise views, carts
  // and purchases grouped by a "session" property.
  bool purchase_only = false;
};

struct SyntheticRetail {
  std::vector<domain::Event> events;  // ordered by time
  std::unordered_map<std::string, std::string> user_country;
  std::unordered_map<std::string, std::string> product_category;
  std::int64_t start_micros = 0;
  std::int64_t Day(double day) const { return start_micros + static_cast<std::int64_t>(day * 86'400e6); }
};

inline SyntheticRetail MakeSyntheticRetail(const SyntheticRetailOptions& o) {
  std::mt19937_64 rng(o.seed);
  // Own draws rather than <random> distributions, whose output differs between standard libraries.
  const auto uniform = [&rng] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  const auto below = [&rng](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  const auto pick = [&](const std::vector<double>& weights) {
    double total = 0;
    for (double w : weights) total += w;
    double x = uniform() * total;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if ((x -= weights[i]) < 0) return i;
    }
    return weights.size() - 1;
  };

  SyntheticRetail shop;
  shop.start_micros = 1'700'000'000LL * 1'000'000;
  const auto product_id = [&](int c, std::size_t i) {
    return "P" + std::to_string(c * o.products_per_category + static_cast<int>(i));
  };
  std::vector<double> category_weight;
  std::vector<std::vector<double>> product_weight(static_cast<std::size_t>(o.categories));
  for (int c = 0; c < o.categories; ++c) {
    category_weight.push_back(1.0 / std::pow(c + 1.0, 0.7));
    for (int i = 0; i < o.products_per_category; ++i) {
      product_weight[static_cast<std::size_t>(c)].push_back(1.0 / std::pow(i + 1.0, 0.9));
      shop.product_category[product_id(c, static_cast<std::size_t>(i))] = "C" + std::to_string(c);
    }
  }
  const std::vector<std::string> countries = {"GB", "DE", "FR"};
  const std::vector<double> country_share = {0.6, 0.25, 0.15};

  struct Pending {
    std::int64_t ts;
    std::string user, type, product, category, properties;
  };
  std::vector<Pending> pending;
  long group = 0;
  for (int u = 0; u < o.users; ++u) {
    const std::string user = "U" + std::to_string(u);
    const std::size_t country = pick(country_share);
    shop.user_country[user] = countries[country];
    // Tastes: a country favourite half the time, otherwise by overall category popularity.
    std::size_t first =
        uniform() < 0.5 ? (country * 7 + below(3)) % category_weight.size() : pick(category_weight);
    std::size_t second = pick(category_weight);
    const int sessions = 1 + static_cast<int>(-std::log(1 - uniform()) * (o.mean_sessions - 1));
    std::vector<double> times;
    for (int s = 0; s < sessions; ++s) times.push_back(uniform() * o.days);
    std::sort(times.begin(), times.end());
    std::vector<std::string> bought;
    for (double day : times) {
      ++group;
      const std::string properties = o.purchase_only ? "{\"invoice\":\"" + std::to_string(group) + "\"}"
                                                     : "{\"session\":" + std::to_string(group) + "}";
      std::int64_t ts = shop.Day(day);
      const auto emit = [&](std::string_view type, const std::string& product) {
        if (o.purchase_only && type != domain::kPurchase) return;
        ts += 60'000'000 + static_cast<std::int64_t>(below(120)) * 1'000'000;
        pending.push_back({ts, user, std::string(type), product, shop.product_category[product], properties});
      };
      const double r = uniform();
      const std::size_t c = r < 0.5 ? first : r < 0.85 ? second : pick(category_weight);
      const auto& weights = product_weight[c];
      const int looks = 1 + static_cast<int>(below(4));
      for (int v = 0; v < looks; ++v) {
        const std::size_t i = pick(weights);
        emit(domain::kView, product_id(static_cast<int>(c), i));
        if (uniform() < 0.5) continue;
        emit(domain::kAddToCart, product_id(static_cast<int>(c), i));
        emit(domain::kPurchase, product_id(static_cast<int>(c), i));
        bought.push_back(product_id(static_cast<int>(c), i));
        if (uniform() < 0.5) {  // its companion product
          const std::string companion = product_id(static_cast<int>(c), i ^ 1);
          emit(domain::kView, companion);
          emit(domain::kPurchase, companion);
          bought.push_back(companion);
        }
      }
      if (!bought.empty() && uniform() < 0.3) emit(domain::kPurchase, bought[below(bought.size())]);
    }
  }
  std::sort(pending.begin(), pending.end(), [](const Pending& a, const Pending& b) { return a.ts < b.ts; });
  for (std::size_t i = 0; i < pending.size(); ++i) {
    Pending& p = pending[i];
    domain::Event& e = shop.events.emplace_back();
    e.event_id = "E" + std::to_string(i);
    e.user_id = std::move(p.user);
    e.type = std::move(p.type);
    e.product_id = std::move(p.product);
    e.category = std::move(p.category);
    e.price = 10.0;
    e.ts_micros = p.ts;
    e.properties = std::move(p.properties);
  }
  return shop;
}

}  // namespace cohort::analytics::testing
