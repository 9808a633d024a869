// End to end on the public CDNOW sample (../shared/data/cdnow, skipped when absent): its transactions ingested
// as purchase events with `cohort import events`, then `cohort train --until 1997-09-30 --time-unit weeks --json`
// must give the published BG/NBD and Gamma-Gamma parameters (Fader, Hardie & Lee 2005; Fader & Hardie 2013), on
// the embedded store and on PostgreSQL.

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "integration/backend_fixture.hpp"

namespace cohort::testing {
namespace {

using nlohmann::json;

const std::string kCdnow = std::string(COHORT_SHARED_DATA_DIR) + "/cdnow/CDNOW_sample.txt";

// CDNOW_sample.txt: customer id, sample id, date YYYYMMDD, CDs bought, dollars; one line per transaction.
std::string CdnowAsEventsCsv(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << "event_id,user_id,type,price,ts\n";
  std::string customer, sample, date, quantity, amount;
  int n = 0;
  while (in >> customer >> sample >> date >> quantity >> amount) {
    out << fmt::format("cd{},c{},purchase,{},{}-{}-{}T12:00:00Z\n", ++n, std::stoi(customer), amount,
                       date.substr(0, 4), date.substr(4, 2), date.substr(6, 2));
  }
  return out.str();
}

// The JSON document that ends the output (progress and log lines come before it).
json TrailingJson(const std::string& output) {
  const auto start = output.find("\n{\n");
  if (start == std::string::npos) throw std::runtime_error("no JSON in the output:\n" + output);
  return json::parse(output.substr(start + 1));
}

class TrainCdnowTest : public BackendTest {};

TEST_P(TrainCdnowTest, ReproducesThePublishedBgNbdAndGammaGammaFits) {
  if (!std::filesystem::exists(kCdnow)) GTEST_SKIP() << "the CDNOW sample is not at " << kCdnow;
  const std::string csv = dir_.path() + "/cdnow.csv";
  std::ofstream(csv) << CdnowAsEventsCsv(kCdnow);
  NameValues env = ServerEnv();
  auto imported = RunCohort({"import", "events", csv, "--data-dir", dir_.path()}, env);
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_NE(imported.output.find("6919 events accepted"), std::string::npos) << imported.output;

  auto trained = RunCohort(
      {"train", "--data-dir", dir_.path(), "--until", "1997-09-30", "--time-unit", "weeks", "--json"}, env);
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  const json model = TrailingJson(trained.output);
  const json& bgnbd = model.at("bgnbd");
  EXPECT_NEAR(bgnbd.at("r").get<double>(), 0.243, 0.243 * 0.005);
  EXPECT_NEAR(bgnbd.at("alpha").get<double>(), 4.414, 4.414 * 0.005);
  EXPECT_NEAR(bgnbd.at("a").get<double>(), 0.793, 0.793 * 0.005);
  EXPECT_NEAR(bgnbd.at("b").get<double>(), 2.426, 2.426 * 0.005);
  EXPECT_NEAR(bgnbd.at("log_likelihood").get<double>(), -9582.43, 0.05);
  const json& gg = model.at("gamma_gamma");
  EXPECT_NEAR(gg.at("p").get<double>(), 6.25, 6.25 * 0.005);
  EXPECT_NEAR(gg.at("q").get<double>(), 3.74, 3.74 * 0.005);
  EXPECT_NEAR(gg.at("v").get<double>(), 15.44, 15.44 * 0.005);
  EXPECT_EQ(model.at("users"), 2357);
  EXPECT_EQ(model.at("time_unit"), "weeks");
  EXPECT_FALSE(model.at("version").get<std::string>().empty());
  EXPECT_TRUE(model.at("churn").at("auc").is_number());
  std::int64_t segmented = 0;
  for (const auto& [name, totals] : model.at("segments").items()) segmented += totals.at("users").get<std::int64_t>();
  EXPECT_EQ(segmented, 2357);
}

COHORT_INSTANTIATE_FOR_BACKENDS(TrainCdnowTest);

}  // namespace
}  // namespace cohort::testing
