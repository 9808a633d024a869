// RelationalStore over the SQL layer: one implementation for SQLite and PostgreSQL. The statements are
// the same text for both; only the timestamp rendering differs (see TimestampOut).

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <mutex>

#include <fmt/format.h>

#include "common/string_map.hpp"
#include "common/time.hpp"
#include "domain/messages.hpp"
#include "store/messaging/messaging_schema.hpp"
#include "store/messaging/outbox.hpp"
#include "store/relational/relational_store.hpp"
#include "store/relational/schema.hpp"
#include "store/sql/database.hpp"

namespace cohort::store {
namespace {

using domain::User;
using sql::Connection;
using sql::Rows;
using sql::Value;
using Params = std::vector<Value>;

std::string TimestampOut(sql::Dialect dialect, std::string_view column) {
  if (dialect == sql::Dialect::kSqlite) return std::string(column);
  return fmt::format("to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')", column);
}

// "WHERE a = $1 AND b > $2", with its parameters, built from the filters that are present.
class Filter {
 public:
  void Add(std::string_view condition, Value value) {
    params_.push_back(std::move(value));
    where_ += fmt::format("{}{}${}", where_.empty() ? "WHERE " : " AND ", condition, params_.size());
  }
  // The clause ordered by `key`, for a keyset page: `params()` then ends with the page size plus one.
  std::string PageClause(std::string_view key, int limit) {
    params_.push_back(std::int64_t{limit + 1});
    return fmt::format("{} ORDER BY {} LIMIT ${}", where_, key, params_.size());
  }
  const Params& params() const { return params_; }

 private:
  std::string where_;
  Params params_;
};

// A keyset page from rows fetched with LIMIT limit + 1: the extra row only says that there is a next page.
template <typename T, typename FromRow>
domain::Page<T> KeysetPage(const Rows& rows, int limit, FromRow from_row) {
  domain::Page<T> page;
  const auto n = std::min(rows.size(), static_cast<std::size_t>(limit));
  for (std::size_t r = 0; r < n; ++r) page.items.push_back(from_row(rows, r));
  if (rows.size() > n) page.next_after = page.items.back().id;
  return page;
}

Value OptionalInt(const std::optional<int>& v) {
  return v ? Value{std::int64_t{*v}} : Value{nullptr};
}

// A client-facing message for a unique violation on users.
Error UserConflict(const Error& error, const User& user) {
  if (error.internal_message.find("users_email_key") != std::string::npos)  // the index name, in both backends
    return {ErrorCode::kAlreadyExists, fmt::format("a user with email '{}' already exists", user.email),
            error.internal_message};
  return {ErrorCode::kAlreadyExists, fmt::format("user '{}' already exists", user.id), error.internal_message};
}

// Every product, for GetProducts (the main request's product details): the catalogue is small and read on
// every computed answer, where a statement for ten ids cost more than reading the user.
struct Catalog {
  std::int64_t version = 0;      // of catalog_version when read
  std::uint64_t generation = 0;  // of this store's own writes when read
  StringMap<domain::Product> by_id;
};

class SqlRelationalStore final : public RelationalStore {
 public:
  SqlRelationalStore(std::unique_ptr<sql::Database> db, std::chrono::milliseconds catalog_refresh)
      : db_(std::move(db)), catalog_refresh_(catalog_refresh) {
    user_select_ = fmt::format(
        "SELECT u.id, u.name, u.email, u.birth_year, {}, a.street, a.postal_code, c.name, co.code, co.name "
        "FROM users u JOIN addresses a ON a.id = u.address_id JOIN cities c ON c.id = a.city_id "
        "JOIN countries co ON co.code = c.country_code ",
        TimestampOut(db_->dialect(), "u.created_at"));
    user_by_id_ = user_select_ + "WHERE u.id = $1";
  }

  std::string_view backend() const override {
    return db_->dialect() == sql::Dialect::kSqlite ? "sqlite" : "postgres";
  }

