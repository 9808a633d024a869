#pragma once
// The relational core: Country → City → Address → User, and the product catalogue. Plain values, no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cohort::domain {

struct Country {
  std::string code;  // ISO 3166-1 alpha-2, upper case
  std::string name;
};

struct City {
  std::int64_t id = 0;
  std::string name;
  std::string country_code;
};

// An address as the API sends and shows it: the city and country by name and code.
struct Address {
  std::string street;
  std::string postal_code;
  std::string city;
  std::string country_code;
  std::string country_name;  // on input: needed only when the country is new
};

struct User {
  std::string id;  // the shop's own id
  std::string name;
  std::string email;
  std::optional<int> birth_year;
  Address address;
  std::string created_at;  // RFC 3339, UTC
};

struct UserPatch {
  std::optional<std::string> name;
  std::optional<std::string> email;
  std::optional<std::optional<int>> birth_year;  // set to a value, or cleared
  std::optional<Address> address;
};

struct Product {
  std::string id;  // the shop's SKU
  std::string name;
  std::string category;
  double price = 0;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next_after;  // pass as `after` to read the next page
};

struct UserQuery {
  std::optional<std::string> country;  // ISO code
  std::optional<std::string> city;     // city name
  std::optional<std::string> after;    // keyset: ids greater than this
  int limit = 50;
};

struct ProductQuery {
  std::optional<std::string> category;
  std::optional<std::string> after;
  int limit = 50;
};

struct CountryStats {
  std::string code;
  std::string name;
  std::int64_t users = 0;
  std::int64_t cities = 0;
};

struct CityStats {
  std::string city;
  std::string country_code;
  std::int64_t users = 0;
};

}  // namespace cohort::domain
