#pragma once
// One parameterised test body per suite, run against every relational backend: "sqlite" (a file in a
// temporary folder) and "postgres" (a fresh schema on the server that `make test` starts).

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "integration/server_harness.hpp"

namespace cohort::testing {

class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      const std::string base = TestPostgresUrl();
      if (base.empty()) GTEST_FAIL() << "PostgreSQL backend requested without a server";
      schema_ = std::make_unique<PostgresSchema>(base);
    }
  }
  bool postgres() const { return schema_ != nullptr; }
  std::string postgres_url() const { return schema_ ? schema_->url() : std::string(); }
  std::string sqlite_path() const { return dir_.path() + "/cohort.db"; }
  // Environment for a `cohort` process on this backend.
  NameValues ServerEnv() const { return {{"COHORT_POSTGRES_URL", postgres_url()}}; }

  TempDir dir_;
  std::unique_ptr<PostgresSchema> schema_;
};

inline std::string BackendName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

#define COHORT_INSTANTIATE_FOR_BACKENDS(Suite) \
  INSTANTIATE_TEST_SUITE_P(Backends, Suite, ::testing::Values("sqlite", "postgres"), ::cohort::testing::BackendName)

}  // namespace cohort::testing
