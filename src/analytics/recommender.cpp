#include "analytics/recommender.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>

namespace cohort::analytics {
namespace {

constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
constexpr double kMicrosPerDay = 86'400.0 * 1'000'000.0;
constexpr int kFormatVersion = 1;

// Open-addressing map from a 64-bit key to a summed weight: the pair counts of a large training set would
// cost several times more memory in node-based maps.
class WeightMap {
 public:
  void Add(std::uint64_t key, float weight) {
    if ((size_ + 1) * 10 > keys_.size() * 7) Grow();
    std::size_t slot = Slot(key);
    while (keys_[slot] != kEmpty && keys_[slot] != key) slot = (slot + 1) & mask_;
    if (keys_[slot] == kEmpty) {
      keys_[slot] = key;
      ++size_;
    }
    values_[slot] += weight;
  }

  std::size_t size() const { return size_; }

  // Drops the entries lighter than `keep_from`, keeping the capacity.
  void Prune(float keep_from) { Rehash(keys_.size(), keep_from); }

  template <typename F>
  void ForEach(F&& visit) const {
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      if (keys_[i] != kEmpty) visit(keys_[i], values_[i]);
    }
  }

 private:
  static constexpr std::uint64_t kEmpty = std::numeric_limits<std::uint64_t>::max();

  std::size_t Slot(std::uint64_t key) const {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_);
  }

  void Grow() { Rehash(std::max<std::size_t>(1024, keys_.size() * 2), -1.0f); }

  void Rehash(std::size_t capacity, float keep_from) {
    std::vector<std::uint64_t> old_keys = std::move(keys_);
    std::vector<float> old_values = std::move(values_);
    keys_.assign(capacity, kEmpty);
    values_.assign(capacity, 0.0f);
    mask_ = capacity - 1;
    shift_ = 64 - static_cast<int>(std::countr_zero(capacity));
    size_ = 0;
    for (std::size_t i = 0; i < old_keys.size(); ++i) {
      if (old_keys[i] != kEmpty && old_values[i] >= keep_from) Add(old_keys[i], old_values[i]);
    }
  }

  std::vector<std::uint64_t> keys_;
  std::vector<float> values_;
  std::size_t size_ = 0;
  std::size_t mask_ = 0;
  int shift_ = 64;
};

std::uint64_t PairKey(std::uint32_t a, std::uint32_t b) {
  if (a > b) std::swap(a, b);
  return (static_cast<std::uint64_t>(a) << 32) | b;
}

double Decay(std::int64_t age_micros, double half_life_days) {
  if (half_life_days <= 0 || age_micros <= 0) return 1.0;
  return std::exp2(-static_cast<double>(age_micros) / kMicrosPerDay / half_life_days);
}

bool IsPurchase(std::string_view type) { return type == domain::kPurchase || type == domain::kReturn; }
bool IsStrong(std::string_view type) { return type == domain::kPurchase || type == domain::kAddToCart; }

// The raw value of the "invoice" or "session" property, found without parsing the whole object: training
// reads it for every event.
std::string_view GroupKey(std::string_view properties) {
  for (std::string_view name : {std::string_view("\"invoice\""), std::string_view("\"session\"")}) {
    std::size_t at = properties.find(name);
    if (at == std::string_view::npos) continue;
    at += name.size();
    while (at < properties.size() && (properties[at] == ' ' || properties[at] == ':')) ++at;
    if (at >= properties.size()) return {};
    if (properties[at] == '"') {
      const std::size_t end = properties.find('"', at + 1);
      return end == std::string_view::npos ? std::string_view{} : properties.substr(at, end - at + 1);
    }
    std::size_t end = at;
    while (end < properties.size() && properties[end] != ',' && properties[end] != '}' &&
           properties[end] != ' ') {
      ++end;
    }
    return properties.substr(at, end - at);
  }
  return {};
}

// The `count` best (score, index) pairs, best first: by score, then by dense index so that ties are
// deterministic.
template <typename Score>
void KeepTop(std::vector<std::pair<Score, std::uint32_t>>& items, std::size_t count) {
  const auto better = [](const std::pair<Score, std::uint32_t>& a, const std::pair<Score, std::uint32_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  count = std::min(count, items.size());
  std::partial_sort(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(count), items.end(), better);
  items.resize(count);
}

}  // namespace

RecommenderOptions RecommenderOptions::PopularityBaseline() {
  RecommenderOptions options;
  options.view_weight = 0;
  options.cart_weight = 0;
  options.purchase_weight = 1;
  options.neighbours = 0;
  options.cross_session_weight = 0;
  options.revisit_weight = 0;
  options.affinity_weight = 0;
  options.popularity_half_life_days = 0;
  options.popular_per_country = 0;
  return options;
}

