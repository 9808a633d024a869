// The relational store's contract, run on SQLite and on a real PostgreSQL server: CRUD, whole
// transactions, eager loading in one statement, keyset pagination and GROUP BY counts.

#include "store/relational/relational_store.hpp"

#include <chrono>
#include <map>

#include <fmt/format.h>

#include "integration/backend_fixture.hpp"

namespace cohort::store {
namespace {

using domain::User;

User MakeUser(std::string id, std::string email, std::string city = "Kyiv", std::string country = "UA",
              std::string country_name = "Ukraine") {
  User u;
  u.id = std::move(id);
  u.name = "Name " + u.id;
  u.email = std::move(email);
  u.birth_year = 1990;
  u.address = {"1 Main St", "01001", std::move(city), std::move(country), std::move(country_name)};
  return u;
}

// How often the stores of these tests look for another process's product writes.
constexpr std::chrono::seconds kCatalogRefresh{1};

class RelationalStoreTest : public testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (HasFatalFailure()) return;
    auto opened = OpenRelationalStore(sqlite_path(), postgres_url(), 4, kCatalogRefresh);
    ASSERT_TRUE(opened.ok()) << opened.error().internal_message;
    store_ = std::move(opened).value();
    auto migrated = store_->Migrate();
    ASSERT_TRUE(migrated.ok()) << migrated.error().internal_message;
  }
  void Create(const User& u) {
    auto r = store_->CreateUsers(std::span<const User>(&u, 1));
    ASSERT_TRUE(r.ok()) << r.error().internal_message;
  }
  std::unique_ptr<RelationalStore> store_;
};

TEST_P(RelationalStoreTest, MigrateIsIdempotent) {
  auto again = store_->Migrate();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 2);
  EXPECT_EQ(*store_->SchemaVersion(), 2);
}

TEST_P(RelationalStoreTest, CreateAndGetUserWithWholeAddress) {
  Create(MakeUser("u1", "u1@example.com"));
  auto user = store_->GetUser("u1");
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->email, "u1@example.com");
  EXPECT_EQ(user->birth_year, 1990);
  EXPECT_EQ(user->address.street, "1 Main St");
  EXPECT_EQ(user->address.city, "Kyiv");
  EXPECT_EQ(user->address.country_code, "UA");
  EXPECT_EQ(user->address.country_name, "Ukraine");
  EXPECT_EQ(user->created_at.size(), 20u) << user->created_at;  // 2026-11-25T17:00:00Z
  EXPECT_EQ(store_->GetUser("nobody").error().code, ErrorCode::kNotFound);
}

TEST_P(RelationalStoreTest, GetUserIsOneStatement) {
  Create(MakeUser("u1", "u1@example.com"));
  const auto before = store_->statement_count();
  ASSERT_TRUE(store_->GetUser("u1").ok());
  EXPECT_EQ(store_->statement_count() - before, 1u);
}

TEST_P(RelationalStoreTest, ListingCostsOneStatementWhateverTheCount) {
  std::vector<User> users;
  for (int i = 0; i < 250; ++i) users.push_back(MakeUser(fmt::format("u{:03}", i), fmt::format("u{}@x.io", i),
                                                          i % 2 ? "Kyiv" : "Lviv"));
  ASSERT_TRUE(store_->CreateUsers(users).ok());
  for (int limit : {1, 10, 100}) {
    const auto before = store_->statement_count();
    auto page = store_->ListUsers({.limit = limit});
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->items.size(), static_cast<std::size_t>(limit));
    EXPECT_EQ(store_->statement_count() - before, 1u) << "limit " << limit;
  }
}

