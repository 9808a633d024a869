// Training and scoring at the scale of a large shop (by default 1M users, about 20M events), printing a
// table:
//   generation of a deterministic synthetic shop held compactly in memory (16 bytes an event);
//   training: ModelTrainer::AddUser for every user, then Finish (BG/NBD, Gamma-Gamma, churn, segments,
//   recommender);
//   scoring users with the trained model on two threads over disjoint user ranges, first ScoreUser alone,
//   then ScoreUser with the top 10 recommendations (all users, or the first `scored` of them: users are drawn
//   independently, so the first ones are a fair sample); then both again on all users with the BG/NBD fit
//   dropped from the model;
//   memory: resident size with the events alone, peak during training, resident size with the model, and the
//   model's size as JSON.
// Usage: scale_bench [users=1000000] [scored=all] [seed=42]

#include <malloc.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "analytics/engine.hpp"
#include "analytics/model.hpp"
#include "analytics/recommender.hpp"
#include "analytics/trainer.hpp"
#include "domain/event.hpp"

namespace cohort::analytics {
namespace {

constexpr std::int64_t kMicrosPerDay = 86'400LL * 1'000'000;
constexpr std::int64_t kStartMicros = 1'700'000'000LL * 1'000'000;
constexpr int kDays = 730;
constexpr std::uint32_t kCategories = 200;
constexpr std::uint32_t kProductsPerCategory = 100;
constexpr std::array<std::string_view, 8> kCountries = {"GB", "DE", "FR", "US", "ES", "IT", "NL", "PL"};
constexpr std::array<double, 8> kCountryShare = {0.30, 0.18, 0.14, 0.12, 0.08, 0.08, 0.05, 0.05};

enum class EventKind : std::uint8_t { kView, kCart, kPurchase };

struct CompactEvent {
  std::int64_t ts_micros;
  std::uint32_t product;
  EventKind type;
  std::uint8_t quantity;
};
static_assert(sizeof(CompactEvent) == 16);

struct Shop {
  std::vector<CompactEvent> events;    // grouped by user, in time order within a user
  std::vector<std::uint32_t> offsets;  // user u owns events [offsets[u], offsets[u + 1])
  std::vector<std::uint8_t> country;
  std::vector<std::int64_t> registered_micros;
  std::int64_t now_micros = kStartMicros + kDays * kMicrosPerDay;
  std::size_t users() const { return country.size(); }
};

// splitmix64: fast, and the same output with every standard library.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  std::uint32_t Below(std::uint32_t n) { return static_cast<std::uint32_t>(Next() % n); }
  double Exponential(double mean) { return -std::log(1 - Uniform()) * mean; }

 private:
  std::uint64_t state_;
};

// Cumulative weights of a Zipf law over n items, for sampling with a binary search.
std::vector<double> ZipfCdf(std::size_t n, double exponent) {
  std::vector<double> cdf(n);
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) cdf[i] = total += 1.0 / std::pow(static_cast<double>(i + 1), exponent);
  for (double& c : cdf) c /= total;
  return cdf;
}

std::uint32_t Sample(const std::vector<double>& cdf, Rng& rng) {
  const auto it = std::upper_bound(cdf.begin(), cdf.end(), rng.Uniform());
  return static_cast<std::uint32_t>(std::min<std::ptrdiff_t>(it - cdf.begin(), std::ssize(cdf) - 1));
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// "VmRSS" or "VmHWM" (the peak) of this process, in MiB.
double MemoryMiB(std::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(field)) return std::strtod(line.c_str() + field.size() + 1, nullptr) / 1024.0;
  }
  return 0;
}