// Per-thread state of each product, indexed by product: scoring touches a few thousand entries and resets only
// those, so a query allocates nothing once the thread has served one. A product's fields sit together, where
// an array per field cost a cache line per field and product.
struct RecommenderModel::Scratch {
  enum : std::uint16_t { kTouched = 1, kBlocked = 2, kStrong = 4, kUserItem = 8, kBought = 16 };
  struct Product {
    float cf = 0, best = 0, country = 0, user_weight = 0;
    std::uint32_t anchor = kNone;
    std::uint16_t state = 0;
  };
  std::vector<Product> products;
  // The touched products are touched[0, touched_count): sized once to the product count, so that touching
  // never reallocates (and the scoring loops keep their pointers in registers).
  std::vector<std::uint32_t> touched;
  std::size_t touched_count = 0;
  std::vector<std::uint32_t> user_items;
  std::vector<double> category_weight;
  std::vector<std::uint32_t> user_categories;
  std::vector<std::pair<float, std::uint32_t>> anchors, ranked;

  void Prepare(std::size_t product_count, std::size_t categories) {
    for (std::size_t i = 0; i < touched_count; ++i) products[touched[i]] = Product{};
    for (std::uint32_t c : user_categories) category_weight[c] = 0;
    touched_count = 0;
    user_items.clear();
    user_categories.clear();
    anchors.clear();
    ranked.clear();
    if (products.size() < product_count) {
      products.resize(product_count);
      touched.resize(product_count);
    }
    if (category_weight.size() < categories) category_weight.resize(categories, 0.0);
  }

  Product& Touch(std::uint32_t p) {
    Product& product = products[p];
    if ((product.state & kTouched) == 0) {
      product.state |= kTouched;
      touched[touched_count++] = p;
    }
    return product;
  }
  std::span<const std::uint32_t> Touched() const { return {touched.data(), touched_count}; }
};

double RecommenderModel::EventWeight(std::string_view type) const {
  if (type == domain::kView) return options_.view_weight;
  if (type == domain::kAddToCart) return options_.cart_weight;
  if (type == domain::kPurchase) return options_.purchase_weight;
  return 0;
}

std::size_t RecommenderModel::ProductSlot(std::string_view product_id) const {
  const std::size_t mask = product_slots_.size() - 1;
  std::size_t slot = std::hash<std::string_view>{}(product_id) & mask;
  while (product_slots_[slot] != kNoProduct && product_ids_[product_slots_[slot]] != product_id)
    slot = (slot + 1) & mask;
  return slot;
}

std::uint32_t RecommenderModel::ProductIndex(std::string_view product_id) const {
  const std::uint32_t p = product_slots_.empty() ? kNoProduct : product_slots_[ProductSlot(product_id)];
  return p == kNoProduct ? static_cast<std::uint32_t>(product_ids_.size()) : p;
}

bool RecommenderModel::IndexProducts() {
  product_slots_.assign(std::bit_ceil(std::max<std::size_t>(2 * product_ids_.size(), 8)), kNoProduct);
  for (std::uint32_t p = 0; p < product_ids_.size(); ++p) {
    const std::size_t slot = ProductSlot(product_ids_[p]);
    if (product_slots_[slot] != kNoProduct) return false;  // the id is there already
    product_slots_[slot] = p;
  }
  return true;
}