  Result<int> Migrate() override {
    COHORT_TRY(sql::ApplyMigrations(*db_, kMessagingComponent, MessagingMigrations(db_->dialect())));
    return sql::ApplyMigrations(*db_, kRelationalComponent, RelationalMigrations(db_->dialect()));
  }

  Result<int> SchemaVersion() override { return sql::CurrentVersion(*db_, kRelationalComponent); }

  Result<void> Ping() override {
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    COHORT_TRY(lease->Execute("SELECT 1"));
    return {};
  }

  Result<void> CreateUsers(std::span<const User> users) override {
    const std::string now = FormatRfc3339(std::chrono::floor<std::chrono::seconds>(Clock::now()));
    return db_->InTransaction<void>([&](Connection& conn) -> Result<void> {
      for (const User& user : users) {
        COHORT_ASSIGN_OR_RETURN(std::int64_t address_id, ResolveAddress(conn, user.address));
        auto inserted = conn.Execute(
            "INSERT INTO users (id, name, email, birth_year, address_id, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            Params{user.id, user.name, user.email, OptionalInt(user.birth_year), address_id,
                   user.created_at.empty() ? now : user.created_at});
        if (!inserted) {
          if (inserted.error().code == ErrorCode::kAlreadyExists) return UserConflict(inserted.error(), user);
          return std::move(inserted).error();
        }
      }
      // The user.created messages commit with the users (transactional outbox).
      std::vector<domain::MessageDraft> messages;
      messages.reserve(users.size());
      for (const User& user : users) messages.push_back(domain::UserCreatedMessage(user));
      return WriteOutbox(conn, messages);
    });
  }

  Result<User> GetUser(std::string_view id) override {
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    return LoadUser(*lease, id);
  }

  Result<User> UpdateUser(std::string_view id, const domain::UserPatch& patch) override {
    return db_->InTransaction<User>([&](Connection& conn) -> Result<User> {
      std::string sets;
      Params params{std::string(id)};
      auto add = [&](std::string_view column, Value value) {
        params.push_back(std::move(value));
        sets += fmt::format("{}{} = ${}", sets.empty() ? "" : ", ", column, params.size());
      };
      if (patch.address) {
        COHORT_ASSIGN_OR_RETURN(std::int64_t address_id, ResolveAddress(conn, *patch.address));
        add("address_id", address_id);
      }
      if (patch.name) add("name", *patch.name);
      if (patch.email) add("email", *patch.email);
      if (patch.birth_year) add("birth_year", OptionalInt(*patch.birth_year));
      if (!sets.empty()) {
        auto updated = conn.Execute(fmt::format("UPDATE users SET {} WHERE id = $1 RETURNING id", sets), params);
        if (!updated) {
          User probe;
          probe.id = std::string(id);
          probe.email = patch.email.value_or("");
          if (updated.error().code == ErrorCode::kAlreadyExists) return UserConflict(updated.error(), probe);
          return std::move(updated).error();
        }
        if (updated->empty()) return Error::NotFound(fmt::format("user '{}' not found", id));
      }
      return LoadUser(conn, id);
    });
  }

  Result<void> DeleteUser(std::string_view id) override {
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    COHORT_ASSIGN_OR_RETURN(Rows rows,
                            lease->Execute("DELETE FROM users WHERE id = $1 RETURNING id", Params{std::string(id)}));
    if (rows.empty()) return Error::NotFound(fmt::format("user '{}' not found", id));
    return {};
  }

  Result<domain::Page<User>> ListUsers(const domain::UserQuery& query) override {
    Filter filter;
    if (query.country) filter.Add("co.code = ", *query.country);
    if (query.city) filter.Add("c.name = ", *query.city);
    if (query.after) filter.Add("u.id > ", *query.after);
    const std::string sql = user_select_ + filter.PageClause("u.id", query.limit);
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    COHORT_ASSIGN_OR_RETURN(Rows rows, lease->Execute(sql, filter.params()));
    return KeysetPage<User>(rows, query.limit, UserFromRow);
  }

