// The `cohort` command line on the embedded default: version and help, demo data (reproducible, only into an
// empty store), and the two importers with their per-line error reports.

#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "app/config.hpp"
#include "app/stores.hpp"
#include "integration/server_harness.hpp"

namespace cohort::testing {
namespace {

app::Stores OpenStoresAt(const std::string& dir) {
  app::Config config;
  config.data_dir = dir;
  auto stores = app::OpenStores(config, 1);
  if (!stores) throw std::runtime_error(stores.error().client_message);
  return std::move(stores).value();
}

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(CliTest, VersionAndHelp) {
  auto version = RunCohort({"version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.output.find("cohort 0."), std::string::npos) << version.output;
  auto help = RunCohort({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* word : {"serve", "migrate", "demo", "import", "version", "COHORT_POSTGRES_URL", "COHORT_API_KEYS"})
    EXPECT_NE(help.output.find(word), std::string::npos) << word;
  auto serve_help = RunCohort({"serve", "--help"});
  EXPECT_EQ(serve_help.exit_code, 0);
  EXPECT_NE(serve_help.output.find("--port"), std::string::npos);
  EXPECT_NE(RunCohort({"no-such-command"}).exit_code, 0);
}

TEST(CliTest, MigrateReportsTheSchema) {
  TempDir dir;
  auto r = RunCohort({"migrate", "--data-dir", dir.path()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("relational schema at version 2"), std::string::npos) << r.output;
  EXPECT_EQ(RunCohort({"migrate", "--data-dir", dir.path()}).exit_code, 0);
}

TEST(CliTest, DemoIsReproducibleAndFillsOnlyAnEmptyStore) {
  TempDir a, b;
  const std::vector<std::string> args = {"--users", "300", "--products", "60", "--seed", "7", "--until",
                                         "2026-11-01T00:00:00Z"};
  auto args_for = [&](const std::string& dir) {
    std::vector<std::string> v = {"demo", "--data-dir", dir};
    v.insert(v.end(), args.begin(), args.end());
    return v;
  };
  auto first = RunCohort(args_for(a.path()));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("300 users"), std::string::npos) << first.output;
  ASSERT_EQ(RunCohort(args_for(b.path())).exit_code, 0);
  auto again = RunCohort(args_for(a.path()));
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.output.find("already holds data"), std::string::npos) << again.output;

  auto sa = OpenStoresAt(a.path());
  auto sb = OpenStoresAt(b.path());
  auto ua = sa.relational->ListUsers({.limit = 1000}).value();
  auto ub = sb.relational->ListUsers({.limit = 1000}).value();
  ASSERT_EQ(ua.items.size(), 300u);
  ASSERT_EQ(ub.items.size(), 300u);
  for (std::size_t i = 0; i < ua.items.size(); ++i) {
    EXPECT_EQ(ua.items[i].id, ub.items[i].id);
    EXPECT_EQ(ua.items[i].email, ub.items[i].email);
    EXPECT_EQ(ua.items[i].address.city, ub.items[i].address.city);
  }
  const auto events = sa.events->Count().value();
  EXPECT_GT(events, 3000);  // on average tens of events per active user
  EXPECT_EQ(sb.events->Count().value(), events);
  // Skewed shapes: more views than carts, more carts than purchases; several countries.
  auto by_type = sa.events->Aggregate(
      store::events::Pipeline::Parse(nlohmann::json::parse(
          R"([{"$group":{"_id":"$type","n":{"$sum":1}}},{"$sort":{"_id":1}}])")).value(), {}).value();
  std::map<std::string, std::int64_t> n;
  for (const auto& row : by_type) n[row["_id"].get<std::string>()] = row["n"].get<std::int64_t>();
  EXPECT_GT(n["view"], n["add_to_cart"]);
  EXPECT_GT(n["add_to_cart"], n["purchase"]);
  EXPECT_GT(n["purchase"], 0);
  EXPECT_GT(sa.relational->UsersByCountry().value().size(), 5u);
}

TEST(CliTest, ImportEventsReportsBadLinesAndIsIdempotent) {
  TempDir dir;
  const std::string file = dir.path() + "/events.ndjson";
  WriteFile(file,
            R"({"event_id":"e1","user_id":"u1","type":"view","product_id":"p1","ts":"2026-01-01T10:00:00Z"})" "\n"
            R"({"event_id":"e2","user_id":"u1","type":"purchase","product_id":"p1","price":9.5,"ts":"2026-01-02T10:00:00Z"})" "\n"
            R"({"event_id":"e3","user_id":"u2","type":"view","price":-1})" "\n"
            "\n"
            R"(not json)" "\n"
            R"({"user_id":"u3","type":"add_to_cart","quantity":2,"ts":"2026-01-03T10:00:00Z"})" "\n");
  auto r = RunCohort({"import", "events", file, "--data-dir", dir.path() + "/data"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("line 3:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("line 5:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("3 events accepted"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("2 rejected"), std::string::npos) << r.output;
  auto again = RunCohort({"import", "events", file, "--data-dir", dir.path() + "/data"});
  EXPECT_NE(again.output.find("0 events accepted, 3 duplicates"), std::string::npos) << again.output;

  const std::string csv = dir.path() + "/events.csv";
  WriteFile(csv, "user_id,type,product_id,price,ts,properties.channel\n"
                 "u1,purchase,p2,3.25,2026-02-01T00:00:00Z,email\n"
                 "u1,purchase,p2,not-a-price,2026-02-01T00:00:00Z,email\n"
                 "u4,view,,,2026-02-02T00:00:00Z,\n");
  auto c = RunCohort({"import", "events", csv, "--data-dir", dir.path() + "/data"});
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_NE(c.output.find("line 3:"), std::string::npos) << c.output;
  EXPECT_NE(c.output.find("2 events accepted"), std::string::npos) << c.output;
  auto stores = OpenStoresAt(dir.path() + "/data");
  EXPECT_EQ(stores.events->Count().value(), 5);
  auto u1 = stores.events->UserEvents({.user_id = "u1", .type = "purchase"}).value();
  ASSERT_EQ(u1.size(), 2u);
  EXPECT_EQ(u1[0].properties, R"({"channel":"email"})");  // newest first
}

TEST(CliTest, ImportRetailMapsTheOnlineRetailLayout) {
  TempDir dir;
  const std::string file = dir.path() + "/retail.csv";
  WriteFile(file,
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
            "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850.0,United Kingdom\n"
            "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850.0,United Kingdom\n"
            "536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,,United Kingdom\n"
            "C536379,D,Discount,-1,12/1/2010 9:41,27.5,14527.0,EIRE\n"
            "536380,BANK CHARGES,Bank Charges,1,12/1/2010 9:45,15,12583,France\n");
  auto r = RunCohort({"import", "retail", file, "--data-dir", dir.path() + "/data"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("4 events accepted"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 skipped"), std::string::npos) << r.output;
  auto stores = OpenStoresAt(dir.path() + "/data");
  auto user = stores.relational->GetUser("17850");
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->address.country_code, "GB");
  EXPECT_EQ(stores.relational->GetUser("14527")->address.country_name, "Ireland");
  auto returns = stores.events->UserEvents({.user_id = "14527"}).value();
  ASSERT_EQ(returns.size(), 1u);
  EXPECT_EQ(returns[0].type, "return");
  EXPECT_EQ(returns[0].quantity, 1);
  auto purchases = stores.events->UserEvents({.user_id = "17850"}).value();
  ASSERT_EQ(purchases.size(), 2u);
  std::set<std::string> bought = {*purchases[0].product_id, *purchases[1].product_id};
  EXPECT_EQ(bought, (std::set<std::string>{"85123A", "71053"}));
  EXPECT_EQ(stores.relational->GetProduct("BANK_CHARGES")->name, "Bank Charges");
  EXPECT_DOUBLE_EQ(stores.relational->GetProduct("71053")->price, 3.39);
}

}  // namespace
}  // namespace cohort::testing
