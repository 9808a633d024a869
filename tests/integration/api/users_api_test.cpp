// The HTTP API of the relational core against the real binary, on SQLite and on PostgreSQL: CRUD,
// statement counts per request, pagination, aggregate counts, and a corpus of bad requests.

#include <libpq-fe.h>
#include <unistd.h>

#include <map>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "integration/backend_fixture.hpp"

namespace cohort::testing {
namespace {

using nlohmann::json;

json UserBody(const std::string& id, const std::string& email, const std::string& city = "Kyiv",
              const std::string& country = "UA", const std::string& country_name = "Ukraine") {
  return {{"id", id},
          {"name", "Name " + id},
          {"email", email},
          {"address",
           {{"street", "1 Main St"}, {"postal_code", "01001"}, {"city", city}, {"country", country},
            {"country_name", country_name}}}};
}

class UsersApiTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (HasFatalFailure()) return;
    server_ = std::make_unique<ServerProcess>(ServerProcess::Options{.args = {}, .env = ServerEnv(), .data_dir = {}});
  }
  HttpResult CreateUser(const json& body) { return server_->Post("/api/users", body.dump()); }
  std::uint64_t Statements() { return server_->Get("/api/admin/stats").Json()["relational"]["statements"]; }

  std::unique_ptr<ServerProcess> server_;
};

TEST_P(UsersApiTest, CreateGetPatchDelete) {
  auto created = CreateUser(UserBody("u1", "u1@example.com"));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.headers["location"], "/api/users/u1");
  auto got = server_->Get("/api/users/u1");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.Json(), created.Json());
  EXPECT_EQ(got.Json()["address"]["city"]["name"], "Kyiv");
  EXPECT_EQ(got.Json()["address"]["city"]["country"], (json{{"code", "UA"}, {"name", "Ukraine"}}));
  EXPECT_EQ(got.headers["content-type"], "application/json");
  EXPECT_FALSE(got.headers["x-request-id"].empty());

  auto patched = server_->Patch("/api/users/u1", R"({"name":"Olena","address":{"street":"2 Rynok Sq",
      "postal_code":"79000","city":"Lviv","country":"UA"}})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.Json()["name"], "Olena");
  EXPECT_EQ(patched.Json()["address"]["city"]["name"], "Lviv");
  EXPECT_EQ(server_->Get("/api/users/u1").Json(), patched.Json());

  EXPECT_EQ(server_->Delete("/api/users/u1").status, 204);
  EXPECT_EQ(server_->Get("/api/users/u1").status, 404);
  EXPECT_EQ(server_->Delete("/api/users/u1").status, 404);
  EXPECT_EQ(server_->Patch("/api/users/u1", R"({"name":"x"})").status, 404);
}

TEST_P(UsersApiTest, ConflictsAre409) {
  ASSERT_EQ(CreateUser(UserBody("u1", "u1@example.com")).status, 201);
  auto dup_id = CreateUser(UserBody("u1", "other@example.com"));
  EXPECT_EQ(dup_id.status, 409);
  EXPECT_EQ(dup_id.Json()["error"]["code"], "already_exists");
  auto dup_email = CreateUser(UserBody("u2", "u1@example.com", "Warsaw", "PL", "Poland"));
  EXPECT_EQ(dup_email.status, 409);
  EXPECT_NE(dup_email.Json()["error"]["message"].get<std::string>().find("email"), std::string::npos);
  // The failed creation left no country behind.
  auto countries = server_->Get("/api/countries").Json();
  EXPECT_EQ(countries.size(), 1u) << countries.dump();
  EXPECT_EQ(server_->Get("/api/countries/PL/cities").status, 404);
}

TEST_P(UsersApiTest, GetUserCostsOneStatementAndListingAConstant) {
  for (int i = 0; i < 120; ++i)
    ASSERT_EQ(CreateUser(UserBody(fmt::format("u{:03}", i), fmt::format("u{}@x.io", i))).status, 201);
  auto before = Statements();
  ASSERT_EQ(server_->Get("/api/users/u007").status, 200);
  EXPECT_EQ(Statements() - before, 1u);

  before = Statements();
  auto page = server_->Get("/api/users?limit=100");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.Json()["items"].size(), 100u);
  EXPECT_EQ(Statements() - before, 1u);
  before = Statements();
  ASSERT_EQ(server_->Get("/api/users?limit=10").Json()["items"].size(), 10u);
  EXPECT_EQ(Statements() - before, 1u);
}