RecommenderModel RecommenderModel::Train(std::span<const domain::Event> events,
                                         const std::unordered_map<std::string, std::string>& user_country,
                                         const std::unordered_map<std::string, std::string>& product_category,
                                         const RecommenderOptions& options) {
  RecommenderModel model;
  model.options_ = options;
  const auto intern_category = [&model](const std::string& name) {
    const auto [it, added] =
        model.category_index_.try_emplace(name, static_cast<std::uint32_t>(model.categories_.size()));
    if (added) model.categories_.push_back(name);
    return it->second;
  };

  // Pass 1: dense ids for the users and products of the events that teach something.
  std::unordered_map<std::string_view, std::uint32_t> user_index, product_index;
  std::vector<std::string_view> user_ids;
  std::vector<std::uint32_t> event_user(events.size(), kNone);
  std::vector<std::uint32_t> event_product(events.size(), kNone);
  std::vector<std::int64_t> category_ts;
  std::int64_t newest = std::numeric_limits<std::int64_t>::min();
  for (std::size_t i = 0; i < events.size(); ++i) {
    const domain::Event& e = events[i];
    if (model.EventWeight(e.type) <= 0 || !e.product_id || e.product_id->empty()) continue;
    const auto [user, new_user] =
        user_index.try_emplace(e.user_id, static_cast<std::uint32_t>(user_ids.size()));
    if (new_user) user_ids.push_back(e.user_id);
    const auto [product, new_product] =
        product_index.try_emplace(*e.product_id, static_cast<std::uint32_t>(model.product_ids_.size()));
    if (new_product) {
      model.product_ids_.push_back(*e.product_id);
      model.product_category_.push_back(kNoCategory);
      category_ts.push_back(std::numeric_limits<std::int64_t>::min());
    }
    event_user[i] = user->second;
    event_product[i] = product->second;
    newest = std::max(newest, e.ts_micros);
    if (e.category && !e.category->empty() && e.ts_micros >= category_ts[product->second]) {
      category_ts[product->second] = e.ts_micros;
      model.product_category_[product->second] = intern_category(*e.category);
    }
  }
  model.IndexProducts();  // the ids are distinct: they came from product_index
  const std::size_t product_count = model.product_ids_.size();
  for (std::size_t p = 0; p < product_count; ++p) {
    const auto it = product_category.find(model.product_ids_[p]);
    if (it != product_category.end() && !it->second.empty())
      model.product_category_[p] = intern_category(it->second);
  }

  // Events grouped by user (counting sort), then by time inside each user.
  std::vector<std::size_t> user_start(user_ids.size() + 1, 0);
  for (std::uint32_t u : event_user) {
    if (u != kNone) ++user_start[u + 1];
  }
  std::partial_sum(user_start.begin(), user_start.end(), user_start.begin());
  std::vector<std::uint32_t> order(user_start.back());
  {
    std::vector<std::size_t> fill(user_start.begin(), user_start.end() - 1);
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (event_user[i] != kNone) order[fill[event_user[i]]++] = static_cast<std::uint32_t>(i);
    }
  }
  std::vector<std::uint32_t>().swap(event_user);

  WeightMap pair_weights;
  // Beyond max_pairs distinct pairs, the lightest are dropped, from about two co-occurrences of the lightest
  // kind up (lossy counting): memory stays bounded and frequent pairs keep (nearly) their counts.
  double lightest_event = 0;
  for (double w : {options.view_weight, options.cart_weight, options.purchase_weight}) {
    if (w > 0 && (lightest_event == 0 || w < lightest_event)) lightest_event = w;
  }
  auto prune_below = static_cast<float>(
      2 * lightest_event *
      (options.cross_session_weight > 0 ? std::min(1.0, options.cross_session_weight) : 1.0));
  WeightMap country_weights;  // (country << 32 | product) -> popularity in that country
  std::vector<std::string> countries;
  std::unordered_map<std::string, std::uint32_t> country_index;
  std::vector<double> occurrences(product_count, 0.0);
  model.popularity_.assign(product_count, 0.0f);

  struct Entry {
    std::uint32_t product;
    float weight;
    std::int64_t ts;
  };
  std::vector<Entry> session_events, session_items, earlier_items, user_entries;

  const auto close_session = [&](std::int64_t session_start) {
    // The last distinct items of the session, each with its strongest event.
    session_items.clear();
    for (auto it = session_events.rbegin(); it != session_events.rend(); ++it) {
      const auto same = std::find_if(session_items.begin(), session_items.end(),
                                     [&](const Entry& x) { return x.product == it->product; });
      if (same != session_items.end()) {
        same->weight = std::max(same->weight, it->weight);
      } else if (session_items.size() < options.max_items_per_session) {
        session_items.push_back(*it);
      }
    }
    session_events.clear();
    if (options.neighbours == 0) return;
    for (std::size_t a = 0; a < session_items.size(); ++a) {
      occurrences[session_items[a].product] += session_items[a].weight;
      for (std::size_t b = a + 1; b < session_items.size(); ++b) {
        pair_weights.Add(PairKey(session_items[a].product, session_items[b].product),
                         std::sqrt(session_items[a].weight * session_items[b].weight));
      }
    }
    if (options.cross_session_weight > 0) {
      for (auto it = earlier_items.rbegin(); it != earlier_items.rend(); ++it) {
        if (it->ts < session_start - options.cross_session_window_micros) break;
        const bool in_session = std::any_of(session_items.begin(), session_items.end(),
                                            [&](const Entry& x) { return x.product == it->product; });
        if (in_session) continue;
        for (const Entry& item : session_items) {
          pair_weights.Add(
              PairKey(item.product, it->product),
              static_cast<float>(options.cross_session_weight * std::sqrt(item.weight * it->weight)));
        }
      }
    }
    // Earlier items stay ordered by their last session, newest last.
    for (const Entry& item : session_items) {
      Entry remembered = item;
      const auto old = std::find_if(earlier_items.begin(), earlier_items.end(),
                                    [&](const Entry& x) { return x.product == item.product; });
      if (old != earlier_items.end()) {
        remembered.weight = std::max(remembered.weight, old->weight);
        earlier_items.erase(old);
      }
      earlier_items.push_back(remembered);
    }
    if (earlier_items.size() > options.cross_session_items) {
      earlier_items.erase(earlier_items.begin(),
                          earlier_items.end() - static_cast<std::ptrdiff_t>(options.cross_session_items));
    }
    while (pair_weights.size() > options.max_pairs && prune_below > 0) {
      pair_weights.Prune(prune_below);
      prune_below *= 2;
    }
  };

  for (std::size_t u = 0; u < user_ids.size(); ++u) {
    const auto begin = order.begin() + static_cast<std::ptrdiff_t>(user_start[u]);
    const auto end = order.begin() + static_cast<std::ptrdiff_t>(user_start[u + 1]);
    std::sort(begin, end, [&](std::uint32_t a, std::uint32_t b) {
      return events[a].ts_micros < events[b].ts_micros ||
             (events[a].ts_micros == events[b].ts_micros && a < b);
    });
    earlier_items.clear();
    user_entries.clear();
    std::string_view previous_key;
    std::int64_t previous_ts = 0;
    std::int64_t session_start = 0;
    for (auto it = begin; it != end; ++it) {
      const domain::Event& e = events[*it];
      const std::string_view key = GroupKey(e.properties);
      if (it != begin) {
        const bool keyed = !key.empty() && !previous_key.empty();
        const bool new_session =
            keyed ? key != previous_key : e.ts_micros - previous_ts > options.session_gap_micros;
        if (new_session) {
          close_session(session_start);
          session_start = e.ts_micros;
        }
      } else {
        session_start = e.ts_micros;
      }
      previous_key = key;
      previous_ts = e.ts_micros;
      const Entry entry{event_product[*it], static_cast<float>(model.EventWeight(e.type)), e.ts_micros};
      session_events.push_back(entry);
      user_entries.push_back(entry);
    }
    close_session(session_start);

    // Popularity counts a user once per product, with their strongest event and its latest time.
    std::uint32_t country = kNone;
    if (options.popular_per_country > 0) {
      const auto found = user_country.find(std::string(user_ids[u]));
      if (found != user_country.end() && !found->second.empty()) {
        const auto [it, added] =
            country_index.try_emplace(found->second, static_cast<std::uint32_t>(countries.size()));
        if (added) countries.push_back(found->second);
        country = it->second;
      }
    }
    std::sort(user_entries.begin(), user_entries.end(),
              [](const Entry& a, const Entry& b) { return a.product < b.product; });
    for (std::size_t i = 0; i < user_entries.size();) {
      float weight = 0;
      std::int64_t ts = std::numeric_limits<std::int64_t>::min();
      const std::uint32_t product = user_entries[i].product;
      for (; i < user_entries.size() && user_entries[i].product == product; ++i) {
        weight = std::max(weight, user_entries[i].weight);
        ts = std::max(ts, user_entries[i].ts);
      }
      const auto popularity =
          static_cast<float>(weight * Decay(newest - ts, options.popularity_half_life_days));
      model.popularity_[product] += popularity;
      if (country != kNone)
        country_weights.Add((static_cast<std::uint64_t>(country) << 32) | product, popularity);
    }
  }
  std::vector<std::uint32_t>().swap(order);

  // Neighbour lists: every pair in both directions, then the strongest `neighbours` of each product.
  std::vector<std::uint32_t> degree(product_count + 1, 0);
  if (options.neighbours > 0) {
    pair_weights.ForEach([&](std::uint64_t key, float) {
      ++degree[(key >> 32) + 1];
      ++degree[(key & 0xFFFFFFFFu) + 1];
    });
  }
  std::partial_sum(degree.begin(), degree.end(), degree.begin());
  std::vector<std::pair<float, std::uint32_t>> all_neighbours(degree.back());
  if (options.neighbours > 0) {
    std::vector<std::uint32_t> fill(degree.begin(), degree.end() - 1);
    pair_weights.ForEach([&](std::uint64_t key, float weight) {
      const auto a = static_cast<std::uint32_t>(key >> 32);
      const auto b = static_cast<std::uint32_t>(key & 0xFFFFFFFFu);
      const double damping = std::pow(occurrences[a] * occurrences[b], options.popularity_damping);
      const double shrunk = weight / (weight + options.shrinkage);
      const auto similarity = static_cast<float>(damping > 0 ? weight / damping * shrunk : 0.0);
      all_neighbours[fill[a]++] = {similarity, b};
      all_neighbours[fill[b]++] = {similarity, a};
    });
  }
  pair_weights = WeightMap();
  model.neighbour_offsets_.assign(1, 0);
  std::vector<std::pair<float, std::uint32_t>> list;
  for (std::size_t p = 0; p < product_count; ++p) {
    list.assign(all_neighbours.begin() + degree[p], all_neighbours.begin() + degree[p + 1]);
    KeepTop(list, options.neighbours);
    for (const auto& [score, neighbour] : list) {
      if (score <= 0) break;
      model.neighbour_ids_.push_back(neighbour);
      model.neighbour_scores_.push_back(score);
    }
    model.neighbour_offsets_.push_back(static_cast<std::uint32_t>(model.neighbour_ids_.size()));
  }

  std::vector<std::vector<std::pair<float, std::uint32_t>>> by_country(countries.size());
  country_weights.ForEach([&](std::uint64_t key, float weight) {
    by_country[key >> 32].push_back({weight, static_cast<std::uint32_t>(key & 0xFFFFFFFFu)});
  });
  for (std::size_t c = 0; c < countries.size(); ++c) {
    KeepTop(by_country[c], options.popular_per_country);
    PopularList& popular = model.country_popular_[countries[c]];
    for (const auto& [weight, product] : by_country[c]) {
      popular.products.push_back(product);
      popular.scores.push_back(weight);
    }
  }
  model.BuildDerivedLists();
  return model;
}

