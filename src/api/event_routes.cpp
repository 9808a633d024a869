#include "api/event_routes.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "api/cached_response.hpp"
#include "api/error_response.hpp"
#include "api/event_codec.hpp"
#include "api/event_ingest.hpp"
#include "api/json_codec.hpp"
#include "api/request_params.hpp"
#include "api/route_handler.hpp"
#include "common/time.hpp"
#include "domain/validation.hpp"

namespace cohort::api {
namespace {

using store::events::Pipeline;

std::int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
}

Result<std::optional<std::int64_t>> SinceParam(const HttpRequest& request) {
  auto since = request.Query("since");
  if (!since) return std::optional<std::int64_t>{};
  auto t = ParseRfc3339(*since);
  if (!t) return Error::InvalidArgument("query parameter 'since' must be an RFC 3339 time, like 2026-11-01T00:00:00Z");
  return std::optional<std::int64_t>{std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch()).count()};
}

Json ErrorJson(const Error& e) {
  return Json{{"code", ErrorCodeName(e.code)}, {"message", e.client_message}};
}

using OrderedJson = nlohmann::ordered_json;

// Runs a pipeline on the event store; ordered JSON, because key order is meaningful in $sort.
Result<std::vector<Json>> RunPipeline(store::EventStore& events, const OrderedJson& pipeline,
                                      const store::events::PipelineLimits& limits) {
  COHORT_ASSIGN_OR_RETURN(Pipeline plan, Pipeline::Parse(pipeline));
  return events.Aggregate(plan, limits);
}

OrderedJson MatchSince(OrderedJson match, const std::optional<std::string_view>& since) {
  if (since) match["ts"] = Json{{"$gte", std::string(*since)}};
  return match;
}

}  // namespace