TEST_P(RelationalStoreTest, KeysetPaginationVisitsEveryUserOnce) {
  std::vector<User> users;
  for (int i = 0; i < 57; ++i) users.push_back(MakeUser(fmt::format("u{:03}", i), fmt::format("u{}@x.io", i),
                                                         i % 3 ? "Kyiv" : "Lviv"));
  ASSERT_TRUE(store_->CreateUsers(users).ok());
  std::vector<std::string> seen;
  domain::UserQuery query{.city = "Kyiv", .limit = 10};
  for (;;) {
    auto page = store_->ListUsers(query);
    ASSERT_TRUE(page.ok());
    for (const auto& u : page->items) {
      EXPECT_EQ(u.address.city, "Kyiv");
      seen.push_back(u.id);
    }
    if (!page->next_after) break;
    query.after = page->next_after;
  }
  EXPECT_EQ(seen.size(), 38u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
}

TEST_P(RelationalStoreTest, DuplicatesAreConflicts) {
  Create(MakeUser("u1", "u1@example.com"));
  auto same_id = MakeUser("u1", "other@example.com");
  auto r1 = store_->CreateUsers(std::span<const User>(&same_id, 1));
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(r1.error().client_message.find("u1"), std::string::npos);
  auto same_email = MakeUser("u2", "U1@Example.com");  // emails are unique whatever their case
  auto r2 = store_->CreateUsers(std::span<const User>(&same_email, 1));
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(r2.error().client_message.find("email"), std::string::npos);
}

TEST_P(RelationalStoreTest, FailedCreationLeavesNoCountryCityOrAddress) {
  Create(MakeUser("u1", "taken@example.com"));
  auto countries_before = store_->ListCountries().value().size();
  // New country, city and address are inserted first, then the user insert fails on the email.
  auto clash = MakeUser("u2", "taken@example.com", "Warsaw", "PL", "Poland");
  clash.address.street = "5 New St";
  auto r = store_->CreateUsers(std::span<const User>(&clash, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(store_->ListCountries().value().size(), countries_before);
  EXPECT_EQ(store_->ListCities("PL").error().code, ErrorCode::kNotFound);
  // A batch is all or nothing too.
  std::vector<User> batch = {MakeUser("u3", "u3@example.com", "Berlin", "DE", "Germany"),
                             MakeUser("u4", "taken@example.com", "Munich", "DE", "Germany")};
  EXPECT_FALSE(store_->CreateUsers(batch).ok());
  EXPECT_EQ(store_->GetUser("u3").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->ListCities("DE").error().code, ErrorCode::kNotFound);
}

TEST_P(RelationalStoreTest, NewCountryNeedsAName) {
  auto u = MakeUser("u1", "u1@example.com", "Oslo", "NO", "");
  auto r = store_->CreateUsers(std::span<const User>(&u, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().client_message.find("country_name"), std::string::npos);
  Create(MakeUser("u2", "u2@example.com"));
  Create(MakeUser("u3", "u3@example.com", "Lviv", "UA", ""));  // known country: the name may be left out
  EXPECT_EQ(store_->GetUser("u3")->address.country_name, "Ukraine");
}

TEST_P(RelationalStoreTest, UpdateAndDelete) {
  Create(MakeUser("u1", "u1@example.com"));
  Create(MakeUser("u2", "u2@example.com"));
  domain::UserPatch patch;
  patch.name = "Renamed";
  patch.birth_year = std::optional<int>{};
  patch.address = domain::Address{"9 Rynok Sq", "79000", "Lviv", "UA", ""};
  auto updated = store_->UpdateUser("u1", patch);
  ASSERT_TRUE(updated.ok()) << updated.error().internal_message;
  EXPECT_EQ(updated->name, "Renamed");
  EXPECT_FALSE(updated->birth_year.has_value());
  EXPECT_EQ(updated->address.city, "Lviv");
  EXPECT_EQ(updated->email, "u1@example.com");

  domain::UserPatch steal;
  steal.email = "u2@example.com";
  auto clash = store_->UpdateUser("u1", steal);
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->UpdateUser("nobody", patch).error().code, ErrorCode::kNotFound);

  ASSERT_TRUE(store_->DeleteUser("u1").ok());
  EXPECT_EQ(store_->GetUser("u1").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->DeleteUser("u1").error().code, ErrorCode::kNotFound);
}

TEST_P(RelationalStoreTest, CountsPerCountryAndCity) {
  std::vector<User> users = {MakeUser("a", "a@x.io", "Kyiv"), MakeUser("b", "b@x.io", "Kyiv"),
                             MakeUser("c", "c@x.io", "Lviv"), MakeUser("d", "d@x.io", "Warsaw", "PL", "Poland")};
  ASSERT_TRUE(store_->CreateUsers(users).ok());
  auto by_country = store_->UsersByCountry();
  ASSERT_TRUE(by_country.ok());
  ASSERT_EQ(by_country->size(), 2u);
  EXPECT_EQ((*by_country)[0].code, "UA");
  EXPECT_EQ((*by_country)[0].users, 3);
  EXPECT_EQ((*by_country)[0].cities, 2);
  EXPECT_EQ((*by_country)[1].code, "PL");
  EXPECT_EQ((*by_country)[1].users, 1);
  auto by_city = store_->UsersByCity(std::string_view("UA"));
  ASSERT_TRUE(by_city.ok());
  ASSERT_EQ(by_city->size(), 2u);
  EXPECT_EQ((*by_city)[0].city, "Kyiv");
  EXPECT_EQ((*by_city)[0].users, 2);
  EXPECT_EQ(store_->UsersByCity(std::nullopt)->size(), 3u);
}

TEST_P(RelationalStoreTest, ProductsUpsertAndFilter) {
  std::vector<domain::Product> products = {{"p1", "Mug", "kitchen", 4.5}, {"p2", "Novel", "books", 12},
                                           {"p3", "Pan", "kitchen", 30.25}};
  ASSERT_TRUE(store_->UpsertProducts(products).ok());
  products[0].price = 5.75;
  ASSERT_TRUE(store_->UpsertProducts(std::span(products).first(1)).ok());
  EXPECT_DOUBLE_EQ(store_->GetProduct("p1")->price, 5.75);
  auto kitchen = store_->ListProducts({.category = "kitchen"});
  ASSERT_TRUE(kitchen.ok());
  ASSERT_EQ(kitchen->items.size(), 2u);
  EXPECT_EQ(kitchen->items[1].id, "p3");
  EXPECT_DOUBLE_EQ(kitchen->items[1].price, 30.25);
  EXPECT_EQ(store_->GetProduct("p9").error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(store_->IsEmpty().value());
}

// A product list, by id, for comparing GetProducts' answers (which come in no particular order).
std::map<std::string, double> PricesOf(const Result<std::vector<domain::Product>>& products) {
  std::map<std::string, double> out;
  if (!products) {
    ADD_FAILURE() << products.error().internal_message;
    return out;
  }
  for (const auto& p : *products) {
    EXPECT_TRUE(out.emplace(p.id, p.price).second) << p.id << " twice";
  }
  return out;
}

TEST_P(RelationalStoreTest, GetProductsSeesThisStoresWritesAtOnceAndNeedsNoStatementMeanwhile) {
  ASSERT_TRUE(store_->UpsertProducts(std::vector<domain::Product>{{"p1", "Mug", "kitchen", 4.5}}).ok());
  const std::vector<std::string> ids = {"p1", "p2", "p1", "p9"};
  EXPECT_EQ(PricesOf(store_->GetProducts(ids)), (std::map<std::string, double>{{"p1", 4.5}}));
  ASSERT_TRUE(store_->UpsertProducts(std::vector<domain::Product>{{"p1", "Mug", "kitchen", 5.75},
                                                                  {"p2", "Novel", "books", 12}})
                  .ok());
  EXPECT_EQ(PricesOf(store_->GetProducts(ids)), (std::map<std::string, double>{{"p1", 5.75}, {"p2", 12}}));
  auto p2 = store_->GetProducts(std::vector<std::string>{"p2"});
  ASSERT_TRUE(p2.ok());
  ASSERT_EQ(p2->size(), 1u);
  EXPECT_EQ((*p2)[0].name, "Novel");
  EXPECT_EQ((*p2)[0].category, "books");
  // kCatalogRefresh has not passed: the catalogue held is the answer.
  const auto before = store_->statement_count();
  EXPECT_EQ(PricesOf(store_->GetProducts(ids)).size(), 2u);
  EXPECT_EQ(store_->statement_count() - before, 0u);
}

TEST_P(RelationalStoreTest, GetProductsSeesAnotherStoresWritesAtItsNextLook) {
  // `reader` looks at the catalogue's version on every call; `writer` is another process's store.
  auto reader = OpenRelationalStore(sqlite_path(), postgres_url(), 2, std::chrono::milliseconds(0));
  auto writer = OpenRelationalStore(sqlite_path(), postgres_url(), 2, kCatalogRefresh);
  ASSERT_TRUE(reader.ok() && writer.ok());
  ASSERT_TRUE((*writer)->UpsertProducts(std::vector<domain::Product>{{"p1", "Mug", "kitchen", 4.5}}).ok());
  const std::vector<std::string> ids = {"p1", "p2"};
  EXPECT_EQ(PricesOf((*reader)->GetProducts(ids)), (std::map<std::string, double>{{"p1", 4.5}}));
  auto before = (*reader)->statement_count();
  EXPECT_EQ(PricesOf((*reader)->GetProducts(ids)).size(), 1u);
  EXPECT_EQ((*reader)->statement_count() - before, 1u) << "the version looked at, the catalogue kept";
  ASSERT_TRUE((*writer)->UpsertProducts(std::vector<domain::Product>{{"p1", "Mug", "kitchen", 6},
                                                                     {"p2", "Novel", "books", 12}})
                  .ok());
  before = (*reader)->statement_count();
  EXPECT_EQ(PricesOf((*reader)->GetProducts(ids)), (std::map<std::string, double>{{"p1", 6}, {"p2", 12}}));
  EXPECT_EQ((*reader)->statement_count() - before, 2u) << "the version looked at, the catalogue read again";
}

COHORT_INSTANTIATE_FOR_BACKENDS(RelationalStoreTest);

}  // namespace
}  // namespace cohort::store
