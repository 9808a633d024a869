// The HTTP client of bench/events/run.sh: sends an NDJSON events file to POST /api/events in batches, over a
// few keep-alive connections at once, and reports the accepted events per second of wall time.
//
//   post_events URL FILE BATCH CONNECTIONS
//
// The file is read and cut into request bodies before the clock starts; each connection then takes the next
// batch until none is left. The result is one line on stdout, "events=N accepted=A duplicates=D requests=R
// seconds=S events_per_s=E p50_ms=P max_ms=M client_cpu_s=C" (events/s counts accepted events only; C is this
// client's own CPU time, to show that it is not the bottleneck); any answer other than 200 is printed and makes
// the exit status 1.

#include <curl/curl.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

using SteadyClock = std::chrono::steady_clock;

std::size_t Collect(char* data, std::size_t size, std::size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

struct Totals {
  std::mutex mutex;
  std::size_t accepted = 0, duplicates = 0, failures = 0;
  std::vector<double> latencies_ms;
};

void Worker(const std::string& url, const std::vector<std::string>& bodies, std::atomic<std::size_t>& next,
            Totals& totals) {
  CURL* curl = curl_easy_init();
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/x-ndjson");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip for large bodies
  std::string response;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 600L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  for (std::size_t i = next++; i < bodies.size(); i = next++) {
    response.clear();
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, bodies[i].data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(bodies[i].size()));
    const auto started = SteadyClock::now();
    const CURLcode rc = curl_easy_perform(curl);
    const double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - started).count();
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    std::lock_guard lock(totals.mutex);
    totals.latencies_ms.push_back(ms);
    if (rc != CURLE_OK || status != 200) {
      ++totals.failures;
      std::fprintf(stderr, "post_events: batch %zu: %s, HTTP %ld: %.300s\n", i, curl_easy_strerror(rc), status,
                   response.c_str());
      continue;
    }
    const auto answer = nlohmann::json::parse(response, nullptr, false);
    if (!answer.is_object() || !answer.contains("accepted")) {
      ++totals.failures;
      std::fprintf(stderr, "post_events: batch %zu: unexpected answer %.300s\n", i, response.c_str());
      continue;
    }
    totals.accepted += answer["accepted"].get<std::size_t>();
    totals.duplicates += answer["duplicates"].get<std::size_t>();
    if (!answer["rejected"].empty()) {
      ++totals.failures;
      std::fprintf(stderr, "post_events: batch %zu: %zu events rejected, first: %s\n", i, answer["rejected"].size(),
                   answer["rejected"][0].dump().c_str());
    }
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: post_events URL FILE BATCH CONNECTIONS\n");
    return 2;
  }
  const std::string url = argv[1];
  const std::size_t batch = std::stoul(argv[3]);
  const int connections = std::stoi(argv[4]);
  if (batch == 0 || connections <= 0) {
    std::fprintf(stderr, "post_events: BATCH and CONNECTIONS must be positive\n");
    return 2;
  }

  std::ifstream in(argv[2], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "post_events: cannot read %s\n", argv[2]);
    return 1;
  }
  std::vector<std::string> bodies;
  std::string line, body;
  std::size_t events = 0, in_body = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    body += line;
    body += '\n';
    ++events;
    if (++in_body == batch) {
      bodies.push_back(std::move(body));
      body.clear();
      in_body = 0;
    }
  }
  if (!body.empty()) bodies.push_back(std::move(body));

  curl_global_init(CURL_GLOBAL_DEFAULT);
  Totals totals;
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  const auto started = SteadyClock::now();
  for (int c = 0; c < connections; ++c) workers.emplace_back(Worker, std::cref(url), std::cref(bodies), std::ref(next),
                                                             std::ref(totals));
  for (auto& w : workers) w.join();
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
  curl_global_cleanup();

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  auto& lat = totals.latencies_ms;
  std::sort(lat.begin(), lat.end());
  const double p50 = lat.empty() ? 0 : lat[(lat.size() - 1) / 2];
  const double max = lat.empty() ? 0 : lat.back();
  std::printf("events=%zu accepted=%zu duplicates=%zu requests=%zu seconds=%.3f events_per_s=%.0f p50_ms=%.1f "
              "max_ms=%.1f client_cpu_s=%.2f\n",
              events, totals.accepted, totals.duplicates, bodies.size(), seconds,
              seconds > 0 ? static_cast<double>(totals.accepted) / seconds : 0.0, p50, max, cpu);
  return totals.failures == 0 ? 0 : 1;
}
