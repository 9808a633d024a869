// GET /metrics, GET /openapi.json and GET /api/admin/routes against the real binary: the OpenAPI document
// lists exactly the routes the server registers, its examples have the shape of the server's answers, and the
// metrics text is well-formed Prometheus exposition whose counters follow the requests.

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "integration/server_harness.hpp"

namespace cohort::testing {
namespace {

using nlohmann::json;

const char* kUser =
    R"({"id":"u1","name":"Olena","email":"o@x.io","birth_year":1990,"address":{"street":"1 A St",
    "postal_code":"01001","city":"Kyiv","country":"UA","country_name":"Ukraine"}})";

// Whether `actual` has the shape of `example`: the same JSON type, every key of an example object present
// with the same shape, every element of an actual array shaped like the example's first element. Numbers
// match numbers whatever their representation, and null on either side matches anything (nullable fields such
// as p_alive are null or not depending on the data). Appends what differs to `diffs`, with its JSON path.
void CheckShape(const json& example, const json& actual, const std::string& where,
                std::vector<std::string>& diffs) {
  if (example.is_null() || actual.is_null()) return;
  if (example.is_number() && actual.is_number()) return;
  if (example.type() != actual.type()) {
    diffs.push_back(where + ": example is " + example.type_name() + ", answer is " + actual.type_name());
    return;
  }
  if (example.is_object()) {
    for (const auto& [key, value] : example.items()) {
      if (!actual.contains(key)) {
        diffs.push_back(where + "." + key + ": missing from the answer");
        continue;
      }
      CheckShape(value, actual[key], where + "." + key, diffs);
    }
  } else if (example.is_array() && !example.empty()) {
    for (std::size_t i = 0; i < actual.size(); ++i)
      CheckShape(example[0], actual[i], where + "[" + std::to_string(i) + "]", diffs);
  }
}

TEST(ShapeCheckTest, TellsDifferentShapesApart) {
  std::vector<std::string> diffs;
  CheckShape(json::parse(R"({"a":1,"b":[{"c":"x"}],"d":null})"),
             json::parse(R"({"a":2.5,"b":[{"c":"y"},{"c":"z"}],"d":{"e":1},"extra":true})"), "$", diffs);
  EXPECT_TRUE(diffs.empty());
  CheckShape(json::parse(R"({"a":1,"b":[{"c":"x"}],"f":{}})"), json::parse(R"({"a":"1","b":[{"c":3}]})"), "$",
             diffs);
  EXPECT_EQ(diffs, (std::vector<std::string>{"$.a: example is number, answer is string",
                                             "$.b[0].c: example is string, answer is number",
                                             "$.f: missing from the answer"}));
}

std::set<std::string> Lines(const std::set<std::pair<std::string, std::string>>& routes) {
  std::set<std::string> out;
  for (const auto& [method, path] : routes) out.insert(method + " " + path);
  return out;
}

TEST(OpenApiTest, DocumentListsExactlyTheRegisteredRoutes) {
  ServerProcess server;
  const auto doc = server.Get("/openapi.json");
  ASSERT_EQ(doc.status, 200);
  const json openapi = doc.Json();
  EXPECT_TRUE(openapi["openapi"].get<std::string>().starts_with("3.0"));
  std::set<std::pair<std::string, std::string>> documented;
  for (const auto& [path, operations] : openapi["paths"].items()) {
    for (const auto& [method, operation] : operations.items()) {
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.emplace(upper, path);
      EXPECT_TRUE(operation.contains("summary")) << upper << " " << path;
      EXPECT_FALSE(operation["responses"].empty()) << upper << " " << path;
    }
  }
  const auto routes = server.Get("/api/admin/routes");
  ASSERT_EQ(routes.status, 200);
  std::set<std::pair<std::string, std::string>> registered;
  const json listed = routes.Json();
  for (const auto& route : listed["routes"]) registered.emplace(route["method"], route["pattern"]);
  EXPECT_GT(registered.size(), 20U);

  std::set<std::string> undocumented;
  for (const auto& line : Lines(registered))
    if (!Lines(documented).count(line)) undocumented.insert(line);
  std::set<std::string> unregistered;
  for (const auto& line : Lines(documented))
    if (!Lines(registered).count(line)) unregistered.insert(line);
  EXPECT_TRUE(undocumented.empty()) << "registered but missing from src/api/openapi_document.cpp: "
                                    << json(undocumented).dump();
  EXPECT_TRUE(unregistered.empty()) << "documented but not registered: " << json(unregistered).dump();
}

