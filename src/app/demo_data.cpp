#include "app/demo_data.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>

#include <fmt/format.h>

namespace cohort::app {
namespace {

struct DemoCountry {
  const char* code;
  const char* name;
  double weight;  // share of users
  std::vector<const char*> cities;  // largest first; city sizes fall off like 1/rank
};

const std::vector<DemoCountry>& Countries() {
  static const std::vector<DemoCountry> countries = {
      {"UA", "Ukraine", 30, {"Kyiv", "Kharkiv", "Odesa", "Dnipro", "Lviv", "Zaporizhzhia", "Vinnytsia", "Poltava"}},
      {"PL", "Poland", 14, {"Warsaw", "Krakow", "Wroclaw", "Lodz", "Poznan", "Gdansk"}},
      {"DE", "Germany", 12, {"Berlin", "Hamburg", "Munich", "Cologne", "Frankfurt", "Leipzig"}},
      {"US", "United States", 10, {"New York", "Los Angeles", "Chicago", "Houston", "Seattle"}},
      {"GB", "United Kingdom", 7, {"London", "Manchester", "Birmingham", "Leeds"}},
      {"FR", "France", 6, {"Paris", "Lyon", "Marseille", "Toulouse"}},
      {"CZ", "Czechia", 4, {"Prague", "Brno", "Ostrava"}},
      {"RO", "Romania", 4, {"Bucharest", "Cluj-Napoca", "Iasi"}},
      {"IT", "Italy", 3, {"Rome", "Milan", "Naples"}},
      {"ES", "Spain", 3, {"Madrid", "Barcelona", "Valencia"}},
      {"NL", "Netherlands", 2, {"Amsterdam", "Rotterdam"}},
      {"LT", "Lithuania", 2, {"Vilnius", "Kaunas"}},
      {"MD", "Moldova", 1.5, {"Chisinau"}},
      {"EE", "Estonia", 1, {"Tallinn", "Tartu"}},
      {"CA", "Canada", 0.5, {"Toronto", "Montreal"}},
  };
  return countries;
}

constexpr std::array kFirstNames = {"Olena", "Andriy", "Iryna",  "Taras", "Maria", "Oleksandr", "Sofia", "Dmytro",
                                    "Anna",  "Jan",    "Katarzyna", "Lukas", "Emma", "James",   "Olivia", "Noah",
                                    "Marta", "Pierre", "Camille", "Marco", "Lucia", "Tomas",   "Ieva",   "Mihai"};
constexpr std::array kLastNames = {"Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko", "Kravchenko", "Nowak",
                                   "Kowalski",   "Muller",    "Schmidt",    "Smith",     "Johnson",    "Brown",
                                   "Martin",     "Bernard",   "Novak",      "Popescu",   "Rossi",      "Garcia",
                                   "de Vries",   "Kazlauskas", "Tamm",      "Lefebvre",  "Wilson",     "Melnyk"};
constexpr std::array kStreets = {"Main St",     "Shevchenka St", "Park Ave",   "Market Sq",   "Station Rd",
                                 "Garden Ln",   "River St",      "Church St",  "Mill Rd",     "Victory Ave",
                                 "Oak St",      "Lake Rd",       "Hill St",    "School Ln",   "Bridge St"};

struct Category {
  const char* name;
  double median_price;  // log-normal around this
  double weight;
  std::array<const char*, 6> nouns;
};

constexpr std::array kCategories = {
    Category{"electronics", 180, 12, {"Headphones", "Speaker", "Charger", "Tablet", "Camera", "Smartwatch"}},
    Category{"books", 14, 14, {"Novel", "Cookbook", "Atlas", "Biography", "Guide", "Anthology"}},
    Category{"clothing", 35, 14, {"Jacket", "Sweater", "Jeans", "Dress", "Scarf", "Sneakers"}},
    Category{"home", 45, 10, {"Lamp", "Rug", "Pillow", "Vase", "Curtain", "Clock"}},
    Category{"kitchen", 30, 9, {"Kettle", "Pan", "Knife Set", "Blender", "Mug", "Toaster"}},
    Category{"beauty", 18, 9, {"Serum", "Lipstick", "Shampoo", "Perfume", "Cream", "Brush"}},
    Category{"sports", 40, 8, {"Yoga Mat", "Dumbbell", "Ball", "Racket", "Bottle", "Backpack"}},
    Category{"toys", 22, 7, {"Puzzle", "Robot", "Doll", "Board Game", "Blocks", "Kite"}},
    Category{"garden", 28, 5, {"Shovel", "Planter", "Hose", "Seeds", "Gloves", "Lantern"}},
    Category{"grocery", 6, 7, {"Coffee", "Tea", "Honey", "Chocolate", "Olive Oil", "Pasta"}},
    Category{"pets", 20, 3, {"Leash", "Bowl", "Bed", "Treats", "Toy Mouse", "Collar"}},
    Category{"office", 12, 2, {"Notebook", "Pen Set", "Stapler", "Desk Tray", "Planner", "Marker"}},
};
constexpr std::array kAdjectives = {"Classic", "Smart", "Eco", "Premium", "Compact", "Vintage",
                                    "Deluxe",  "Basic", "Pro", "Soft",    "Bright",  "Nordic"};

template <typename T, std::size_t N>
const T& Pick(std::mt19937_64& rng, const std::array<T, N>& items) {
  return items[std::uniform_int_distribution<std::size_t>(0, N - 1)(rng)];
}

}  // namespace

std::vector<domain::Product> DemoProducts(const DemoOptions& options) {
  std::mt19937_64 rng(options.seed * 7919 + 1);
  std::vector<double> weights;
  for (const auto& c : kCategories) weights.push_back(c.weight);
  std::discrete_distribution<std::size_t> category_of(weights.begin(), weights.end());
  std::normal_distribution<double> spread(0.0, 0.6);
  std::vector<domain::Product> products;
  products.reserve(static_cast<std::size_t>(options.products));
  for (int i = 1; i <= options.products; ++i) {
    const Category& c = kCategories[category_of(rng)];
    const double price = std::round(c.median_price * std::exp(spread(rng)) * 100.0) / 100.0;
    products.push_back({fmt::format("p{:05}", i),
                        fmt::format("{} {} {}", Pick(rng, kAdjectives), Pick(rng, c.nouns), i), c.name,
                        std::max(0.5, price)});
  }
  return products;
}

std::vector<domain::User> DemoUsers(const DemoOptions& options, int first, int count) {
  const auto& countries = Countries();
  std::vector<double> country_weights;
  for (const auto& c : countries) country_weights.push_back(c.weight);
  std::vector<domain::User> users;
  users.reserve(static_cast<std::size_t>(count));
  for (int n = first; n < first + count; ++n) {
    // One generator per user, seeded by (seed, n): any slice of the data set is the same as in the whole.
    std::seed_seq seq{options.seed, static_cast<std::uint64_t>(n)};
    std::mt19937_64 rng(seq);
    const DemoCountry& country =
        countries[std::discrete_distribution<std::size_t>(country_weights.begin(), country_weights.end())(rng)];
    std::vector<double> city_weights;
    for (std::size_t rank = 1; rank <= country.cities.size(); ++rank) city_weights.push_back(1.0 / rank);
    const char* city = country.cities[std::discrete_distribution<std::size_t>(city_weights.begin(),
                                                                                city_weights.end())(rng)];
    const std::string first_name = Pick(rng, kFirstNames);
    const std::string last_name = Pick(rng, kLastNames);
    domain::User u;
    u.id = fmt::format("u{:06}", n);
    u.name = first_name + " " + last_name;
    std::string local = first_name + "." + last_name;
    for (char& ch : local)
      ch = ch == ' ' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    u.email = fmt::format("{}.{}@example.com", local, n);
    if (std::uniform_real_distribution<>(0, 1)(rng) > 0.1)
      u.birth_year = std::uniform_int_distribution<int>(1955, 2007)(rng);
    u.address = {fmt::format("{} {}", std::uniform_int_distribution<int>(1, 250)(rng), Pick(rng, kStreets)),
                 fmt::format("{:05}", std::uniform_int_distribution<int>(1000, 99999)(rng)), city, country.code,
                 country.name};
    users.push_back(std::move(u));
  }
  return users;
}

DemoEventGenerator::DemoEventGenerator(const DemoOptions& options, const std::vector<domain::Product>& products)
    : options_(options), products_(products) {
  std::mt19937_64 rng(options.seed * 104729 + 3);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < products.size(); ++i) {
    auto it = std::find(names.begin(), names.end(), products[i].category);
    if (it == names.end()) {
      names.push_back(products[i].category);
      categories_.emplace_back();
      it = names.end() - 1;
    }
    const auto c = static_cast<std::size_t>(it - names.begin());
    category_of_.push_back(c);
    categories_[c].by_popularity.push_back(i);
  }
  for (auto& category : categories_) {
    std::shuffle(category.by_popularity.begin(), category.by_popularity.end(), rng);
    for (std::size_t rank = 1; rank <= category.by_popularity.size(); ++rank)
      category.weights.push_back(1.0 / std::pow(static_cast<double>(rank), 1.1));
    category_weights_.push_back(static_cast<double>(category.by_popularity.size()));
  }
  companion_of_.resize(products.size());
  for (const auto& category : categories_) {
    const auto& members = category.by_popularity;
    for (std::size_t k = 0; k < members.size(); ++k)
      companion_of_[members[k]] = members[(k * 7 + 3) % members.size()];
  }
}

