#pragma once
// Adapts a handler body returning Result<HttpResponse> to a RouteHandler: an error becomes the JSON error
// answer, and server-side failures are logged with the request id (the client sees only the client message).

#include <spdlog/spdlog.h>

#include "api/error_response.hpp"
#include "api/metrics.hpp"
#include "api/router.hpp"

namespace cohort::api {

template <typename Body>
RouteHandler Handle(Body body) {
  return [body = std::move(body)](const HttpRequest& request) -> HttpResponse {
    Result<HttpResponse> response = body(request);
    if (response) return std::move(response).value();
    const Error& error = response.error();
    const bool store_error = error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kDeadlineExceeded;
    if (store_error) CountStoreError();
    if (error.code == ErrorCode::kInternal || store_error)
      spdlog::error("request_id={} code={} {}", request.request_id, ErrorCodeName(error.code),
                    error.internal_message.empty() ? error.client_message : error.internal_message);
    return ErrorResponse(error);
  };
}

}  // namespace cohort::api
