#include "app/demo_data.hpp"

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

}  // namespace cohort::app
