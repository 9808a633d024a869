#include "store/models/model_store.hpp"

#include <fmt/format.h>

#include "store/sql/database.hpp"
#include "store/sql/migrations.hpp"

namespace cohort::store {
namespace {

using sql::Value;
using Params = std::vector<Value>;

// The same text for both dialects: TEXT holds JSON of any size in both.
constexpr sql::Migration kMigrations[] = {
    {1, "analytics models", R"sql(
CREATE TABLE models (
  version TEXT PRIMARY KEY,
  trained_at TEXT NOT NULL,
  bytes BIGINT NOT NULL,
  body TEXT NOT NULL
);
)sql"},
};

class SqlModelStore final : public ModelStore {
 public:
  explicit SqlModelStore(std::unique_ptr<sql::Database> db) : db_(std::move(db)) {}

  Result<int> Migrate() override { return sql::ApplyMigrations(*db_, "models", kMigrations); }

  Result<void> Save(const ModelInfo& info, std::string_view body) override {
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    auto inserted = lease->Execute("INSERT INTO models (version, trained_at, bytes, body) VALUES ($1, $2, $3, $4)",
                                   Params{info.version, info.trained_at, static_cast<std::int64_t>(body.size()),
                                          std::string(body)});
    if (!inserted) {
      if (inserted.error().code == ErrorCode::kAlreadyExists)
        return Error::AlreadyExists(fmt::format("model version '{}' exists already", info.version));
      return std::move(inserted).error();
    }
    return {};
  }

  Result<std::optional<std::string>> LatestVersion() override {
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    COHORT_ASSIGN_OR_RETURN(auto rows, lease->Execute("SELECT MAX(version) FROM models"));
    if (rows.empty() || rows.IsNull(0, 0)) return std::optional<std::string>();
    return std::optional<std::string>(rows.Text(0, 0));
  }

  Result<std::string> Load(std::string_view version) override {
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    COHORT_ASSIGN_OR_RETURN(auto rows,
                            lease->Execute("SELECT body FROM models WHERE version = $1", Params{std::string(version)}));
    if (rows.empty()) return Error::NotFound(fmt::format("no model version '{}'", version));
    return rows.Text(0, 0);
  }

  Result<std::vector<ModelInfo>> List(std::size_t limit) override {
    COHORT_ASSIGN_OR_RETURN(sql::Lease lease, db_->Acquire());
    COHORT_ASSIGN_OR_RETURN(auto rows, lease->Execute("SELECT version, trained_at, bytes FROM models "
                                                      "ORDER BY version DESC LIMIT $1",
                                                      Params{static_cast<std::int64_t>(limit)}));
    std::vector<ModelInfo> out;
    for (std::size_t r = 0; r < rows.size(); ++r) out.push_back({rows.Text(r, 0), rows.Text(r, 1), rows.Int(r, 2)});
    return out;
  }

 private:
  std::unique_ptr<sql::Database> db_;
};

}  // namespace

Result<std::unique_ptr<ModelStore>> OpenModelStore(const std::string& sqlite_path, const std::string& postgres_url,
                                                   std::size_t max_connections) {
  auto db = sql::OpenDatabase(sqlite_path, postgres_url, max_connections);
  if (!db) return std::move(db).error();
  return std::unique_ptr<ModelStore>(std::make_unique<SqlModelStore>(std::move(db).value()));
}

}  // namespace cohort::store