void AddEventRoutes(Router& router, store::EventStore& events, store::RelationalStore& relational,
                    cache::TieredCache& cache, EventRoutesOptions options) {
  router.Add("POST", "/api/events", Handle([&events, &relational, &cache](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {}));
               ParsedEvents parsed;
               if (req.content_type.find("ndjson") != std::string::npos) {
                 parsed = ParseEventsNdjson(req.body, NowMicros());
               } else {
                 if (!req.content_type.empty() && req.content_type.find("json") == std::string::npos)
                   return Error::InvalidArgument("Content-Type must be application/json or application/x-ndjson");
                 COHORT_ASSIGN_OR_RETURN(parsed, ParseEventsJson(req.body, NowMicros()));
               }
               Json rejected = Json::array();
               for (const auto& [index, error] : parsed.errors)
                 rejected.push_back({{"index", index}, {"error", ErrorJson(error)}});
               if (parsed.events.empty()) {
                 auto response = JsonResponse(
                     400, Json{{"error", {{"code", "invalid_argument"},
                                          {"message", parsed.errors.empty() ? std::string("no events in the request")
                                                                            : "no valid event in the request: " +
                                                                                  parsed.errors.front().second.client_message}}},
                               {"rejected", rejected}});
                 return response;
               }
               COHORT_ASSIGN_OR_RETURN(IngestCounts counts, IngestEvents(events, relational, parsed.events));
               if (counts.accepted > 0) {
                 std::vector<std::string_view> users;
                 for (const auto& e : parsed.events) users.push_back(e.user_id);
                 std::sort(users.begin(), users.end());
                 users.erase(std::unique(users.begin(), users.end()), users.end());
                 for (auto user : users) cache.Invalidate(user);
               }
               return JsonResponse(200, Json{{"accepted", counts.accepted},
                                             {"duplicates", counts.duplicates},
                                             {"unknown_users", counts.unknown_users},
                                             {"rejected", rejected}});
             }));

  router.Add("GET", "/api/users/{id}/events", Handle([&events](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {"type", "since", "limit"}));
               store::EventQuery query;
               query.user_id = std::string(req.PathParam("id"));
               if (!domain::IsValidId(query.user_id))
                 return Error::InvalidArgument("invalid user id: 1-64 characters of [A-Za-z0-9_.:-]");
               if (auto type = req.Query("type")) query.type = std::string(*type);
               COHORT_ASSIGN_OR_RETURN(query.since_micros, SinceParam(req));
               COHORT_ASSIGN_OR_RETURN(int limit, PageLimit(req, 100));
               query.limit = static_cast<std::size_t>(limit);
               COHORT_ASSIGN_OR_RETURN(auto found, events.UserEvents(query));
               Json items = Json::array();
               for (const auto& e : found) items.push_back(ToJson(e));
               return JsonResponse(200, Json{{"items", std::move(items)}});
             }));

  router.Add("POST", "/api/analytics/aggregate",
             Handle([&events, options](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {}));
               COHORT_ASSIGN_OR_RETURN(OrderedJson body, ParseOrderedJsonBody(req));
               if (!body.is_object() || !body.contains("pipeline") || body.size() != 1)
                 return Error::InvalidArgument("the body must be {\"pipeline\": [...]}");
               COHORT_ASSIGN_OR_RETURN(auto results, RunPipeline(events, body["pipeline"], options.pipeline_limits));
               return JsonResponse(200, Json{{"results", std::move(results)}});
             }));

  // The seed's example: purchases grouped by category with their count and revenue, largest first.
  router.Add("GET", "/api/analytics/revenue-by-category",
             Handle([&events, &cache, options](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {"since"}));
               COHORT_TRY(SinceParam(req));
               const OrderedJson pipeline = {
                   {{"$match", MatchSince({{"type", "purchase"}}, req.Query("since"))}},
                   {{"$group",
                     {{"_id", "$category"},
                      {"count", {{"$sum", 1}}},
                      {"total", {{"$sum", {{"$multiply", {"$price", "$quantity"}}}}}}}}},
                   {{"$sort", {{"total", -1}, {"_id", 1}}}},
                   {{"$project", {{"_id", 0}, {"category", "$_id"}, {"count", 1}, {"total", 1}}}}};
               return CachedJson(cache, {"analytics", "", "revenue-by-category?" + QueryKey(req)},
                                 options.ttls.analytics, [&]() -> Result<std::string> {
                                   COHORT_ASSIGN_OR_RETURN(auto results,
                                                           RunPipeline(events, pipeline, options.pipeline_limits));
                                   return Json(std::move(results)).dump();
                                 });
             }));

  router.Add("GET", "/api/analytics/top-products",
             Handle([&events, &cache, options](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {"category", "type", "since", "limit"}));
               COHORT_TRY(SinceParam(req));
               COHORT_ASSIGN_OR_RETURN(int limit, PageLimit(req, 10));
               OrderedJson match = {{"type", std::string(req.Query("type").value_or("purchase"))},
                             {"product_id", {{"$ne", nullptr}}}};
               if (auto category = req.Query("category")) match["category"] = std::string(*category);
               const OrderedJson pipeline = {
                   {{"$match", MatchSince(match, req.Query("since"))}},
                   {{"$group",
                     {{"_id", "$product_id"},
                      {"events", {{"$sum", 1}}},
                      {"quantity", {{"$sum", "$quantity"}}},
                      {"revenue", {{"$sum", {{"$multiply", {"$price", "$quantity"}}}}}}}}},
                   {{"$sort", {{"events", -1}, {"_id", 1}}}},
                   {{"$limit", limit}},
                   {{"$project", {{"_id", 0}, {"product_id", "$_id"}, {"events", 1}, {"quantity", 1}, {"revenue", 1}}}}};
               return CachedJson(cache, {"analytics", "", "top-products?" + QueryKey(req)}, options.ttls.analytics,
                                 [&]() -> Result<std::string> {
                                   COHORT_ASSIGN_OR_RETURN(auto results,
                                                           RunPipeline(events, pipeline, options.pipeline_limits));
                                   return Json(std::move(results)).dump();
                                 });
             }));
}

}  // namespace cohort::api
