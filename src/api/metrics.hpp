#pragma once
// Request counters and latency histograms for GET /metrics, in the Prometheus text exposition format 0.0.4.
//
// Series are keyed by the matched route pattern (never the raw path, so that ids do not multiply them), the
// method and the status. Recording takes one uncontended mutex: each thread writes to one of kShards shards,
// and only a scrape visits every shard.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/http_server.hpp"

namespace cohort::api {

// The route label of a request no route answered (404, 405, or refused by auth before routing).
inline constexpr std::string_view kUnmatchedRoute = "unmatched";

// Upper bounds of the latency buckets, in seconds; +Inf is implied.
inline constexpr std::array<double, 16> kLatencyBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

class HttpMetrics {
 public:
  HttpMetrics() = default;
  HttpMetrics(const HttpMetrics&) = delete;
  HttpMetrics& operator=(const HttpMetrics&) = delete;

  // `route` must outlive this object (a pattern held by the router, or kUnmatchedRoute).
  void Record(std::string_view route, std::string_view method, int status, double seconds);

  // Appends http_requests_total and http_request_duration_seconds, series sorted by route, method, status.
  void Render(std::string& out) const;

 private:
  // A route is one of a few long-lived strings, so it is compared and hashed by address.
  struct Key {
    std::string_view route;
    int method = 0;  // index into kMethods
    int status = 0;
    bool operator==(const Key& other) const {
      return route.data() == other.route.data() && route.size() == other.route.size() &&
             method == other.method && status == other.status;
    }
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const;
  };
  struct Series {
    std::array<std::uint64_t, kLatencyBuckets.size()> buckets{};  // not cumulative; the rest is +Inf
    std::uint64_t count = 0;
    double sum = 0;
  };
  struct alignas(64) Shard {
    mutable std::mutex mutex;
    std::unordered_map<Key, Series, KeyHash> series;  // guarded by mutex
  };
  static constexpr std::size_t kShards = 16;

  std::array<Shard, kShards> shards_;
};

// Wraps the server's handler: times it and records the answer under request.route. An exception is
// recorded as a 500 and rethrown (the server answers it).
Handler Instrument(HttpMetrics& metrics, Handler handler);

// Errors of the stores (kUnavailable, kDeadlineExceeded) answered by route handlers, process-wide.
void CountStoreError();
std::uint64_t StoreErrors();

// Prometheus text helpers.
std::string EscapeLabelValue(std::string_view value);
// "# HELP name help\n# TYPE name type\n".
void AppendHeader(std::string& out, std::string_view name, std::string_view type, std::string_view help);
// "name{labels} value\n"; `labels` is already rendered ("a=\"x\",b=\"y\"") or empty.
void AppendSample(std::string& out, std::string_view name, std::string_view labels, double value);

}  // namespace cohort::api
