#pragma once
// One protocol-neutral error type. The code decides the HTTP status (api/) and the retry policy (queue/);
// the client message is safe to show, the internal message is for the log only.

#include <string>
#include <string_view>

namespace cohort {

enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kUnauthenticated,
  kPermissionDenied,
  kResourceExhausted,
  kUnavailable,
  kDeadlineExceeded,
  kInternal,
};

// Stable snake_case name used on the wire ("invalid_argument", ...).
std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string client_message;    // shown to the caller
  std::string internal_message;  // logged, never sent

  static Error InvalidArgument(std::string msg) { return {ErrorCode::kInvalidArgument, std::move(msg), {}}; }
  static Error NotFound(std::string msg) { return {ErrorCode::kNotFound, std::move(msg), {}}; }
  static Error AlreadyExists(std::string msg) { return {ErrorCode::kAlreadyExists, std::move(msg), {}}; }
  static Error Unavailable(std::string internal) {
    return {ErrorCode::kUnavailable, "a backing store is unavailable", std::move(internal)};
  }
  static Error Internal(std::string internal) {
    return {ErrorCode::kInternal, "internal error", std::move(internal)};
  }
};

}  // namespace cohort
