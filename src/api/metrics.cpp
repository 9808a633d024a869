#include "api/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <functional>
#include <map>
#include <tuple>
#include <utility>

namespace cohort::api {
namespace {

// Methods outside this list share "OTHER", so that a client cannot mint series with made-up methods.
constexpr std::array<std::string_view, 8> kMethods = {"OTHER", "GET",   "HEAD",   "POST",
                                                      "PUT",   "PATCH", "DELETE", "OPTIONS"};

int MethodIndex(std::string_view method) {
  for (std::size_t i = 1; i < kMethods.size(); ++i)
    if (kMethods[i] == method) return static_cast<int>(i);
  return 0;
}

std::size_t ShardOfThisThread(std::size_t shards) {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t shard = next.fetch_add(1, std::memory_order_relaxed);
  return shard % shards;
}

std::atomic<std::uint64_t> g_store_errors{0};

std::string FormatValue(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  if (value == std::floor(value) && std::fabs(value) < 1e15)
    return fmt::format("{}", static_cast<std::int64_t>(value));
  return fmt::format("{}", value);  // shortest form that reads back as the same double
}

}  // namespace

std::size_t HttpMetrics::KeyHash::operator()(const Key& key) const {
  const std::size_t h = std::hash<const void*>()(key.route.data());
  return h ^ (static_cast<std::size_t>(key.method) << 16) ^
         (static_cast<std::size_t>(key.status) * 0x9E3779B1U);
}

void HttpMetrics::Record(std::string_view route, std::string_view method, int status, double seconds) {
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(kLatencyBuckets.begin(), kLatencyBuckets.end(), seconds) - kLatencyBuckets.begin());
  Shard& shard = shards_[ShardOfThisThread(kShards)];
  std::lock_guard lock(shard.mutex);
  Series& series = shard.series[Key{route, MethodIndex(method), status}];
  if (bucket < series.buckets.size()) ++series.buckets[bucket];
  ++series.count;
  series.sum += seconds;
}

void HttpMetrics::Render(std::string& out) const {
  // Shards may hold the same key (two threads served one route): merge them, by label text.
  std::map<std::tuple<std::string_view, std::string_view, int>, Series> merged;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [key, series] : shard.series) {
      Series& total = merged[{key.route, kMethods[static_cast<std::size_t>(key.method)], key.status}];
      for (std::size_t i = 0; i < series.buckets.size(); ++i) total.buckets[i] += series.buckets[i];
      total.count += series.count;
      total.sum += series.sum;
    }
  }
  const auto labels = [](const auto& key) {
    const auto& [route, method, status] = key;
    return fmt::format("route=\"{}\",method=\"{}\",status=\"{}\"", EscapeLabelValue(route), method, status);
  };
  AppendHeader(out, "http_requests_total", "counter",
               "HTTP requests answered, by route pattern, method and status.");
  for (const auto& [key, series] : merged)
    AppendSample(out, "http_requests_total", labels(key), static_cast<double>(series.count));
  AppendHeader(
      out, "http_request_duration_seconds", "histogram",
      "Time from the complete request to the handler's answer, by route pattern, method and status.");
  for (const auto& [key, series] : merged) {
    const std::string base = labels(key);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      cumulative += series.buckets[i];
      AppendSample(out, "http_request_duration_seconds_bucket",
                   base + ",le=\"" + FormatValue(kLatencyBuckets[i]) + "\"", static_cast<double>(cumulative));
    }
    AppendSample(out, "http_request_duration_seconds_bucket", base + ",le=\"+Inf\"",
                 static_cast<double>(series.count));
    AppendSample(out, "http_request_duration_seconds_sum", base, series.sum);
    AppendSample(out, "http_request_duration_seconds_count", base, static_cast<double>(series.count));
  }
}

Handler Instrument(HttpMetrics& metrics, Handler handler) {
  return [&metrics, handler = std::move(handler)](HttpRequest& request) -> HttpResponse {
    const auto started = std::chrono::steady_clock::now();
    const auto record = [&](int status) {
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      metrics.Record(request.route.empty() ? kUnmatchedRoute : request.route, request.method, status,
                     seconds);
    };
    try {
      HttpResponse response = handler(request);
      record(response.status);
      return response;
    } catch (...) {
      record(500);
      throw;
    }
  };
}

void CountStoreError() { g_store_errors.fetch_add(1, std::memory_order_relaxed); }
std::uint64_t StoreErrors() { return g_store_errors.load(std::memory_order_relaxed); }

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void AppendHeader(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  // HELP text escapes backslash and newline only.
  std::string escaped;
  for (const char c : help) {
    if (c == '\\')
      escaped += "\\\\";
    else if (c == '\n')
      escaped += "\\n";
    else
      escaped += c;
  }
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escaped, name, type);
}

void AppendSample(std::string& out, std::string_view name, std::string_view labels, double value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += FormatValue(value);
  out += '\n';
}

}  // namespace cohort::api