TEST_P(UsersApiTest, PaginationFiltersAndCounts) {
  const char* cities[] = {"Kyiv", "Kyiv", "Lviv"};
  for (int i = 0; i < 9; ++i)
    ASSERT_EQ(CreateUser(UserBody(fmt::format("u{}", i), fmt::format("u{}@x.io", i), cities[i % 3])).status, 201);
  ASSERT_EQ(CreateUser(UserBody("p1", "p1@x.io", "Warsaw", "PL", "Poland")).status, 201);

  std::vector<std::string> ids;
  std::string path = "/api/users?country=UA&city=Kyiv&limit=4";
  for (int guard = 0; guard < 10; ++guard) {
    auto page = server_->Get(path).Json();
    for (const auto& u : page["items"]) ids.push_back(u["id"]);
    if (page["next_after"].is_null()) break;
    path = "/api/users?country=UA&city=Kyiv&limit=4&after=" + page["next_after"].get<std::string>();
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"u0", "u1", "u3", "u4", "u6", "u7"}));

  auto by_country = server_->Get("/api/analytics/users-by-country").Json();
  EXPECT_EQ(by_country, json::parse(R"([{"country":"UA","name":"Ukraine","users":9,"cities":2},
                                         {"country":"PL","name":"Poland","users":1,"cities":1}])"));
  auto by_city = server_->Get("/api/analytics/users-by-city?country=UA").Json();
  EXPECT_EQ(by_city, json::parse(R"([{"city":"Kyiv","country":"UA","users":6},
                                      {"city":"Lviv","country":"UA","users":3}])"));
  auto cities_ua = server_->Get("/api/countries/UA/cities").Json();
  ASSERT_EQ(cities_ua.size(), 2u);
  EXPECT_EQ(cities_ua[0]["name"], "Kyiv");
}

TEST_P(UsersApiTest, Products) {
  auto one = server_->Post("/api/products", R"({"id":"p1","name":"Mug","category":"kitchen","price":4.5})");
  ASSERT_EQ(one.status, 200) << one.body;
  auto many = server_->Post("/api/products", R"([{"id":"p2","name":"Novel","category":"books","price":12},
      {"id":"p1","name":"Big Mug","category":"kitchen","price":6}])");
  ASSERT_EQ(many.status, 200) << many.body;
  EXPECT_EQ(many.Json()["upserted"], 2);
  EXPECT_EQ(server_->Get("/api/products/p1").Json(),
            json::parse(R"({"id":"p1","name":"Big Mug","category":"kitchen","price":6.0})"));
  auto books = server_->Get("/api/products?category=books").Json();
  ASSERT_EQ(books["items"].size(), 1u);
  EXPECT_EQ(books["items"][0]["id"], "p2");
  // One bad product in a batch: nothing of the batch is written.
  auto bad = server_->Post("/api/products", R"([{"id":"p3","name":"A","category":"c","price":1},
      {"id":"p4","name":"B","category":"c","price":-1}])");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.Json()["error"]["message"].get<std::string>().find("[1]"), std::string::npos);
  EXPECT_EQ(server_->Get("/api/products/p3").status, 404);
}

struct BadRequest {
  std::string method;
  std::string path;
  std::string body;
  long status;
  NameValues headers = {};
};

