// Configuration: precedence file < environment < flags, and refusal of unknown keys and bad values.

#include "app/config.hpp"

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

namespace cohort::app {
namespace {

std::string WriteToml(const std::string& text) {
  // One file per test: ctest runs the tests of this file in parallel processes.
  std::string path = ::testing::TempDir() + "/cohort_config_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml";
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, DefaultsAreTheEmbeddedMode) {
  auto config = LoadConfig(std::nullopt, {}, {});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->data_dir, "./data");
  EXPECT_EQ(config->SqlitePath(), "./data/cohort.db");
  EXPECT_EQ(config->host, "127.0.0.1");
  EXPECT_EQ(config->port, 8080);
  EXPECT_TRUE(config->postgres_url.empty());
  EXPECT_EQ(config->body_limit, 4u * 1024 * 1024);
}

TEST(ConfigTest, FileThenEnvironmentThenFlags) {
  const auto file = WriteToml("data_dir = \"/from/file\"\n[server]\nport = 7000\nhost = \"0.0.0.0\"\n");
  auto config = LoadConfig(file, {{"COHORT_PORT", "7100"}}, {{"server.host", "127.0.0.2"}});
  ASSERT_TRUE(config.ok()) << config.error().client_message;
  EXPECT_EQ(config->data_dir, "/from/file");
  EXPECT_EQ(config->port, 7100);
  EXPECT_EQ(config->host, "127.0.0.2");
}

TEST(ConfigTest, ConfigFileFromEnvironment) {
  const auto file = WriteToml("[server]\nport = 7001\n");
  auto config = LoadConfig(std::nullopt, {{"COHORT_CONFIG", file}}, {});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->port, 7001);
}

TEST(ConfigTest, UnknownFileKeyIsNamed) {
  const auto file = WriteToml("[server]\nprot = 7000\n");
  auto config = LoadConfig(file, {}, {});
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().client_message.find("server.prot"), std::string::npos) << config.error().client_message;
}

TEST(ConfigTest, UnknownEnvironmentVariableIsNamed) {
  auto config = LoadConfig(std::nullopt, {{"COHORT_PROT", "1"}}, {});
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().client_message.find("COHORT_PROT"), std::string::npos);
}

TEST(ConfigTest, TestVariablesAndOtherPrefixesAreIgnored) {
  auto config = LoadConfig(std::nullopt, {{"COHORT_TEST_POSTGRES_URL", "x"}, {"HOME", "/root"}}, {});
  EXPECT_TRUE(config.ok());
}

TEST(ConfigTest, BadValuesNameTheKey) {
  for (const auto& [env, value] : std::vector<std::pair<std::string, std::string>>{
           {"COHORT_PORT", "http"}, {"COHORT_PORT", "70000"}, {"COHORT_PORT", "-1"}, {"COHORT_THREADS", "1.5"},
           {"COHORT_LOG_LEVEL", "loud"}, {"COHORT_API_KEYS", "short:read"},
           {"COHORT_API_KEYS", "0123456789abcdef:root"}, {"COHORT_API_KEYS", "0123456789abcdef"}}) {
    auto config = LoadConfig(std::nullopt, {{env, value}}, {});
    ASSERT_FALSE(config.ok()) << env << "=" << value;
    EXPECT_NE(config.error().client_message.find(env), std::string::npos) << config.error().client_message;
  }
}

TEST(ConfigTest, MalformedTomlReportsPosition) {
  const auto file = WriteToml("[server\nport = 1\n");
  auto config = LoadConfig(file, {}, {});
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().client_message.find(file + ":1:"), std::string::npos) << config.error().client_message;
}

TEST(ConfigTest, ApiKeysAsTomlArray) {
  const auto file = WriteToml("[auth]\napi_keys = [\"0123456789abcdef:admin\", \"fedcba9876543210:read\"]\n");
  auto config = LoadConfig(file, {}, {});
  ASSERT_TRUE(config.ok()) << config.error().client_message;
  EXPECT_EQ(config->api_keys, "0123456789abcdef:admin,fedcba9876543210:read");
}

}  // namespace
}  // namespace cohort::app
