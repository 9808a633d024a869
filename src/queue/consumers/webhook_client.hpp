#pragma once
// POSTs a JSON body to a webhook with libcurl, bounded by a timeout. The answer decides the retry: a 2xx is
// success; a transport error, a timeout, 408, 429 and 5xx may pass later (kUnavailable); any other status
// will not (kFailedPrecondition).

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace cohort::queue {

struct WebhookOptions {
  std::string url;
  std::chrono::milliseconds timeout{5000};
};

// `idempotency_key` goes out as the Idempotency-Key header: the receiver can drop a repeated call.
Result<void> PostWebhook(const WebhookOptions& options, std::string_view body,
                         std::string_view idempotency_key);

}  // namespace cohort::queue
