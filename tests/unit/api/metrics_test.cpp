// HttpMetrics: series per route pattern, method and status, cumulative buckets, the exposition text, label
// escaping, and Instrument recording what the router matched.

#include "api/metrics.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "api/router.hpp"

namespace cohort::api {
namespace {

bool Contains(const std::string& text, std::string_view line) { return text.find(line) != std::string::npos; }

TEST(HttpMetricsTest, RendersCountersAndCumulativeBucketsPerSeries) {
  HttpMetrics metrics;
  static const std::string kRoute = "/api/users/{id}";
  metrics.Record(kRoute, "GET", 200, 0.0002);   // bucket le=0.00025
  metrics.Record(kRoute, "GET", 200, 0.003);    // bucket le=0.005
  metrics.Record(kRoute, "GET", 200, 60);       // above every bound: +Inf only
  metrics.Record(kRoute, "GET", 404, 0.00001);  // another series
  metrics.Record(kRoute, "BREW", 200, 0.1);     // an unknown method is OTHER
  std::string text;
  metrics.Render(text);

  const std::string labels = "route=\"/api/users/{id}\",method=\"GET\",status=\"200\"";
  EXPECT_TRUE(Contains(text, "# TYPE http_requests_total counter\n"));
  EXPECT_TRUE(Contains(text, "# TYPE http_request_duration_seconds histogram\n"));
  EXPECT_TRUE(Contains(text, "http_requests_total{" + labels + "} 3\n")) << text;
  EXPECT_TRUE(
      Contains(text, "http_requests_total{route=\"/api/users/{id}\",method=\"GET\",status=\"404\"} 1\n"));
  EXPECT_TRUE(
      Contains(text, "http_requests_total{route=\"/api/users/{id}\",method=\"OTHER\",status=\"200\"} 1\n"));
  EXPECT_TRUE(Contains(text, "http_request_duration_seconds_bucket{" + labels + ",le=\"0.0001\"} 0\n"));
  EXPECT_TRUE(Contains(text, "http_request_duration_seconds_bucket{" + labels + ",le=\"0.00025\"} 1\n"));
  EXPECT_TRUE(Contains(text, "http_request_duration_seconds_bucket{" + labels + ",le=\"0.0025\"} 1\n"));
  EXPECT_TRUE(Contains(text, "http_request_duration_seconds_bucket{" + labels + ",le=\"0.005\"} 2\n"));
  EXPECT_TRUE(Contains(text, "http_request_duration_seconds_bucket{" + labels + ",le=\"10\"} 2\n"));
  EXPECT_TRUE(Contains(text, "http_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} 3\n"));
  EXPECT_TRUE(Contains(text, "http_request_duration_seconds_sum{" + labels + "} 60.0032\n")) << text;
  EXPECT_TRUE(Contains(text, "http_request_duration_seconds_count{" + labels + "} 3\n"));
}

TEST(HttpMetricsTest, EscapesLabelValuesAndHelpText) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  std::string out;
  AppendHeader(out, "x_total", "counter", "one\\two\nthree");
  EXPECT_EQ(out, "# HELP x_total one\\\\two\\nthree\n# TYPE x_total counter\n");
  out.clear();
  AppendSample(out, "x_total", "", 2.5);
  EXPECT_EQ(out, "x_total 2.5\n");
}

TEST(HttpMetricsTest, InstrumentRecordsTheMatchedPatternOrUnmatched) {
  Router router;
  router.Add("GET", "/api/users/{id}", [](const HttpRequest&) {
    return HttpResponse{200, "", "text/plain", {}};
  });
  router.Add("GET", "/boom", [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
  HttpMetrics metrics;
  const Handler handler =
      Instrument(metrics, [&router](HttpRequest& request) { return router.Dispatch(request); });
  const auto call = [&](std::string method, std::string path) {
    HttpRequest request;
    request.method = std::move(method);
    request.path = std::move(path);
    return handler(request).status;
  };
  EXPECT_EQ(call("GET", "/api/users/u1"), 200);
  EXPECT_EQ(call("GET", "/api/users/u2"), 200);
  EXPECT_EQ(call("GET", "/nowhere"), 404);
  EXPECT_EQ(call("POST", "/api/users/u1"), 405);
  EXPECT_THROW(call("GET", "/boom"), std::runtime_error);
  std::string text;
  metrics.Render(text);
  EXPECT_TRUE(
      Contains(text, "http_requests_total{route=\"/api/users/{id}\",method=\"GET\",status=\"200\"} 2\n"))
      << text;
  EXPECT_TRUE(Contains(text, "http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n"));
  EXPECT_TRUE(Contains(text, "http_requests_total{route=\"unmatched\",method=\"POST\",status=\"405\"} 1\n"));
  EXPECT_TRUE(Contains(text, "http_requests_total{route=\"/boom\",method=\"GET\",status=\"500\"} 1\n"));
  EXPECT_FALSE(Contains(text, "u1")) << "a raw path became a label";
}

TEST(HttpMetricsTest, StoreErrorsOnlyGrow) {
  const std::uint64_t before = StoreErrors();
  CountStoreError();
  EXPECT_EQ(StoreErrors(), before + 1);
}

}  // namespace
}  // namespace cohort::api