void RecommenderModel::BuildDerivedLists() {
  max_popularity_ = 0;
  std::vector<std::pair<float, std::uint32_t>> all;
  std::vector<std::vector<std::pair<float, std::uint32_t>>> by_category(categories_.size());
  for (std::size_t p = 0; p < popularity_.size(); ++p) {
    if (popularity_[p] <= 0) continue;
    max_popularity_ = std::max(max_popularity_, popularity_[p]);
    all.push_back({popularity_[p], static_cast<std::uint32_t>(p)});
    if (product_category_[p] != kNoCategory) by_category[product_category_[p]].push_back(all.back());
  }
  KeepTop(all, options_.popular_global);
  global_popular_.clear();
  for (const auto& entry : all) global_popular_.push_back(entry.second);
  category_popular_.assign(categories_.size(), {});
  for (std::size_t c = 0; c < categories_.size(); ++c) {
    KeepTop(by_category[c], options_.popular_per_category);
    for (const auto& entry : by_category[c]) category_popular_[c].push_back(entry.second);
  }
}

std::vector<Recommendation> RecommenderModel::Recommend(const UserContext& user,
                                                        const RecommendQuery& query) const {
  std::vector<Recommendation> result;
  if (query.limit == 0 || product_ids_.empty()) return result;
  thread_local Scratch scratch;
  Scratch& s = scratch;
  s.Prepare(product_ids_.size(), categories_.size());
  const auto unknown = static_cast<std::uint32_t>(product_ids_.size());

  // The user's items: decayed weights, what they bought, their categories.
  double total_weight = 0;
  for (const domain::Event& e : user.history) {
    if (!e.product_id) continue;
    const std::uint32_t p = ProductIndex(*e.product_id);
    if (p == unknown) continue;
    Scratch::Product& item = s.Touch(p);
    if (IsPurchase(e.type))
      item.state |= query.exclude_purchased ? Scratch::kBlocked | Scratch::kBought : Scratch::kBought;
    const double weight =
        EventWeight(e.type) * Decay(user.now_micros - e.ts_micros, options_.recency_half_life_days);
    if (weight <= 0) continue;
    if ((item.state & Scratch::kUserItem) == 0) {
      item.state |= Scratch::kUserItem;
      s.user_items.push_back(p);
    }
    if (IsStrong(e.type)) item.state |= Scratch::kStrong;
    item.user_weight += static_cast<float>(weight);
    total_weight += weight;
    const std::uint32_t c = product_category_[p];
    if (c != kNoCategory) {
      if (s.category_weight[c] == 0) s.user_categories.push_back(c);
      s.category_weight[c] += weight;
    }
  }
  for (const std::string& id : query.exclude_products) {
    const std::uint32_t p = ProductIndex(id);
    if (p != unknown) s.Touch(p).state |= Scratch::kBlocked;
  }

  // Candidates from the neighbours of the strongest items.
  for (std::uint32_t p : s.user_items) s.anchors.push_back({s.products[p].user_weight, p});
  KeepTop(s.anchors, options_.max_recent_items);
  double anchor_weight = 0;
  const std::uint32_t* const neighbour_ids = neighbour_ids_.data();
  const float* const neighbour_scores = neighbour_scores_.data();
  for (const auto& [weight, a] : s.anchors) {
    anchor_weight += weight;
    const float revisit = weight * static_cast<float>(options_.revisit_weight);
    Scratch::Product& anchor = s.products[a];
    anchor.cf += revisit;
    if (revisit > anchor.best) {
      anchor.best = revisit;
      anchor.anchor = a;
    }
    for (std::uint32_t k = neighbour_offsets_[a], end = neighbour_offsets_[a + 1]; k < end; ++k) {
      const float contribution = weight * neighbour_scores[k];
      Scratch::Product& candidate = s.Touch(neighbour_ids[k]);
      candidate.cf += contribution;
      if (contribution > candidate.best) {
        candidate.best = contribution;
        candidate.anchor = a;
      }
    }
  }

  // Candidates from popularity: the user's favourite and the requested categories, their country, everywhere.
  const auto touch_all = [&s](const std::vector<std::uint32_t>& products) {
    for (std::uint32_t p : products) s.Touch(p);
  };
  std::vector<std::uint32_t> included;
  for (const std::string& name : query.categories) {
    const auto it = category_index_.find(name);
    if (it == category_index_.end()) continue;
    included.push_back(it->second);
    touch_all(category_popular_[it->second]);
  }
  std::vector<std::uint32_t> excluded;
  for (const std::string& name : query.exclude_categories) {
    const auto it = category_index_.find(name);
    if (it != category_index_.end()) excluded.push_back(it->second);
  }
  if (options_.affinity_weight > 0) {
    const std::size_t favourites = std::min(options_.affinity_categories, s.user_categories.size());
    std::partial_sort(s.user_categories.begin(),
                      s.user_categories.begin() + static_cast<std::ptrdiff_t>(favourites),
                      s.user_categories.end(), [&s](std::uint32_t a, std::uint32_t b) {
                        return s.category_weight[a] > s.category_weight[b] ||
                               (s.category_weight[a] == s.category_weight[b] && a < b);
                      });
    for (std::size_t i = 0; i < favourites; ++i) touch_all(category_popular_[s.user_categories[i]]);
  }
  const auto country = user.country.empty() ? country_popular_.end() : country_popular_.find(user.country);
  if (country != country_popular_.end() && !country->second.scores.empty() && country->second.scores[0] > 0) {
    const PopularList& popular = country->second;
    for (std::size_t i = 0; i < popular.products.size(); ++i)
      s.Touch(popular.products[i]).country = popular.scores[i] / popular.scores[0];
  }
  touch_all(global_popular_);

  // score = co-occurrence (weighted mean similarity to the anchors) + category affinity + popularity, where
  // popularity in the user's country lies in [0.5, 1] and global popularity in [0, 0.5]: country first.
  struct Terms {
    double cf, affinity, popular;
  };
  // Multiplied by reciprocals: a division per term and candidate cost 5 % of a query.
  const double per_anchor_weight = anchor_weight > 0 ? 1 / anchor_weight : 0;
  const double affinity_per_weight = total_weight > 0 ? options_.affinity_weight / total_weight : 0;
  const double global_per_popularity = max_popularity_ > 0 ? 0.5 / max_popularity_ : 0;
  const auto terms = [&](std::uint32_t p) {
    const Scratch::Product& candidate = s.products[p];
    const std::uint32_t c = product_category_[p];
    Terms t{};
    t.cf = candidate.cf * per_anchor_weight;
    t.affinity = c != kNoCategory ? affinity_per_weight * s.category_weight[c] : 0;
    const double popular =
        candidate.country > 0 ? 0.5 + 0.5 * candidate.country : global_per_popularity * popularity_[p];
    t.popular = options_.popularity_weight * popular;
    return t;
  };
  const bool filter_included = !query.categories.empty();
  for (std::uint32_t p : s.Touched()) {
    if ((s.products[p].state & Scratch::kBlocked) != 0) continue;
    const std::uint32_t c = product_category_[p];
    if (filter_included && std::find(included.begin(), included.end(), c) == included.end()) continue;
    if (c != kNoCategory && std::find(excluded.begin(), excluded.end(), c) != excluded.end()) continue;
    const Terms t = terms(p);
    const double score = t.cf + t.affinity + t.popular;
    if (score > 0) s.ranked.push_back({static_cast<float>(score), p});
  }
  KeepTop(s.ranked, query.limit);

  result.reserve(s.ranked.size());
  for (const auto& [score, p] : s.ranked) {
    Recommendation& r = result.emplace_back();
    r.product_id = product_ids_[p];
    const std::uint32_t c = product_category_[p];
    if (c != kNoCategory) r.category = categories_[c];
    r.score = score;
    // The reason names the largest of the three terms.
    const auto [cf, affinity, popular] = terms(p);
    if (cf > 0 && cf >= affinity && cf >= popular) {
      const std::uint32_t a = s.products[p].anchor;
      if (a == p) {
        r.reason = (s.products[p].state & Scratch::kBought) != 0 ? "you bought it before" : "you viewed it recently";
      } else {
        r.reason = ((s.products[a].state & Scratch::kStrong) != 0 ? "bought together with " : "viewed together with ") +
                   product_ids_[a];
      }
    } else if (affinity > 0 && affinity >= popular) {
      r.reason = "matches your interest in " + categories_[c];
    } else if (s.products[p].country > 0) {
      r.reason = "popular in " + (user.country_name.empty() ? user.country : user.country_name);
    } else {
      r.reason = "popular now";
    }
  }
  return result;
}