std::vector<BadRequest> BadRequestCorpus() {
  const std::string address = R"("address":{"street":"1 A St","postal_code":"1","city":"Kyiv","country":"UA",
      "country_name":"Ukraine"})";
  auto user = [&](const std::string& fields) { return "{" + fields + "," + address + "}"; };
  std::vector<BadRequest> corpus = {
      // malformed JSON
      {"POST", "/api/users", "{", 400},
      {"POST", "/api/users", "not json", 400},
      {"POST", "/api/users", R"({"id":"u1",})", 400},
      {"POST", "/api/users", "[1,2", 400},
      {"POST", "/api/users", "", 400},
      {"POST", "/api/users", "\"just a string\"", 400},
      {"POST", "/api/users", "null", 400},
      {"POST", "/api/users", "[]", 400},
      {"POST", "/api/users", "{\"id\":\"u1\x01\"}", 400},
      {"POST", "/api/users", std::string(40, '[') + std::string(40, ']'), 400},
      {"POST", "/api/users", "\xff\xfe{}", 400},
      {"POST", "/api/products", "{]", 400},
      {"PATCH", "/api/users/u1", "{", 400},
      // missing and wrong-typed fields
      {"POST", "/api/users", user(R"("name":"A","email":"a@x.io")"), 400},
      {"POST", "/api/users", user(R"("id":"u1","email":"a@x.io")"), 400},
      {"POST", "/api/users", user(R"("id":"u1","name":"A")"), 400},
      {"POST", "/api/users", R"({"id":"u1","name":"A","email":"a@x.io"})", 400},
      {"POST", "/api/users", user(R"("id":1,"name":"A","email":"a@x.io")"), 400},
      {"POST", "/api/users", user(R"("id":"u1","name":["A"],"email":"a@x.io")"), 400},
      {"POST", "/api/users", user(R"("id":"u1","name":"A","email":true)"), 400},
      {"POST", "/api/users", user(R"("id":"u1","name":"A","email":"a@x.io","birth_year":"1990")"), 400},
      {"POST", "/api/users", user(R"("id":"u1","name":"A","email":"a@x.io","birth_year":1990.5)"), 400},
      {"POST", "/api/users", user(R"("id":"u1","name":"A","email":"a@x.io","birth_year":1800)"), 400},
      {"POST", "/api/users", R"({"id":"u1","name":"A","email":"a@x.io","address":"Kyiv"})", 400},
      {"POST", "/api/users", R"({"id":"u1","name":"A","email":"a@x.io","address":{"city":"Kyiv"}})", 400},
      {"POST", "/api/users",
       R"({"id":"u1","name":"A","email":"a@x.io","address":{"street":"s","postal_code":"1","city":"K","country":"Ukraine","country_name":"U"}})",
       400},
      {"POST", "/api/users",
       R"({"id":"u1","name":"A","email":"a@x.io","address":{"street":"s","postal_code":"1","city":"K","country":"ua","country_name":"U"}})",
       400},
      {"POST", "/api/users",
       R"({"id":"u1","name":"A","email":"a@x.io","address":{"street":"","postal_code":"1","city":"K","country":"UA","country_name":"U"}})",
       400},
      {"POST", "/api/users",
       R"({"id":"u1","name":"A","email":"a@x.io","address":{"street":"s","postal_code":"1","city":"K","country":"NO"}})",
       400},
      // invalid values
      {"POST", "/api/users", user(R"("id":"has space","name":"A","email":"a@x.io")"), 400},
      {"POST", "/api/users", user(R"("id":"","name":"A","email":"a@x.io")"), 400},
      {"POST", "/api/users", user("\"id\":\"" + std::string(65, 'a') + R"(","name":"A","email":"a@x.io")"), 400},
      {"POST", "/api/users", user(R"("id":"a/b","name":"A","email":"a@x.io")"), 400},
      {"POST", "/api/users", user(R"("id":"u1","name":"","email":"a@x.io")"), 400},
      {"POST", "/api/users", user(R"("id":"u1","name":"A","email":"not-an-email")"), 400},
      {"POST", "/api/users", user(R"("id":"u1","name":"A","email":"a@@x.io")"), 400},
      // unknown fields (refused, see README)
      {"POST", "/api/users", user(R"("id":"u1","name":"A","email":"a@x.io","role":"admin")"), 400},
      {"PATCH", "/api/users/u1", R"({"nickname":"x"})", 400},
      {"PATCH", "/api/users/u1", R"({"id":"u2"})", 400},
      {"PATCH", "/api/users/u1", R"({})", 400},
      {"POST", "/api/products", R"({"id":"p1","name":"A","category":"c","price":"1"})", 400},
      {"POST", "/api/products", R"({"id":"p1","name":"A","category":"c","price":-0.01})", 400},
      {"POST", "/api/products", R"({"id":"p1","name":"A","category":"c"})", 400},
      {"POST", "/api/products", R"({"id":"p 1","name":"A","category":"c","price":1})", 400},
      {"POST", "/api/products", R"([])", 400},
      {"POST", "/api/products", R"([1])", 400},
      // query parameters and ids in the path
      {"GET", "/api/users?limit=0", "", 400},
      {"GET", "/api/users?limit=100000", "", 400},
      {"GET", "/api/users?limit=ten", "", 400},
      {"GET", "/api/users?after=bad%20id", "", 400},
      {"GET", "/api/users?country=Ukraine", "", 400},
      {"GET", "/api/users?colour=red", "", 400},
      {"GET", "/api/users/" + std::string(65, 'a'), "", 400},
      {"GET", "/api/users/a%20b", "", 400},
      {"GET", "/api/users/%zz", "", 400},
      {"GET", "/api/countries/UKR/cities", "", 400},
      {"GET", "/api/analytics/users-by-city?country=1", "", 400},
      // wrong content type
      {"POST", "/api/users", user(R"("id":"u1","name":"A","email":"a@x.io")"), 400,
       {{"Content-Type", "text/plain"}}},
      // unknown routes and methods
      {"GET", "/api/nothing-here", "", 404},
      {"GET", "/", "", 404},
      {"GET", "/api/users/u1/unknown/deeper", "", 404},
      {"PUT", "/api/users/u1", "{}", 405},
      {"DELETE", "/api/users", "", 405},
      {"POST", "/api/countries", "{}", 405},
      {"POST", "/healthz", "", 405},
      {"GET", "/api/users/nobody", "", 404},
      {"GET", "/api/products/nobody", "", 404},
      {"GET", "/api/countries/ZZ/cities", "", 404},
  };
  return corpus;
}

