#include "api/error_response.hpp"

#include <nlohmann/json.hpp>

namespace cohort::api {

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists: return 409;
    case ErrorCode::kFailedPrecondition: return 409;
    case ErrorCode::kResourceExhausted: return 422;  // a limit of the request: too many rows, too large
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kDeadlineExceeded: return 504;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

HttpResponse ErrorResponse(int status, std::string_view code_name, std::string_view message) {
  nlohmann::json body = {{"error", {{"code", code_name}, {"message", message}}}};
  return HttpResponse{status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json", {}};
}

HttpResponse ErrorResponse(const Error& error) {
  return ErrorResponse(HttpStatusFor(error.code), ErrorCodeName(error.code), error.client_message);
}

}  // namespace cohort::api