std::vector<std::pair<std::string, double>> RecommenderModel::Neighbours(std::string_view product_id) const {
  std::vector<std::pair<std::string, double>> result;
  const std::uint32_t p = ProductIndex(product_id);
  if (p == product_ids_.size()) return result;
  for (std::uint32_t k = neighbour_offsets_[p]; k < neighbour_offsets_[p + 1]; ++k) {
    result.emplace_back(product_ids_[neighbour_ids_[k]], neighbour_scores_[k]);
  }
  return result;
}

namespace {

nlohmann::json OptionsToJson(const RecommenderOptions& o) {
  return {{"view_weight", o.view_weight},
          {"cart_weight", o.cart_weight},
          {"purchase_weight", o.purchase_weight},
          {"popularity_damping", o.popularity_damping},
          {"shrinkage", o.shrinkage},
          {"neighbours", o.neighbours},
          {"session_gap_micros", o.session_gap_micros},
          {"max_items_per_session", o.max_items_per_session},
          {"max_pairs", o.max_pairs},
          {"cross_session_weight", o.cross_session_weight},
          {"cross_session_window_micros", o.cross_session_window_micros},
          {"cross_session_items", o.cross_session_items},
          {"recency_half_life_days", o.recency_half_life_days},
          {"max_recent_items", o.max_recent_items},
          {"revisit_weight", o.revisit_weight},
          {"affinity_weight", o.affinity_weight},
          {"affinity_categories", o.affinity_categories},
          {"popularity_weight", o.popularity_weight},
          {"popularity_half_life_days", o.popularity_half_life_days},
          {"popular_global", o.popular_global},
          {"popular_per_country", o.popular_per_country},
          {"popular_per_category", o.popular_per_category}};
}

// Reads the options; nlohmann throws on a missing or mistyped field and FromJson turns that into an error.
Result<RecommenderOptions> OptionsFromJson(const nlohmann::json& j) {
  RecommenderOptions o;
  j.at("view_weight").get_to(o.view_weight);
  j.at("cart_weight").get_to(o.cart_weight);
  j.at("purchase_weight").get_to(o.purchase_weight);
  j.at("popularity_damping").get_to(o.popularity_damping);
  j.at("shrinkage").get_to(o.shrinkage);
  j.at("neighbours").get_to(o.neighbours);
  j.at("session_gap_micros").get_to(o.session_gap_micros);
  j.at("max_items_per_session").get_to(o.max_items_per_session);
  j.at("max_pairs").get_to(o.max_pairs);
  j.at("cross_session_weight").get_to(o.cross_session_weight);
  j.at("cross_session_window_micros").get_to(o.cross_session_window_micros);
  j.at("cross_session_items").get_to(o.cross_session_items);
  j.at("recency_half_life_days").get_to(o.recency_half_life_days);
  j.at("max_recent_items").get_to(o.max_recent_items);
  j.at("revisit_weight").get_to(o.revisit_weight);
  j.at("affinity_weight").get_to(o.affinity_weight);
  j.at("affinity_categories").get_to(o.affinity_categories);
  j.at("popularity_weight").get_to(o.popularity_weight);
  j.at("popularity_half_life_days").get_to(o.popularity_half_life_days);
  j.at("popular_global").get_to(o.popular_global);
  j.at("popular_per_country").get_to(o.popular_per_country);
  j.at("popular_per_category").get_to(o.popular_per_category);
  for (double v : {o.view_weight, o.cart_weight, o.purchase_weight, o.popularity_damping, o.shrinkage,
                   o.cross_session_weight, o.recency_half_life_days, o.revisit_weight, o.affinity_weight,
                   o.popularity_weight, o.popularity_half_life_days}) {
    if (!std::isfinite(v) || v < 0)
      return Error::InvalidArgument("recommender options must be finite and >= 0");
  }
  return o;
}

bool ValidScores(const std::vector<float>& scores) {
  return std::all_of(scores.begin(), scores.end(), [](float v) { return std::isfinite(v) && v >= 0; });
}

bool ValidIndices(const std::vector<std::uint32_t>& ids, std::size_t bound) {
  return std::all_of(ids.begin(), ids.end(), [bound](std::uint32_t v) { return v < bound; });
}

}  // namespace