  Result<std::vector<std::string>> ExistingUserIds(std::span<const std::string> ids) override {
    std::vector<std::string> found;
    COHORT_TRY(SelectByIds("SELECT id FROM users WHERE id IN ({})", ids, [&](const Rows& rows) {
      for (std::size_t r = 0; r < rows.size(); ++r) found.push_back(rows.Text(r, 0));
    }));
    return found;
  }

  Result<std::vector<domain::Product>> GetProducts(std::span<const std::string> ids) override {
    COHORT_ASSIGN_OR_RETURN(const std::shared_ptr<const Catalog> catalog, CurrentCatalog());
    std::vector<domain::Product> found;
    found.reserve(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const auto it = catalog->by_id.find(ids[i]);
      if (it == catalog->by_id.end() || std::find(ids.begin(), ids.begin() + i, ids[i]) != ids.begin() + i)
        continue;  // absent, or asked for earlier in the list
      found.push_back(it->second);
    }
    return found;
  }

  Result<std::vector<domain::Country>> ListCountries() override {
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    COHORT_ASSIGN_OR_RETURN(Rows rows, lease->Execute("SELECT code, name FROM countries ORDER BY code"));
    std::vector<domain::Country> out;
    for (std::size_t r = 0; r < rows.size(); ++r) out.push_back({rows.Text(r, 0), rows.Text(r, 1)});
    return out;
  }

  Result<std::vector<domain::City>> ListCities(std::string_view country_code) override {
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    COHORT_ASSIGN_OR_RETURN(
        Rows rows, lease->Execute("SELECT c.id, c.name, co.code FROM countries co "
                                  "LEFT JOIN cities c ON c.country_code = co.code WHERE co.code = $1 ORDER BY c.name",
                                  Params{std::string(country_code)}));
    if (rows.empty()) return Error::NotFound(fmt::format("country '{}' not found", country_code));
    std::vector<domain::City> out;
    for (std::size_t r = 0; r < rows.size(); ++r)
      if (!rows.IsNull(r, 0)) out.push_back({rows.Int(r, 0), rows.Text(r, 1), rows.Text(r, 2)});
    return out;
  }

  Result<void> UpsertProducts(std::span<const domain::Product> products) override {
    auto upserted = db_->InTransaction<void>([&](Connection& conn) -> Result<void> {
      for (const auto& p : products) {
        COHORT_TRY(conn.Execute(
            "INSERT INTO products (id, name, category, price) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE "
            "SET name = excluded.name, category = excluded.category, price = excluded.price",
            Params{p.id, p.name, p.category, p.price}));
      }
      COHORT_TRY(conn.Execute("UPDATE catalog_version SET version = version + 1 WHERE id = 1"));
      return {};
    });
    // Counted whether or not it committed: a failed write only costs the next GetProducts a reload.
    catalog_generation_.fetch_add(1, std::memory_order_release);
    return upserted;
  }

  Result<domain::Product> GetProduct(std::string_view id) override {
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    COHORT_ASSIGN_OR_RETURN(Rows rows, lease->Execute("SELECT id, name, category, price FROM products WHERE id = $1",
                                                      Params{std::string(id)}));
    if (rows.empty()) return Error::NotFound(fmt::format("product '{}' not found", id));
    return ProductFromRow(rows, 0);
  }

  Result<domain::Page<domain::Product>> ListProducts(const domain::ProductQuery& query) override {
    Filter filter;
    if (query.category) filter.Add("category = ", *query.category);
    if (query.after) filter.Add("id > ", *query.after);
    const std::string sql = "SELECT id, name, category, price FROM products " + filter.PageClause("id", query.limit);
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    COHORT_ASSIGN_OR_RETURN(Rows rows, lease->Execute(sql, filter.params()));
    return KeysetPage<domain::Product>(rows, query.limit, ProductFromRow);
  }

  Result<std::vector<domain::CountryStats>> UsersByCountry() override {
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    COHORT_ASSIGN_OR_RETURN(
        Rows rows,
        lease->Execute("SELECT co.code, co.name, COUNT(u.id) AS users, COUNT(DISTINCT c.id) AS cities "
                       "FROM countries co LEFT JOIN cities c ON c.country_code = co.code "
                       "LEFT JOIN addresses a ON a.city_id = c.id LEFT JOIN users u ON u.address_id = a.id "
                       "GROUP BY co.code, co.name ORDER BY users DESC, co.code"));
    std::vector<domain::CountryStats> out;
    for (std::size_t r = 0; r < rows.size(); ++r)
      out.push_back({rows.Text(r, 0), rows.Text(r, 1), rows.Int(r, 2), rows.Int(r, 3)});
    return out;
  }

