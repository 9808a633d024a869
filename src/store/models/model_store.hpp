#pragma once
// Trained analytics models, saved whole as versioned JSON documents in the relational database (SQLite or
// PostgreSQL), so that every `cohort serve` of a deployment sees the same newest model. Versions are texts that
// sort by training time; a saved version is never changed.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace cohort::store {

struct ModelInfo {
  std::string version;
  std::string trained_at;  // RFC 3339
  std::int64_t bytes = 0;
};

class ModelStore {
 public:
  virtual ~ModelStore() = default;
  virtual Result<int> Migrate() = 0;
  // kAlreadyExists when the version is taken.
  virtual Result<void> Save(const ModelInfo& info, std::string_view body) = 0;
  // The newest version, or nullopt when none was saved.
  virtual Result<std::optional<std::string>> LatestVersion() = 0;
  virtual Result<std::string> Load(std::string_view version) = 0;  // kNotFound
  virtual Result<std::vector<ModelInfo>> List(std::size_t limit) = 0;  // newest first
};

// Opens SQLite at `sqlite_path`, or PostgreSQL when `postgres_url` is not empty. Does not migrate.
Result<std::unique_ptr<ModelStore>> OpenModelStore(const std::string& sqlite_path, const std::string& postgres_url,
                                                   std::size_t max_connections);

}  // namespace cohort::store