std::vector<domain::Event> DemoEventGenerator::ForUser(int user_index) const {
  std::vector<domain::Event> events;
  if (products_.empty()) return events;
  std::seed_seq seq{options_.seed, static_cast<std::uint64_t>(user_index), std::uint64_t{0xE7}};
  std::mt19937_64 rng(seq);
  std::uniform_real_distribution<double> unit(0, 1);
  constexpr std::int64_t kDay = 86'400'000'000LL;
  const double archetype = unit(rng);
  if (archetype < 0.08) return events;  // registered, never active
  const bool heavy = archetype < 0.11;
  const bool churned = !heavy && archetype < 0.30;

  const std::int64_t until = options_.until_micros;
  const std::int64_t signup = until - std::uniform_int_distribution<std::int64_t>(1, 365)(rng) * kDay;
  std::int64_t end = until;
  if (churned) end = std::min(until, signup + std::uniform_int_distribution<std::int64_t>(5, 200)(rng) * kDay);
  const double weeks = static_cast<double>(end - signup) / static_cast<double>(7 * kDay);
  const double weekly = heavy ? 3.0 : std::exp(std::normal_distribution<double>(std::log(0.5), 0.7)(rng));
  const int sessions = std::min(400, static_cast<int>(std::poisson_distribution<int>(std::max(0.3, weekly * weeks))(rng)) + 1);

  std::discrete_distribution<std::size_t> any_category(category_weights_.begin(), category_weights_.end());
  const std::size_t favourite[2] = {any_category(rng), any_category(rng)};
  auto pick_product = [&](std::size_t category) {
    const auto& c = categories_[category];
    return c.by_popularity[std::discrete_distribution<std::size_t>(c.weights.begin(), c.weights.end())(rng)];
  };
  const double cart_rate = heavy ? 0.45 : 0.22;
  const double buy_rate = heavy ? 0.8 : 0.5;
  int counter = 0;
  auto add = [&](std::string_view type, std::size_t product, std::int64_t ts, int session, std::int64_t quantity) {
    domain::Event e;
    e.event_id = fmt::format("d{}-{}", user_index, counter++);
    e.user_id = fmt::format("u{:06}", user_index);
    e.type = std::string(type);
    e.product_id = products_[product].id;
    e.category = products_[product].category;
    e.price = products_[product].price;
    e.quantity = quantity;
    e.ts_micros = ts;
    e.properties = fmt::format(R"({{"session":{},"device":"{}"}})", session, unit(rng) < 0.6 ? "mobile" : "desktop");
    events.push_back(std::move(e));
  };

  std::vector<std::int64_t> starts;
  while (static_cast<int>(starts.size()) < sessions) {
    const std::int64_t day = signup + static_cast<std::int64_t>(unit(rng) * static_cast<double>(end - signup));
    const auto weekday = ((day / kDay) + 4) % 7;  // 1970-01-01 was a Thursday; 5 and 6 are the weekend
    if (weekday < 5 && unit(rng) > 0.75) continue;
    const double hour = std::clamp(std::normal_distribution<double>(19.0, 3.5)(rng), 0.0, 23.9);
    starts.push_back(day - day % kDay + static_cast<std::int64_t>(hour * 3.6e9));
  }
  std::sort(starts.begin(), starts.end());
  for (int s = 0; s < sessions; ++s) {
    std::int64_t ts = starts[static_cast<std::size_t>(s)];
    if (ts >= until) continue;
    const int views = 1 + std::min(7, static_cast<int>(std::geometric_distribution<int>(0.4)(rng)));
    std::size_t product = pick_product(unit(rng) < 0.75 ? favourite[unit(rng) < 0.6 ? 0 : 1] : any_category(rng));
    std::vector<std::size_t> carted;
    for (int v = 0; v < views; ++v) {
      add(domain::kView, product, ts, s, 1);
      ts += std::uniform_int_distribution<std::int64_t>(20, 180)(rng) * 1'000'000;
      if (unit(rng) < cart_rate) {
        add(domain::kAddToCart, product, ts, s, 1);
        carted.push_back(product);
        ts += std::uniform_int_distribution<std::int64_t>(10, 90)(rng) * 1'000'000;
      }
      product = unit(rng) < 0.35 ? companion_of_[product]
                                 : pick_product(unit(rng) < 0.7 ? category_of_[product] : any_category(rng));
    }
    for (std::size_t item : carted) {
      const double r = unit(rng);
      if (r < buy_rate) {
        add(domain::kPurchase, item, ts, s, unit(rng) < 0.9 ? 1 : std::uniform_int_distribution<std::int64_t>(2, 3)(rng));
      } else if (r < buy_rate + 0.1) {
        add(domain::kRemoveFromCart, item, ts, s, 1);
      }
      ts += std::uniform_int_distribution<std::int64_t>(5, 30)(rng) * 1'000'000;
    }
  }
  return events;
}

}  // namespace cohort::app
