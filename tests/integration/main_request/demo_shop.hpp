#pragma once
// The demo shop that the tests of the main request (GET /api/users/{id}/personalized-recommendations) serve:
// demo data and a trained model, a wait until the server has relayed and consumed what the demo left in the
// outbox, the checks every answer passes, and the count of recommendation.served messages consumed.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "integration/queue/messaging_process.hpp"
#include "integration/queue/queue_backends.hpp"
#include "integration/server_harness.hpp"
#include "store/sql/database.hpp"

namespace cohort::testing {

inline std::string RecommendationsPath(std::string_view user, std::string_view query = {}) {
  return fmt::format("/api/users/{}/personalized-recommendations{}", user, query);
}

// Loads the demo data (150 users, 40 products, seed 9) into the stores that `env` names, with `data_dir` as
// the data folder, and trains a model on it. Fails the test fatally when either command fails.
inline void LoadDemoShop(const std::string& data_dir, const NameValues& env) {
  const auto demo =
      RunCohort({"demo", "--data-dir", data_dir, "--users", "150", "--products", "40", "--seed", "9"}, env);
  ASSERT_EQ(demo.exit_code, 0) << demo.output;
  const auto trained = RunCohort({"train", "--data-dir", data_dir}, env);
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
}

// The demo's event.ingested messages invalidate users as the consumers take them: true once the outbox is
// empty and no queue holds a message, so that only a test's own requests and events decide what is cached.
// RabbitMQ cannot tell unacknowledged messages (in_flight -1): there its ready count decides.
inline bool WaitUntilQuiet(ServerProcess& server) {
  return Eventually([&] {
    const json q = server.Get("/api/admin/queues").Json();
    if (q["available"] != true || q["outbox"]["pending"] != 0) return false;
    for (const auto& entry : q["queues"])
      if (entry["ready"] != 0 || entry["in_flight"] > 0) return false;
    return true;
  });
}

// What every answer holds, degraded or not: the documented fields, the user asked for, and products.
inline void ExpectRecommendationAnswer(const json& answer, std::string_view user) {
  for (const char* key : {"user", "segment", "offer", "churn_risk", "p_alive", "ltv", "recommendations",
                          "model_version", "generated_at", "degraded"})
    EXPECT_TRUE(answer.contains(key)) << key << " in " << answer;
  EXPECT_EQ(answer["user"]["id"], user) << answer;
  EXPECT_FALSE(answer["user"]["city"].get<std::string>().empty()) << answer;
  EXPECT_FALSE(answer["segment"].get<std::string>().empty()) << answer;
  EXPECT_FALSE(answer["model_version"].is_null()) << answer;
  ASSERT_FALSE(answer["recommendations"].empty()) << answer;
  for (const auto& r : answer["recommendations"])
    for (const char* key : {"product_id", "name", "category", "price", "score", "reason"})
      EXPECT_TRUE(r.contains(key)) << key << " in " << r;
}

// One integer from the relational database of a server: PostgreSQL at `postgres_url` when it is set, else the
// SQLite file of `data_dir`.
inline std::int64_t QueryRelational(const std::string& postgres_url, const std::string& data_dir,
                                    const std::string& sql) {
  if (postgres_url.empty()) return QueryInt(data_dir, sql);
  auto db = store::sql::OpenPostgres(postgres_url, 1);
  if (!db) throw std::runtime_error(db.error().internal_message);
  auto lease = (*db)->Acquire();
  if (!lease) throw std::runtime_error(lease.error().internal_message);
  auto rows = (*lease)->Execute(sql);
  if (!rows) throw std::runtime_error(rows.error().internal_message);
  return rows->Int(0, 0);
}

// The recommendation.served messages that the impressions consumer has processed (each once: it records
// them).
inline std::int64_t ServedMessagesConsumed(const std::string& postgres_url, const std::string& data_dir) {
  return QueryRelational(postgres_url, data_dir,
                         "SELECT COUNT(*) FROM processed_messages WHERE consumer = 'impressions'");
}

}  // namespace cohort::testing