// The path to request for a documented GET route, with ids the test created; empty when there is none.
std::string ConcretePath(const std::string& pattern) {
  static const std::map<std::string, std::string> kConcrete = {
      {"/api/products/{id}", "/api/products/p1"},
      {"/api/countries/{code}/cities", "/api/countries/UA/cities"},
      {"/api/analytics/users-by-city", "/api/analytics/users-by-city?country=UA"},
  };
  if (const auto it = kConcrete.find(pattern); it != kConcrete.end()) return it->second;
  constexpr std::string_view kUserRoutes = "/api/users/{id}";
  if (pattern.starts_with(kUserRoutes)) return "/api/users/u1" + pattern.substr(kUserRoutes.size());
  return pattern.find('{') == std::string::npos ? pattern : "";
}

TEST(OpenApiTest, ExamplesHaveTheShapeOfTheServersAnswers) {
  ServerProcess server;
  ASSERT_EQ(server.Post("/api/users", kUser).status, 201);
  ASSERT_EQ(
      server.Post("/api/products", R"({"id":"p1","name":"Mug","category":"kitchen","price":9.5})").status,
      200);
  ASSERT_EQ(
      server
          .Post("/api/events", R"({"user_id":"u1","type":"purchase","product_id":"p1","category":"kitchen",
                                          "price":9.5,"quantity":2})")
          .status,
      200);
  const json openapi = server.Get("/openapi.json").Json();
  int checked = 0;
  for (const auto& [pattern, operations] : openapi["paths"].items()) {
    if (!operations.contains("get")) continue;
    const json& ok = operations["get"]["responses"]["200"];
    if (!ok.contains("content") || !ok["content"].contains("application/json")) continue;
    const json& media = ok["content"]["application/json"];
    if (!media.contains("example")) continue;
    const std::string path = ConcretePath(pattern);
    if (path.empty()) continue;
    const auto answer = server.Get(path);
    if (answer.status != 200) {
      // Allowed only when documented (e.g. 409 from /api/analytics/segments before the first training).
      EXPECT_TRUE(operations["get"]["responses"].contains(std::to_string(answer.status)))
          << "GET " << path << " answered " << answer.status << ": " << answer.body;
      continue;
    }
    std::vector<std::string> diffs;
    CheckShape(media["example"], answer.Json(), "$", diffs);
    EXPECT_TRUE(diffs.empty()) << "GET " << path << ": " << json(diffs).dump() << "\nanswer: " << answer.body;
    ++checked;
  }
  EXPECT_GE(checked, 15);
}

// One sample line of the exposition format: name, labels as written, value.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

std::vector<Sample> ParseMetrics(const std::string& text) {
  static const std::regex kLine(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$)");
  static const std::regex kLabel(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?)re");
  static const std::regex kComment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
  std::vector<Sample> samples;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("#")) {
      EXPECT_TRUE(std::regex_match(line, kComment)) << line;
      continue;
    }
    std::smatch m;
    if (!std::regex_match(line, m, kLine)) {
      ADD_FAILURE() << "not a sample line: '" << line << "'";
      continue;
    }
    Sample sample{m[1], {}, 0};
    const std::string value = m[4];
    sample.value = value == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(value);
    const std::string labels = m[3];
    std::string rest;
    for (std::sregex_iterator it(labels.begin(), labels.end(), kLabel), end; it != end; ++it) {
      sample.labels[(*it)[1]] = (*it)[2];
      rest += (*it)[0];
    }
    EXPECT_EQ(rest, labels) << "labels not parsed whole: " << line;
    samples.push_back(std::move(sample));
  }
  return samples;
}

double RequestCount(const std::vector<Sample>& samples, const std::string& route, const std::string& status) {
  for (const auto& s : samples)
    if (s.name == "http_requests_total" && s.labels.at("route") == route && s.labels.at("method") == "GET" &&
        s.labels.at("status") == status)
      return s.value;
  return 0;
}