// Users arrive over the first 700 days; about a third stop coming back after a few months (churned). A visit
// is a session of 1-6 views, some carted and some of those bought, in a favourite category most of the time;
// products follow a Zipf popularity within their category, categories one across the shop. About 20 events a
// user on average, with a long tail of heavy users.
Shop Generate(std::size_t users, std::uint64_t seed) {
  Rng rng(seed);
  const std::vector<double> category_cdf = ZipfCdf(kCategories, 0.8);
  const std::vector<double> product_cdf = ZipfCdf(kProductsPerCategory, 1.0);
  std::vector<double> country_cdf;
  double total = 0;
  for (double share : kCountryShare) country_cdf.push_back(total += share);

  Shop shop;
  shop.events.reserve(users * 21);
  shop.offsets.reserve(users + 1);
  shop.offsets.push_back(0);
  const auto started = std::chrono::steady_clock::now();
  std::vector<double> days;
  for (std::size_t u = 0; u < users; ++u) {
    const std::uint32_t country = Sample(country_cdf, rng);
    shop.country.push_back(static_cast<std::uint8_t>(country));
    const double registered = rng.Uniform() * (kDays - 30);
    shop.registered_micros.push_back(kStartMicros + static_cast<std::int64_t>(registered * 86'400e6));
    const double last =
        rng.Uniform() < 0.35 ? std::min<double>(kDays, registered + rng.Exponential(120)) : kDays;
    const std::uint32_t favourite = (country * 17 + rng.Below(5)) % kCategories;
    const std::uint32_t second = Sample(category_cdf, rng);
    // Sessions: a mean of about 4 (about 5 events each), geometric so that a few users are very active.
    const int sessions = 1 + static_cast<int>(rng.Exponential(3.45));
    days.clear();
    for (int s = 0; s < sessions; ++s) days.push_back(registered + rng.Uniform() * (last - registered));
    std::sort(days.begin(), days.end());
    for (double day : days) {
      std::int64_t ts = kStartMicros + static_cast<std::int64_t>(day * 86'400e6);
      const double r = rng.Uniform();
      const std::uint32_t category = r < 0.5 ? favourite : r < 0.8 ? second : Sample(category_cdf, rng);
      const int views = 1 + static_cast<int>(rng.Below(6));
      for (int v = 0; v < views; ++v) {
        const std::uint32_t product = category * kProductsPerCategory + Sample(product_cdf, rng);
        const auto emit = [&](EventKind type, std::uint8_t quantity) {
          ts += 30'000'000 + static_cast<std::int64_t>(rng.Below(120)) * 1'000'000;
          shop.events.push_back({ts, product, type, quantity});
        };
        emit(EventKind::kView, 1);
        if (rng.Uniform() >= 0.3) continue;
        emit(EventKind::kCart, 1);
        if (rng.Uniform() < 0.5) emit(EventKind::kPurchase, static_cast<std::uint8_t>(1 + rng.Below(3) / 2));
      }
    }
    shop.offsets.push_back(static_cast<std::uint32_t>(shop.events.size()));
    if ((u + 1) % 200'000 == 0)
      std::printf("  generated %zu users, %zu events, %.1f s\n", u + 1, shop.events.size(), Seconds(started));
  }
  return shop;
}

// "E42" and the like. Appending to the prefix, rather than "E" + std::to_string(n), keeps g++ 12 from a false
// -Wrestrict warning.
std::string Id(char prefix, std::uint64_t n) {
  std::string id(1, prefix);
  id += std::to_string(n);
  return id;
}

double Price(std::uint32_t product) { return 5.0 + static_cast<double>(product * 37 % 200); }

std::string Category(std::uint32_t product) { return Id('C', product / kProductsPerCategory); }

// One user's events as domain events, reusing `out`'s strings from user to user.
void Expand(const Shop& shop, std::size_t user, std::vector<domain::Event>& out) {
  const std::uint32_t begin = shop.offsets[user];
  const std::uint32_t end = shop.offsets[user + 1];
  out.resize(end - begin);
  const std::string user_id = Id('U', user);
  for (std::uint32_t i = begin; i < end; ++i) {
    const CompactEvent& c = shop.events[i];
    domain::Event& e = out[i - begin];
    e.event_id = Id('E', i);
    e.user_id = user_id;
    e.type = c.type == EventKind::kView   ? domain::kView
             : c.type == EventKind::kCart ? domain::kAddToCart
                                          : domain::kPurchase;
    e.product_id = Id('P', c.product);
    e.category = Category(c.product);
    e.price = Price(c.product);
    e.quantity = c.quantity;
    e.ts_micros = c.ts_micros;
  }
}

UserProfile Profile(const Shop& shop, std::size_t user) {
  UserProfile profile;
  profile.id = Id('U', user);
  profile.registered_micros = shop.registered_micros[user];
  profile.country = kCountries[shop.country[user]];
  return profile;
}

struct ScoreTotals {
  std::array<std::int64_t, kSegments.size()> segments{};
  double churn_risk = 0;
  double ltv = 0;
  std::int64_t recommendations = 0;
  void Merge(const ScoreTotals& other) {
    for (std::size_t i = 0; i < segments.size(); ++i) segments[i] += other.segments[i];
    churn_risk += other.churn_risk;
    ltv += other.ltv;
    recommendations += other.recommendations;
  }
};

// Scores users [0, users) on two threads over disjoint halves; each thread keeps its own totals and buffers.
ScoreTotals ScoreAll(const Shop& shop, const Model& model, std::size_t users, bool recommend) {
  const auto run = [&](std::size_t begin, std::size_t end, ScoreTotals& totals) {
    const EngineOptions options;
    const RecommendQuery query{.limit = 10};
    std::vector<domain::Event> events;
    for (std::size_t u = begin; u < end; ++u) {
      Expand(shop, u, events);
      const UserProfile profile = Profile(shop, u);
      const Insight insight = ScoreUser(&model, profile, events, shop.now_micros, options);
      ++totals.segments[static_cast<std::size_t>(insight.segment)];
      totals.churn_risk += insight.churn_risk;
      totals.ltv += insight.ltv().value;
      if (recommend) {
        UserContext context{
            .history = events, .country = profile.country, .country_name = {}, .now_micros = shop.now_micros};
        totals.recommendations +=
            static_cast<std::int64_t>(model.recommender.Recommend(context, query).size());
      }
    }
  };
  ScoreTotals first;
  ScoreTotals second;
  std::thread other(run, users / 2, users, std::ref(second));
  run(0, users / 2, first);
  other.join();
  first.Merge(second);
  return first;
}

int Main(int argc, char** argv) {
  const std::size_t users = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  const std::size_t scored_users =
      std::min<std::size_t>(users, argc > 2 ? std::strtoull(argv[2], nullptr, 10) : users);
  const std::uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 42;
  if (users < 2 || scored_users < 2) {
    std::fprintf(stderr, "usage: scale_bench [users >= 2] [scored users >= 2] [seed]\n");
    return 2;
  }
  std::printf("scale_bench: %zu users, seed %llu\n", users, static_cast<unsigned long long>(seed));
  std::fflush(stdout);

  auto started = std::chrono::steady_clock::now();
  const Shop shop = Generate(users, seed);
  const double generate_s = Seconds(started);
  const double rss_events = MemoryMiB("VmRSS");
  std::printf("generated %zu events in %.1f s; resident %.0f MiB\n", shop.events.size(), generate_s,
              rss_events);
  std::fflush(stdout);

  std::unordered_map<std::string, std::string> product_category;
  for (std::uint32_t p = 0; p < kCategories * kProductsPerCategory; ++p)
    product_category[Id('P', p)] = Category(p);

  Model model;
  double add_s = 0;
  double finish_s = 0;
  {
    TrainOptions options;
    options.until_micros = EndOfUtcDay(shop.now_micros);
    ModelTrainer trainer(options);
    started = std::chrono::steady_clock::now();
    std::vector<domain::Event> events;
    for (std::size_t u = 0; u < users; ++u) {
      Expand(shop, u, events);
      trainer.AddUser(Profile(shop, u), events);
      if ((u + 1) % 200'000 == 0) {
        std::printf("  added %zu users, %.1f s, resident %.0f MiB\n", u + 1, Seconds(started),
                    MemoryMiB("VmRSS"));
        std::fflush(stdout);
      }
    }
    add_s = Seconds(started);
    started = std::chrono::steady_clock::now();
    auto trained = trainer.Finish(product_category, [&started](std::string_view line) {
      std::printf("  [%.1f s] %.*s\n", Seconds(started), static_cast<int>(line.size()), line.data());
      std::fflush(stdout);
    });
    finish_s = Seconds(started);
    if (!trained) {
      std::fprintf(stderr, "training failed: %s\n", trained.error().client_message.c_str());
      return 1;
    }
    model = std::move(*trained);
  }
  const double peak_training = MemoryMiB("VmHWM");
  malloc_trim(0);  // give the trainer's buffers back, so that the resident size shows the model
  const double rss_model = MemoryMiB("VmRSS");
  const std::size_t json_bytes = ModelToJson(model).dump().size();
  std::printf("trained: add %.1f s, finish %.1f s; products %zu; bgnbd %s; churn fitted %s\n", add_s,
              finish_s, model.recommender.product_count(), model.bgnbd ? "yes" : "no",
              model.churn.fitted ? "yes" : "no");
  if (model.bgnbd) {
    const BgNbdModel& b = model.bgnbd->model;
    std::printf("BG/NBD r %.4g alpha %.4g a %.4g b %.4g\n", b.r, b.alpha, b.a, b.b);
  }
  std::fflush(stdout);

  // The training half of the table first: scoring can be slow (see the README).
  std::printf("\n%-44s %14s\n", "figure", "value");
  std::printf("%-44s %14zu\n", "users", users);
  std::printf("%-44s %14zu\n", "events", shop.events.size());
  std::printf("%-44s %14.1f\n", "generate (s)", generate_s);
  std::printf("%-44s %14.1f\n", "train: AddUser for all users (s)", add_s);
  std::printf("%-44s %14.1f\n", "train: Finish (s)", finish_s);
  std::printf("%-44s %14.1f\n", "train: total (s)", add_s + finish_s);
  std::printf("%-44s %14.0f\n", "events/s through training",
              static_cast<double>(shop.events.size()) / (add_s + finish_s));
  std::printf("%-44s %14.0f\n", "resident with the events only (MiB)", rss_events);
  std::printf("%-44s %14.0f\n", "peak resident through training (MiB)", peak_training);
  std::printf("%-44s %14.0f\n", "resident after training, trainer freed (MiB)", rss_model);
  std::printf("%-44s %14.0f\n", "  of which the model, about (MiB)", rss_model - rss_events);
  std::printf("%-44s %14zu\n", "model as JSON (bytes)", json_bytes);
  std::fflush(stdout);

  started = std::chrono::steady_clock::now();
  const ScoreTotals scored = ScoreAll(shop, model, scored_users, false);
  const double score_s = Seconds(started);
  std::printf("scored %zu users in %.1f s\n", scored_users, score_s);
  std::fflush(stdout);
  started = std::chrono::steady_clock::now();
  const ScoreTotals recommended = ScoreAll(shop, model, scored_users, true);
  const double recommend_s = Seconds(started);

  const double n = static_cast<double>(scored_users);
  std::printf("%-44s %14zu\n", "users scored", scored_users);
  std::printf("%-44s %14.1f\n", "score, 2 threads (s)", score_s);
  std::printf("%-44s %14.1f\n", "score: users/s", n / score_s);
  std::printf("%-44s %14.1f\n", "score + top 10, 2 threads (s)", recommend_s);
  std::printf("%-44s %14.1f\n", "score + top 10: users/s", n / recommend_s);
  std::printf("%-44s %14.1f\n", "score + top 10, all users at that rate (s)",
              static_cast<double>(users) / (n / recommend_s));
  // The same on every user with the BG/NBD fit dropped (no P(alive), simple lifetime value): what scoring
  // costs apart from the BG/NBD expectation, which dominates when the fit lands on a large `a` (see the
  // README).
  Model without_bgnbd = model;
  without_bgnbd.bgnbd.reset();
  started = std::chrono::steady_clock::now();
  ScoreAll(shop, without_bgnbd, users, false);
  const double plain_s = Seconds(started);
  started = std::chrono::steady_clock::now();
  ScoreAll(shop, without_bgnbd, users, true);
  const double plain_recommend_s = Seconds(started);
  std::printf("%-44s %14.1f\n", "no BG/NBD, score all, 2 threads (s)", plain_s);
  std::printf("%-44s %14.0f\n", "no BG/NBD, score: users/s", static_cast<double>(users) / plain_s);
  std::printf("%-44s %14.1f\n", "no BG/NBD, score + top 10 all, 2 threads (s)", plain_recommend_s);
  std::printf("%-44s %14.0f\n", "no BG/NBD, score + top 10: users/s",
              static_cast<double>(users) / plain_recommend_s);
  std::printf("segments (scored):");
  for (Segment s : kSegments)
    std::printf(" %.*s %lld", static_cast<int>(SegmentName(s).size()), SegmentName(s).data(),
                static_cast<long long>(scored.segments[static_cast<std::size_t>(s)]));
  std::printf("; mean churn risk %.3f; mean LTV %.2f; recommendations %lld\n", scored.churn_risk / n,
              scored.ltv / n, static_cast<long long>(recommended.recommendations));
  return 0;
}

}  // namespace
}  // namespace cohort::analytics

int main(int argc, char** argv) { return cohort::analytics::Main(argc, argv); }
