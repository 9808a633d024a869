#pragma once
// The one place where an Error becomes an HTTP answer: {"error":{"code":...,"message":...}}.

#include "api/http_types.hpp"
#include "common/error.hpp"

namespace cohort::api {

int HttpStatusFor(ErrorCode code);
// `code_name` overrides the canonical name for HTTP-only cases (e.g. "method_not_allowed").
HttpResponse ErrorResponse(int status, std::string_view code_name, std::string_view message);
HttpResponse ErrorResponse(const Error& error);

}  // namespace cohort::api
