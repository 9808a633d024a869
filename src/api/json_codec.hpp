#pragma once
// JSON in and out of the API. Input is strict: unknown fields, wrong types and missing required fields are
// rejected with a message naming the field (see README, "Unknown fields").

#include <nlohmann/json.hpp>

#include "api/http_types.hpp"
#include "common/result.hpp"
#include "domain/entities.hpp"

namespace cohort::api {

using Json = nlohmann::json;

inline constexpr int kMaxJsonDepth = 32;

// Parses a request body as JSON: 400 for malformed JSON or nesting deeper than kMaxJsonDepth.
Result<Json> ParseJsonBody(const HttpRequest& request);
// The same, keeping the written order of object keys (it matters in a pipeline's $sort).
Result<nlohmann::ordered_json> ParseOrderedJsonBody(const HttpRequest& request);
HttpResponse JsonResponse(int status, const Json& body);

Result<domain::User> UserFromJson(const Json& json);
Result<domain::UserPatch> UserPatchFromJson(const Json& json);
Result<domain::Product> ProductFromJson(const Json& json, std::string_view path = "");

Json ToJson(const domain::User& user);
Json ToJson(const domain::Product& product);

}  // namespace cohort::api