nlohmann::json RecommenderModel::ToJson() const {
  nlohmann::json product_category = nlohmann::json::array();
  for (std::uint32_t c : product_category_) {
    product_category.push_back(c == kNoCategory ? -1 : static_cast<std::int64_t>(c));
  }
  nlohmann::json countries = nlohmann::json::object();
  for (const auto& [code, popular] : country_popular_) {
    countries[code] = {{"products", popular.products}, {"scores", popular.scores}};
  }
  return {{"format", "cohort.recommender"},
          {"version", kFormatVersion},
          {"options", OptionsToJson(options_)},
          {"products", product_ids_},
          {"categories", categories_},
          {"product_category", std::move(product_category)},
          {"popularity", popularity_},
          {"neighbours",
           {{"offsets", neighbour_offsets_}, {"ids", neighbour_ids_}, {"scores", neighbour_scores_}}},
          {"countries", std::move(countries)}};
}

Result<RecommenderModel> RecommenderModel::FromJson(const nlohmann::json& json) {
  const auto invalid = [](const std::string& what) {
    return Error::InvalidArgument("malformed recommender model: " + what);
  };
  RecommenderModel model;
  try {
    if (!json.is_object() || json.value("format", "") != "cohort.recommender")
      return invalid("not a recommender");
    if (json.at("version").get<int>() != kFormatVersion) return invalid("unsupported version");
    auto options = OptionsFromJson(json.at("options"));
    if (!options) return std::move(options).error();
    model.options_ = *options;
    json.at("products").get_to(model.product_ids_);
    json.at("categories").get_to(model.categories_);
    const auto product_category = json.at("product_category").get<std::vector<std::int64_t>>();
    json.at("popularity").get_to(model.popularity_);
    const nlohmann::json& neighbours = json.at("neighbours");
    neighbours.at("offsets").get_to(model.neighbour_offsets_);
    neighbours.at("ids").get_to(model.neighbour_ids_);
    neighbours.at("scores").get_to(model.neighbour_scores_);
    const std::size_t n = model.product_ids_.size();
    if (!model.IndexProducts()) return invalid("duplicate product id");
    for (std::size_t c = 0; c < model.categories_.size(); ++c) {
      if (!model.category_index_.try_emplace(model.categories_[c], static_cast<std::uint32_t>(c)).second) {
        return invalid("duplicate category");
      }
    }
    if (product_category.size() != n || model.popularity_.size() != n ||
        model.neighbour_offsets_.size() != n + 1) {
      return invalid("array sizes differ from the product count");
    }
    for (std::int64_t c : product_category) {
      if (c < -1 || c >= static_cast<std::int64_t>(model.categories_.size()))
        return invalid("bad category index");
      model.product_category_.push_back(c < 0 ? kNoCategory : static_cast<std::uint32_t>(c));
    }
    if (model.neighbour_offsets_.front() != 0 ||
        model.neighbour_offsets_.back() != model.neighbour_ids_.size() ||
        model.neighbour_ids_.size() != model.neighbour_scores_.size() ||
        !std::is_sorted(model.neighbour_offsets_.begin(), model.neighbour_offsets_.end()) ||
        !ValidIndices(model.neighbour_ids_, n) || !ValidScores(model.neighbour_scores_) ||
        !ValidScores(model.popularity_)) {
      return invalid("bad neighbour lists or popularity");
    }
    for (const auto& [code, entry] : json.at("countries").items()) {
      PopularList popular;
      entry.at("products").get_to(popular.products);
      entry.at("scores").get_to(popular.scores);
      if (popular.products.size() != popular.scores.size() || !ValidIndices(popular.products, n) ||
          !ValidScores(popular.scores) || !std::is_sorted(popular.scores.rbegin(), popular.scores.rend())) {
        return invalid("bad popularity list for " + code);
      }
      model.country_popular_.emplace(code, std::move(popular));
    }
  } catch (const nlohmann::json::exception& e) {
    return invalid(e.what());
  }
  model.BuildDerivedLists();
  return model;
}

}  // namespace cohort::analytics
