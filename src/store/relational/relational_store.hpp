#pragma once
// The relational core (countries, cities, addresses, users, products) behind one interface. Every method
// is one transaction or one statement; a failed write leaves nothing behind.

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "domain/entities.hpp"

namespace cohort::store {

class RelationalStore {
 public:
  virtual ~RelationalStore() = default;

  virtual std::string_view backend() const = 0;  // "sqlite" or "postgres"
  // Applies missing migrations; returns the schema version afterwards.
  virtual Result<int> Migrate() = 0;
  virtual Result<int> SchemaVersion() = 0;
  virtual Result<void> Ping() = 0;

  // Creates the users and, where missing, their countries, cities and addresses, all in one transaction:
  // either every user is created or none. kAlreadyExists names the id or email that clashed.
  virtual Result<void> CreateUsers(std::span<const domain::User> users) = 0;
  virtual Result<domain::User> GetUser(std::string_view id) = 0;  // one statement
  virtual Result<domain::User> UpdateUser(std::string_view id, const domain::UserPatch& patch) = 0;
  virtual Result<void> DeleteUser(std::string_view id) = 0;
  virtual Result<domain::Page<domain::User>> ListUsers(const domain::UserQuery& query) = 0;  // one statement
  // Which of the (distinct) `ids` are users; one statement per 512 ids.
  virtual Result<std::vector<std::string>> ExistingUserIds(std::span<const std::string> ids) = 0;

  virtual Result<std::vector<domain::Country>> ListCountries() = 0;
  virtual Result<std::vector<domain::City>> ListCities(std::string_view country_code) = 0;

  virtual Result<void> UpsertProducts(std::span<const domain::Product> products) = 0;
  virtual Result<domain::Product> GetProduct(std::string_view id) = 0;
  // The products among `ids` that exist, each once, in no particular order. Served from the catalogue held in
  // memory (every product): a write of products through this store is seen at once, one by another process
  // within the store's catalog_refresh (OpenRelationalStore).
  virtual Result<std::vector<domain::Product>> GetProducts(std::span<const std::string> ids) = 0;
  virtual Result<domain::Page<domain::Product>> ListProducts(const domain::ProductQuery& query) = 0;

  virtual Result<std::vector<domain::CountryStats>> UsersByCountry() = 0;
  virtual Result<std::vector<domain::CityStats>> UsersByCity(std::optional<std::string_view> country_code) = 0;

  // True when the store holds no users and no products (the demo fills only an empty store).
  virtual Result<bool> IsEmpty() = 0;
  // Statements sent to the database so far, for tests that prove a request's statement count.
  virtual std::uint64_t statement_count() const = 0;
};

// Opens SQLite at `sqlite_path`, or PostgreSQL when `postgres_url` is not empty. Does not migrate.
// `catalog_refresh`: how often GetProducts looks whether another process changed the products (one statement;
// store.catalog_refresh_ms in the configuration).
Result<std::unique_ptr<RelationalStore>> OpenRelationalStore(const std::string& sqlite_path,
                                                             const std::string& postgres_url,
                                                             std::size_t max_connections,
                                                             std::chrono::milliseconds catalog_refresh);

}  // namespace cohort::store