  Result<std::vector<domain::CityStats>> UsersByCity(std::optional<std::string_view> country_code) override {
    Params params;
    std::string where;
    if (country_code) {
      params.emplace_back(std::string(*country_code));
      where = "WHERE c.country_code = $1 ";
    }
    const std::string sql = fmt::format(
        "SELECT c.name, c.country_code, COUNT(u.id) AS users FROM cities c "
        "LEFT JOIN addresses a ON a.city_id = c.id LEFT JOIN users u ON u.address_id = a.id {}"
        "GROUP BY c.id, c.name, c.country_code ORDER BY users DESC, c.name",
        where);
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    COHORT_ASSIGN_OR_RETURN(Rows rows, lease->Execute(sql, params));
    std::vector<domain::CityStats> out;
    for (std::size_t r = 0; r < rows.size(); ++r) out.push_back({rows.Text(r, 0), rows.Text(r, 1), rows.Int(r, 2)});
    return out;
  }

  Result<bool> IsEmpty() override {
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    COHORT_ASSIGN_OR_RETURN(
        Rows rows, lease->Execute("SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM products)"));
    return rows.Int(0, 0) == 0;
  }

  std::uint64_t statement_count() const override { return db_->statement_count(); }

 private:
  // Finds or creates the country, city and address; returns the address id. Three statements at most.
  Result<std::int64_t> ResolveAddress(Connection& conn, const domain::Address& address) {
    if (address.country_name.empty()) {
      COHORT_ASSIGN_OR_RETURN(Rows known, conn.Execute("SELECT 1 FROM countries WHERE code = $1",
                                                       Params{address.country_code}));
      if (known.empty())
        return Error::InvalidArgument(fmt::format(
            "field 'address.country_name' is required: country '{}' is not known yet", address.country_code));
    } else {
      COHORT_TRY(conn.Execute("INSERT INTO countries (code, name) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING",
                              Params{address.country_code, address.country_name}));
    }
    COHORT_ASSIGN_OR_RETURN(
        Rows city, conn.Execute("INSERT INTO cities (name, country_code) VALUES ($1, $2) "
                                "ON CONFLICT (country_code, name) DO UPDATE SET name = excluded.name RETURNING id",
                                Params{address.city, address.country_code}));
    COHORT_ASSIGN_OR_RETURN(
        Rows addr,
        conn.Execute("INSERT INTO addresses (street, postal_code, city_id) VALUES ($1, $2, $3) "
                     "ON CONFLICT (city_id, street, postal_code) DO UPDATE SET street = excluded.street RETURNING id",
                     Params{address.street, address.postal_code, city.Int(0, 0)}));
    return addr.Int(0, 0);
  }

  Result<User> LoadUser(Connection& conn, std::string_view id) {
    COHORT_ASSIGN_OR_RETURN(Rows rows, conn.Execute(user_by_id_, Params{std::string(id)}));
    if (rows.empty()) return Error::NotFound(fmt::format("user '{}' not found", id));
    return UserFromRow(rows, 0);
  }

  static User UserFromRow(const Rows& rows, std::size_t r) {
    User u;
    u.id = rows.Text(r, 0);
    u.name = rows.Text(r, 1);
    u.email = rows.Text(r, 2);
    if (!rows.IsNull(r, 3)) u.birth_year = static_cast<int>(rows.Int(r, 3));
    u.created_at = rows.Text(r, 4);
    u.address = {rows.Text(r, 5), rows.Text(r, 6), rows.Text(r, 7), rows.Text(r, 8), rows.Text(r, 9)};
    return u;
  }

