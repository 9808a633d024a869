#include "api/request_params.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "domain/validation.hpp"

namespace cohort::api {

Result<void> CheckQueryNames(const HttpRequest& request, std::initializer_list<std::string_view> allowed) {
  for (const auto& [name, value] : request.query)
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      return Error::InvalidArgument(fmt::format("unknown query parameter '{}'", name));
  return {};
}

Result<std::string> IdParam(const HttpRequest& request, std::string_view what) {
  std::string id(request.PathParam("id"));
  if (!domain::IsValidId(id))
    return Error::InvalidArgument(fmt::format("invalid {} id: 1-64 characters of [A-Za-z0-9_.:-]", what));
  return id;
}

Result<int> PageLimit(const HttpRequest& request, int fallback) {
  auto text = request.Query("limit");
  if (!text) return fallback;
  int n = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec != std::errc{} || end != text->data() + text->size() || n < 1 || n > domain::kMaxPageSize)
    return Error::InvalidArgument(
        fmt::format("query parameter 'limit' must be an integer from 1 to {}", domain::kMaxPageSize));
  return n;
}

Result<std::optional<std::string>> PageAfter(const HttpRequest& request) {
  auto after = request.Query("after");
  if (!after) return std::optional<std::string>{};
  if (!domain::IsValidId(*after))
    return Error::InvalidArgument("query parameter 'after' must be an id (1-64 characters of [A-Za-z0-9_.:-])");
  return std::optional<std::string>{std::string(*after)};
}

Result<std::optional<std::string>> CountryParam(const HttpRequest& request, std::string_view name) {
  auto value = request.Query(name);
  if (!value) return std::optional<std::string>{};
  std::string code(*value);
  std::transform(code.begin(), code.end(), code.begin(), [](char c) { return c >= 'a' && c <= 'z' ? c - 32 : c; });
  if (!domain::IsValidCountryCode(code))
    return Error::InvalidArgument(fmt::format("query parameter '{}' must be an ISO 3166-1 alpha-2 code", name));
  return std::optional<std::string>{code};
}

}  // namespace cohort::api
