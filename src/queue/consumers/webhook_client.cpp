#include "queue/consumers/webhook_client.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <memory>

namespace cohort::queue {
namespace {

std::size_t Discard(char*, std::size_t size, std::size_t count, void*) { return size * count; }

struct CurlCleanup {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct ListCleanup {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

Result<void> PostWebhook(const WebhookOptions& options, std::string_view body,
                         std::string_view idempotency_key) {
  std::unique_ptr<CURL, CurlCleanup> curl(curl_easy_init());
  if (!curl) return Error::Internal("curl_easy_init failed");
  curl_slist* raw = curl_slist_append(nullptr, "Content-Type: application/json");
  raw = curl_slist_append(raw, fmt::format("Idempotency-Key: {}", idempotency_key).c_str());
  std::unique_ptr<curl_slist, ListCleanup> headers(raw);
  const long timeout_ms = static_cast<long>(options.timeout.count());
  curl_easy_setopt(curl.get(), CURLOPT_URL, options.url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);  // worker threads: no SIGALRM for timeouts
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &Discard);
  const CURLcode code = curl_easy_perform(curl.get());
  if (code != CURLE_OK) {
    return Error{code == CURLE_OPERATION_TIMEDOUT ? ErrorCode::kDeadlineExceeded : ErrorCode::kUnavailable,
                 "the webhook is unreachable",
                 fmt::format("POST {}: {}", options.url, curl_easy_strerror(code))};
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300) return {};
  const bool transient = status == 408 || status == 429 || status >= 500;
  return Error{transient ? ErrorCode::kUnavailable : ErrorCode::kFailedPrecondition,
               fmt::format("the webhook answered {}", status), fmt::format("POST {}", options.url)};
}

}  // namespace cohort::queue