TEST_P(UsersApiTest, BadRequestsGetJsonErrorsAndTheServerStaysUp) {
  auto corpus = BadRequestCorpus();
  ASSERT_GE(corpus.size(), 50u);
  for (const auto& bad : corpus) {
    auto r = server_->Request(bad.method, bad.path, bad.body, bad.headers);
    SCOPED_TRACE(bad.method + " " + bad.path + " " + bad.body.substr(0, 80));
    EXPECT_EQ(r.status, bad.status) << r.body;
    json error;
    ASSERT_NO_THROW(error = r.Json());
    EXPECT_TRUE(error["error"]["code"].is_string()) << r.body;
    EXPECT_TRUE(error["error"]["message"].is_string()) << r.body;
    EXPECT_FALSE(r.headers["x-request-id"].empty());
  }
  // Nothing was half-written.
  EXPECT_EQ(server_->Get("/api/users").Json()["items"].size(), 0u);
  EXPECT_EQ(server_->Get("/api/countries").Json().size(), 0u);
  // Protocol-level garbage and an oversized body.
  EXPECT_NE(server_->SendRaw("GARBAGE\r\n\r\n").find("400"), std::string::npos);
  EXPECT_NE(server_->SendRaw("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n").find("400"),
            std::string::npos);
  auto huge = server_->Post("/api/products", std::string(5 * 1024 * 1024, ' '));
  EXPECT_EQ(huge.status, 413);
  EXPECT_EQ(huge.Json()["error"]["code"], "payload_too_large");
  EXPECT_EQ(server_->Get("/healthz").status, 200);
  EXPECT_EQ(server_->Get("/readyz").status, 200);
}

TEST_P(UsersApiTest, GracefulStopExitsZero) { EXPECT_EQ(server_->Stop(), 0) << server_->Log(); }

COHORT_INSTANTIATE_FOR_BACKENDS(UsersApiTest);

// Auth does not depend on the backend: SQLite only.
TEST(AuthApiTest, RolesPerRoute) {
  const std::string read = "read-key-0123456789", write = "write-key-012345678", admin = "admin-key-012345678";
  ServerProcess server({.args = {}, .env = {{"COHORT_API_KEYS", read + ":read," + write + ":write," + admin + ":admin"}},
                        .data_dir = {}});
  auto bearer = [](const std::string& key) { return NameValues{{"Authorization", "Bearer " + key}}; };
  auto none = server.Get("/api/users");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.Json()["error"]["code"], "unauthenticated");
  EXPECT_EQ(server.Get("/api/users", bearer("wrong-key-0123456789")).status, 401);
  EXPECT_EQ(server.Get("/api/users", bearer(read)).status, 200);
  const auto body = UserBody("u1", "u1@example.com").dump();
  auto low = server.Post("/api/users", body, bearer(read));
  EXPECT_EQ(low.status, 403);
  EXPECT_EQ(low.Json()["error"]["code"], "permission_denied");
  EXPECT_EQ(server.Post("/api/users", body, bearer(write)).status, 201);
  EXPECT_EQ(server.Get("/api/admin/stats", bearer(write)).status, 403);
  EXPECT_EQ(server.Get("/api/admin/stats", bearer(admin)).status, 200);
  EXPECT_EQ(server.Get("/healthz").status, 200);
  // Keys never reach the log.
  EXPECT_EQ(server.Log().find(read), std::string::npos);
  EXPECT_EQ(server.Log().find(write), std::string::npos);
}

