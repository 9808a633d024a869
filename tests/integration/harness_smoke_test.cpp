// The integration harness against the real binary: start, health, raw TCP, stop; a one-shot subcommand; a
// PostgreSQL schema that receives the tables `cohort migrate` creates.
#include <gtest/gtest.h>

#include "integration/server_harness.hpp"

namespace cohort::testing {
namespace {

TEST(HarnessSmokeTest, ServerAnswersHealthzWithRequestIdAndStopsWithStatusZero) {
  ServerProcess server;
  ASSERT_GT(server.port(), 0);

  const HttpResult health = server.Get("/healthz");
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_EQ(health.Json().value("status", ""), "ok") << health.body;
  const auto request_id = health.headers.find("x-request-id");
  ASSERT_NE(request_id, health.headers.end()) << "no X-Request-Id header in the answer to GET /healthz";
  EXPECT_FALSE(request_id->second.empty());

  EXPECT_EQ(server.Stop(), 0);
  EXPECT_FALSE(server.Running());
}

TEST(HarnessSmokeTest, RawRequestGetsAnHttpAnswer) {
  ServerProcess server;
  const std::string answer = server.SendRaw("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
}

TEST(HarnessSmokeTest, VersionSubcommandSucceeds) {
  const CommandResult version = RunCohort({"version"});
  EXPECT_EQ(version.exit_code, 0) << version.output;
  EXPECT_FALSE(version.output.empty());
}

TEST(HarnessSmokeTest, MigrateCreatesItsTablesInTheTestSchema) {
  const std::string base_url = TestPostgresUrl();
  if (base_url.empty()) return;
  const PostgresSchema schema(base_url);
  ASSERT_TRUE(schema.TableNames().empty());

  const TempDir data_dir;
  const CommandResult migrate =
      RunCohort({"migrate", "--data-dir", data_dir.path()}, {{"COHORT_POSTGRES_URL", schema.url()}});
  ASSERT_EQ(migrate.exit_code, 0) << migrate.output;
  EXPECT_FALSE(schema.TableNames().empty())
      << "cohort migrate created no table in schema " << schema.name() << " (url " << schema.url() << ")\n"
      << migrate.output;
}

}  // namespace
}  // namespace cohort::testing