TEST(MetricsTest, CountsRequestsPerRoutePatternWithCumulativeHistograms) {
  ServerProcess server;
  for (int i = 0; i < 3; ++i) ASSERT_EQ(server.Get("/healthz").status, 200);
  ASSERT_EQ(server.Get("/api/users/nobody-here").status, 404);
  ASSERT_EQ(server.Get("/no/such/route").status, 404);

  const auto first = server.Get("/metrics");
  ASSERT_EQ(first.status, 200);
  const std::string content_type = first.headers.at("content-type");
  EXPECT_TRUE(content_type.starts_with("text/plain; version=0.0.4")) << content_type;
  const auto before = ParseMetrics(first.body);
  EXPECT_GE(RequestCount(before, "/healthz", "200"), 3);
  EXPECT_EQ(RequestCount(before, "/api/users/{id}", "404"), 1);
  EXPECT_GE(RequestCount(before, "unmatched", "404"), 1);
  EXPECT_EQ(first.body.find("nobody-here"), std::string::npos) << "a raw path became a label";

  for (int i = 0; i < 2; ++i) ASSERT_EQ(server.Get("/healthz").status, 200);
  const auto after = ParseMetrics(server.Get("/metrics").body);
  EXPECT_EQ(RequestCount(after, "/healthz", "200"), RequestCount(before, "/healthz", "200") + 2);
  EXPECT_EQ(RequestCount(after, "/metrics", "200"), RequestCount(before, "/metrics", "200") + 1);

  // Per series: buckets in increasing `le`, cumulative, the last +Inf equal to _count.
  std::map<std::string, std::vector<std::pair<double, double>>> buckets;  // series -> (le, count)
  std::map<std::string, double> counts;
  const auto series_of = [](const Sample& s) {
    return s.labels.at("route") + " " + s.labels.at("method") + " " + s.labels.at("status");
  };
  for (const auto& s : after) {
    if (s.name == "http_request_duration_seconds_bucket") {
      const std::string le = s.labels.at("le");
      buckets[series_of(s)].emplace_back(
          le == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(le), s.value);
    } else if (s.name == "http_request_duration_seconds_count") {
      counts[series_of(s)] = s.value;
    }
  }
  ASSERT_FALSE(buckets.empty());
  for (const auto& [series, points] : buckets) {
    ASSERT_GE(points.size(), 2U) << series;
    for (std::size_t i = 1; i < points.size(); ++i) {
      EXPECT_LT(points[i - 1].first, points[i].first) << series;
      EXPECT_LE(points[i - 1].second, points[i].second) << series;
    }
    EXPECT_TRUE(std::isinf(points.back().first)) << series;
    EXPECT_EQ(points.back().second, counts.at(series)) << series;
  }
  EXPECT_EQ(counts.at("/healthz GET 200"), RequestCount(after, "/healthz", "200"));

  std::set<std::string> names;
  std::set<std::string> tiers;
  for (const auto& s : after) {
    names.insert(s.name);
    if (s.name == "cohort_cache_hits_total") tiers.insert(s.labels.at("tier"));
  }
  EXPECT_EQ(tiers, (std::set<std::string>{"l1", "l2"}));
  for (const char* name : {"cohort_cache_misses_total", "cohort_queue_up", "cohort_queue_depth",
                           "cohort_queue_dead_letters", "cohort_store_errors_total"})
    EXPECT_TRUE(names.count(name)) << name;
}

TEST(MetricsTest, NeedsAReadKeyWhenKeysAreConfigured) {
  const std::string reader = "reader-key-0123456789";
  const std::string admin = "admin-key-0123456789";
  ServerProcess server(
      {.args = {}, .env = {{"COHORT_API_KEYS", reader + ":read," + admin + ":admin"}}, .data_dir = {}});
  EXPECT_EQ(server.Get("/metrics").status, 401);
  EXPECT_EQ(server.Get("/metrics", {{"Authorization", "Bearer " + reader}}).status, 200);
  EXPECT_EQ(server.Get("/openapi.json", {{"Authorization", "Bearer " + reader}}).status, 200);
  EXPECT_EQ(server.Get("/api/admin/routes", {{"Authorization", "Bearer " + reader}}).status, 403);
  EXPECT_EQ(server.Get("/api/admin/routes", {{"Authorization", "Bearer " + admin}}).status, 200);
}

}  // namespace
}  // namespace cohort::testing