TEST(AccessLogTest, EveryRequestHasItsLineByTheTimeTheServerStops) {
  ServerProcess server({.args = {}, .env = {}, .data_dir = {}});
  std::vector<std::string> ids;
  for (int i = 0; i < 150; ++i) {  // more than one block of lines
    ids.push_back(fmt::format("access-{}", i));
    EXPECT_EQ(server.Get(i % 2 == 0 ? "/healthz" : "/api/users/nobody", {{"X-Request-Id", ids.back()}}).status,
              i % 2 == 0 ? 200 : 404);
  }
  ASSERT_EQ(server.Stop(), 0);
  const std::string log = server.Log();
  const std::regex access(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z level=info (access-\d+) GET (\S+) (\d{3}) \d+)");
  std::map<std::string, std::string> logged;  // request id -> "path status"
  std::istringstream lines(log);
  std::smatch m;
  for (std::string line; std::getline(lines, line);)
    if (std::regex_match(line, m, access)) logged[m[1]] = fmt::format("{} {}", m[2].str(), m[3].str());
  ASSERT_EQ(logged.size(), ids.size()) << log;
  for (std::size_t i = 0; i < ids.size(); ++i)
    EXPECT_EQ(logged[ids[i]], i % 2 == 0 ? "/healthz 200" : "/api/users/nobody 404") << ids[i];
}

TEST(ConfigApiTest, BadConfigurationRefusesToStart) {
  auto r = RunCohort({"serve", "--port", "0"}, {{"COHORT_PORT", "x"}, {"COHORT_API_KEYS", ""}});
  EXPECT_NE(r.exit_code, 0);
  auto bad = RunCohort({"serve", "--port", "notaport"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("server.port"), std::string::npos) << bad.output;
  auto unknown = RunCohort({"serve"}, {{"COHORT_PORTT", "1"}});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.output.find("COHORT_PORTT"), std::string::npos) << unknown.output;
}

}  // namespace
}  // namespace cohort::testing

namespace cohort::testing {
namespace {

void AdminExec(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* r = PQexec(conn, sql.c_str());
  const auto status = PQresultStatus(r);
  const std::string error = PQerrorMessage(conn);
  PQclear(r);
  PQfinish(conn);
  ASSERT_EQ(status, PGRES_COMMAND_OK) << sql << ": " << error;
}

// /readyz answers 503 while the database is gone, 200 once it is back; /healthz stays 200 throughout.
TEST(ReadinessTest, ReadyzFollowsThePostgresDatabase) {
  const std::string base = TestPostgresUrl();
  if (base.empty()) return;
  const std::string name = fmt::format("cohort_readyz_{}", ::getpid());
  const auto slash = base.rfind('/');
  const std::string url = base.substr(0, slash + 1) + name;
  AdminExec(base, "DROP DATABASE IF EXISTS " + name);
  AdminExec(base, "CREATE DATABASE " + name);
  {
    ServerProcess server({.args = {}, .env = {{"COHORT_POSTGRES_URL", url}}, .data_dir = {}});
    EXPECT_EQ(server.Get("/readyz").status, 200);
    AdminExec(base, "DROP DATABASE " + name + " WITH (FORCE)");
    for (int i = 0; i < 3; ++i) {  // the broken connection, then failed reconnects
      auto r = server.Get("/readyz");
      EXPECT_EQ(r.status, 503) << r.body;
      EXPECT_EQ(r.Json()["error"]["code"], "unavailable");
    }
    EXPECT_EQ(server.Get("/healthz").status, 200);
    EXPECT_EQ(server.Get("/api/users/u1").status, 503);
    AdminExec(base, "CREATE DATABASE " + name);
    EXPECT_EQ(server.Get("/readyz").status, 200);
    EXPECT_EQ(server.Stop(), 0);
  }
  AdminExec(base, "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
}

}  // namespace
}  // namespace cohort::testing
