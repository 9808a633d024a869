#include "queue/retry_policy.hpp"

#include <algorithm>
#include <exception>

namespace cohort::queue {

HandlerResult HandlerResult::FromError(const Error& error) {
  std::string text = error.internal_message.empty() ? error.client_message
                                                    : error.client_message + ": " + error.internal_message;
  switch (error.code) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kDeadlineExceeded:
    case ErrorCode::kResourceExhausted:
    case ErrorCode::kInternal:
      return Retry(std::move(text));
    default:
      return Reject(std::move(text));
  }
}

std::vector<HandlerResult> Consumer::HandleBatch(std::span<const Delivery> batch) {
  std::vector<HandlerResult> results;
  results.reserve(batch.size());
  for (const Delivery& delivery : batch) {
    // An exception counts as a retry of its own delivery only.
    try {
      results.push_back(Handle(delivery));
    } catch (const std::exception& e) {
      results.push_back(HandlerResult::Retry(e.what()));
    } catch (...) {
      results.push_back(HandlerResult::Retry("unknown exception"));
    }
  }
  return results;
}

std::chrono::milliseconds BackoffCeiling(const RetryPolicy& policy, int attempt) {
  const std::int64_t base = std::max<std::int64_t>(policy.base_delay.count(), 0);
  const std::int64_t cap = std::max<std::int64_t>(policy.max_delay.count(), base);
  std::int64_t whole = base;
  for (int i = 1; i < attempt && whole < cap; ++i) whole *= 2;
  return std::chrono::milliseconds(std::min(whole, cap));
}

std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt, std::mt19937_64& random) {
  const std::int64_t whole = BackoffCeiling(policy, attempt).count();
  if (whole <= 1) return std::chrono::milliseconds(whole);
  std::uniform_int_distribution<std::int64_t> pick(whole / 2, whole);
  return std::chrono::milliseconds(pick(random));
}

Decision Decide(const RetryPolicy& policy, int attempt, const HandlerResult& result,
                std::mt19937_64& random) {
  switch (result.outcome) {
    case Outcome::kAck:
      return {};
    case Outcome::kReject:
      return {Settlement::kDeadLetter, {}};
    case Outcome::kRetry:
      if (attempt >= policy.max_attempts) return {Settlement::kDeadLetter, {}};
      return {Settlement::kRetry, BackoffDelay(policy, attempt, random)};
  }
  return {Settlement::kDeadLetter, {}};
}

}  // namespace cohort::queue