  // Runs `sql_template` (with "{}" where the IN list goes) over `ids` in chunks of 512 and hands each result to
  // `take`. Lists are padded to a power of two (repeating the last id) so that few statement shapes get prepared.
  template <typename Take>
  Result<void> SelectByIds(std::string_view sql_template, std::span<const std::string> ids, Take&& take) {
    constexpr std::size_t kChunk = 512;
    if (ids.empty()) return {};
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    for (std::size_t start = 0; start < ids.size(); start += kChunk) {
      const auto chunk = ids.subspan(start, std::min(kChunk, ids.size() - start));
      Params params;
      const std::size_t padded = std::bit_ceil(chunk.size());
      for (std::size_t i = 0; i < padded; ++i) params.emplace_back(chunk[std::min(i, chunk.size() - 1)]);
      COHORT_ASSIGN_OR_RETURN(
          Rows rows,
          lease->Execute(fmt::format(fmt::runtime(sql_template), sql::PlaceholderList(1, padded)), params));
      take(rows);
    }
    return {};
  }

  static domain::Product ProductFromRow(const Rows& rows, std::size_t r) {
    return {rows.Text(r, 0), rows.Text(r, 1), rows.Text(r, 2), rows.Double(r, 3)};
  }

  // The catalogue as of now: the one held, unless this store wrote products since it was read, or another
  // process may have (catalog_version moved; looked at once per catalog_refresh_).
  Result<std::shared_ptr<const Catalog>> CurrentCatalog() {
    const std::uint64_t generation = catalog_generation_.load(std::memory_order_acquire);
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(catalog_mutex_);
    if (catalog_ && catalog_->generation == generation && now < catalog_checked_ + catalog_refresh_) return catalog_;
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    if (catalog_ && catalog_->generation == generation) {
      COHORT_ASSIGN_OR_RETURN(Rows version, lease->Execute("SELECT version FROM catalog_version WHERE id = 1"));
      if (!version.empty() && version.Int(0, 0) == catalog_->version) {
        catalog_checked_ = now;
        return catalog_;
      }
    }
    // The version and the products in one statement, so that they are of one snapshot.
    COHORT_ASSIGN_OR_RETURN(Rows rows, lease->Execute("SELECT v.version, p.id, p.name, p.category, p.price "
                                                      "FROM catalog_version v LEFT JOIN products p ON true "
                                                      "WHERE v.id = 1"));
    if (rows.empty()) return Error::Internal("catalog_version has no row: the schema is not migrated");
    auto catalog = std::make_shared<Catalog>();
    catalog->version = rows.Int(0, 0);
    catalog->generation = generation;
    catalog->by_id.reserve(rows.size());
    for (std::size_t r = 0; r < rows.size(); ++r) {
      if (rows.IsNull(r, 1)) continue;  // no products
      domain::Product p{rows.TakeText(r, 1), rows.TakeText(r, 2), rows.TakeText(r, 3), rows.Double(r, 4)};
      std::string id = p.id;
      catalog->by_id.emplace(std::move(id), std::move(p));
    }
    catalog_ = std::move(catalog);
    catalog_checked_ = now;
    return catalog_;
  }

  std::unique_ptr<sql::Database> db_;
  std::string user_select_;
  std::string user_by_id_;  // user_select_ of one user: built once, as the main request reads one per answer
  const std::chrono::milliseconds catalog_refresh_;
  std::atomic<std::uint64_t> catalog_generation_{0};
  std::mutex catalog_mutex_;
  std::shared_ptr<const Catalog> catalog_;
  std::chrono::steady_clock::time_point catalog_checked_;
};

}  // namespace

Result<std::unique_ptr<RelationalStore>> OpenRelationalStore(const std::string& sqlite_path,
                                                             const std::string& postgres_url,
                                                             std::size_t max_connections,
                                                             std::chrono::milliseconds catalog_refresh) {
  auto db = sql::OpenDatabase(sqlite_path, postgres_url, max_connections);
  if (!db) return std::move(db).error();
  return std::unique_ptr<RelationalStore>(
      std::make_unique<SqlRelationalStore>(std::move(db).value(), catalog_refresh));
}

}  // namespace cohort::store
