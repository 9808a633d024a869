#pragma once
// Product recommendations: item-to-item co-occurrence learned from sessions (and, more weakly, from a user's
// successive sessions), scored against a user's recent items, blended with category affinity and popularity
// (in the user's country, then global). Pure computation: no I/O.
//
// Contract:
// - Train accepts events in any order; only view / add_to_cart / purchase events with a product id teach the
//   model (their weights are options); remove_from_cart, return and unknown types are ignored. Only
//   products of such events are in the model: a catalogue entry alone is never recommended.
// - A model is immutable after Train / FromJson; Recommend is const and safe to call from many threads (each
//   thread keeps scratch arrays of the model's product count, about 28 bytes per product).
// - Recommend never returns a product the user bought (purchase or return event in the history) unless
//   query.exclude_purchased is false; never more than query.limit items; scores are non-increasing.
// - The same model (also after a ToJson / FromJson round trip) gives the same answer for the same input.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "domain/event.hpp"

namespace cohort::analytics {

struct RecommenderOptions {
  // Weight of one event of each type, in training and in a user's history. 0 ignores the type.
  double view_weight = 1;
  double cart_weight = 3;
  double purchase_weight = 5;
  // Co-occurrence c_ij is divided by (n_i * n_j)^damping, n = weighted occurrences: 0.5 is the cosine.
  double popularity_damping = 0.5;
  // Keeps c/(c + shrinkage) of a similarity, so that a pair seen once does not look as strong as one seen
  // often.
  double shrinkage = 1;
  std::size_t neighbours = 50;  // kept per product
  // A session ends after this much inactivity, or when the "invoice" / "session" property changes.
  std::int64_t session_gap_micros = 30LL * 60 * 1'000'000;
  std::size_t max_items_per_session = 50;  // the last distinct items of a session count; bounds training work
  // Distinct product pairs counted in training (about 16 bytes each, twice over while the lists are built);
  // beyond it the lightest pairs are dropped.
  std::size_t max_pairs = 20'000'000;
  // Items of a user's earlier sessions within the window co-occur with the current one at this weight: it
  // carries the signal of purchase-only data, where one invoice is one visit.
  double cross_session_weight = 0.5;
  std::int64_t cross_session_window_micros = 180LL * 86'400 * 1'000'000;
  std::size_t cross_session_items = 20;  // earlier distinct items remembered per user
  // Scoring: a history event weighs its type's weight * 0.5^(age / half-life).
  double recency_half_life_days = 30;
  std::size_t max_recent_items = 30;  // the user's strongest items used as anchors
  // A product the user already looked at counts as its own neighbour with this similarity: shoppers come back
  // for what they viewed or left in the cart.
  double revisit_weight = 0.5;
  double affinity_weight = 0.1;  // times the share of the user's weight in the candidate's category
  std::size_t affinity_categories = 3;
  double popularity_weight = 0.1;  // times a [0, 1] popularity term, country first
  // Popularity: per user and product the strongest event weight, decayed from the newest training event.
  double popularity_half_life_days = 30;  // 0: no decay
  std::size_t popular_global = 200;
  std::size_t popular_per_country = 200;  // 0: no country popularity
  std::size_t popular_per_category = 50;

  // The baseline the evaluation compares with: distinct buyers per product, all time, global, no
  // co-occurrence.
  static RecommenderOptions PopularityBaseline();
};

struct UserContext {
  std::span<const domain::Event> history;  // the user's events, any order
  std::string country;                     // ISO code, may be empty
  std::string country_name;                // used in reasons when not empty
  std::int64_t now_micros = 0;
};

struct RecommendQuery {
  std::size_t limit = 10;
  std::vector<std::string> categories;  // when not empty: only these categories
  std::vector<std::string> exclude_categories;
  std::vector<std::string> exclude_products;
  bool exclude_purchased = true;
};

struct Recommendation {
  std::string product_id;
  std::string category;  // empty when unknown
  double score = 0;
  // "bought together with P", "viewed together with P", "you viewed it recently", "you bought it before",
  // "matches your interest in C", "popular in <country name or code>", "popular now".
  std::string reason;
};

class RecommenderModel {
 public:
  RecommenderModel() = default;

  // user_country: user id -> ISO country code; product_category: product id -> category (wins over the
  // category the events carry).
  static RecommenderModel Train(std::span<const domain::Event> events,
                                const std::unordered_map<std::string, std::string>& user_country,
                                const std::unordered_map<std::string, std::string>& product_category,
                                const RecommenderOptions& options);

  std::vector<Recommendation> Recommend(const UserContext& user, const RecommendQuery& query) const;

  // Compact: parallel arrays, product ids once. FromJson checks every size and index (kInvalidArgument).
  nlohmann::json ToJson() const;
  static Result<RecommenderModel> FromJson(const nlohmann::json& json);

  std::size_t product_count() const { return product_ids_.size(); }
  const std::vector<std::string>& product_ids() const { return product_ids_; }
  const RecommenderOptions& options() const { return options_; }
  // A product's neighbours, strongest first (empty for an unknown product).
  std::vector<std::pair<std::string, double>> Neighbours(std::string_view product_id) const;

 private:
  struct Scratch;
  static constexpr std::uint32_t kNoCategory = 0xFFFFFFFFu;

  void BuildDerivedLists();
  double EventWeight(std::string_view type) const;
  std::uint32_t ProductIndex(std::string_view product_id) const;  // product_count() when unknown
  bool IndexProducts();  // builds product_slots_ from product_ids_; false when an id repeats
  // The slot of product_slots_ that holds `product_id`, or the empty one where probing for it stops.
  std::size_t ProductSlot(std::string_view product_id) const;

  RecommenderOptions options_;
  std::vector<std::string> product_ids_;
  // Product id -> dense index by open addressing (a scoring looks up every event's product): each slot holds
  // an index into product_ids_, or kNoProduct; a power of two of at least twice the product count.
  static constexpr std::uint32_t kNoProduct = 0xFFFFFFFFu;
  std::vector<std::uint32_t> product_slots_;
  std::vector<std::string> categories_;
  std::unordered_map<std::string, std::uint32_t> category_index_;
  std::vector<std::uint32_t> product_category_;  // kNoCategory when unknown
  std::vector<float> popularity_;
  // Neighbours in CSR form: product p's are [offsets_[p], offsets_[p + 1]).
  std::vector<std::uint32_t> neighbour_offsets_;
  std::vector<std::uint32_t> neighbour_ids_;
  std::vector<float> neighbour_scores_;
  struct PopularList {
    std::vector<std::uint32_t> products;
    std::vector<float> scores;  // non-increasing
  };
  std::unordered_map<std::string, PopularList> country_popular_;
  // Derived from popularity_ on Train and FromJson.
  std::vector<std::uint32_t> global_popular_;
  std::vector<std::vector<std::uint32_t>> category_popular_;
  float max_popularity_ = 0;
};

}  // namespace cohort::analytics
