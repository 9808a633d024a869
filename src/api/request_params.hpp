#pragma once
// Query-string helpers shared by the handlers: allowed names, page size, keyset cursor.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "api/http_types.hpp"
#include "common/result.hpp"

namespace cohort::api {

// 400 naming the first query parameter not in `allowed`.
Result<void> CheckQueryNames(const HttpRequest& request, std::initializer_list<std::string_view> allowed);
// The path parameter `id` as a valid id; `what` names it in the error ("user", "product").
Result<std::string> IdParam(const HttpRequest& request, std::string_view what);
// `limit`: 1..kMaxPageSize, default `fallback`.
Result<int> PageLimit(const HttpRequest& request, int fallback = 50);
// `after`: a valid id, or nothing.
Result<std::optional<std::string>> PageAfter(const HttpRequest& request);
// `name` as an ISO country code (upper-cased), or nothing.
Result<std::optional<std::string>> CountryParam(const HttpRequest& request, std::string_view name = "country");

}  // namespace cohort::api
