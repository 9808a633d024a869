#include "api/analytics_routes.hpp"

#include <chrono>

#include "api/json_codec.hpp"
#include "api/request_params.hpp"
#include "api/route_handler.hpp"
#include "common/time.hpp"

namespace cohort::api {
namespace {

std::int64_t Micros(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

Json ModelVersion(const std::shared_ptr<const analytics::Model>& model) {
  return model ? Json(model->version) : Json(nullptr);
}

}  // namespace

analytics::UserProfile ProfileOf(const domain::User& user) {
  analytics::UserProfile profile;
  profile.id = user.id;
  if (auto t = ParseRfc3339(user.created_at)) profile.registered_micros = Micros(*t);
  profile.country = user.address.country_code;
  profile.country_name = user.address.country_name;
  return profile;
}

void AddAnalyticsRoutes(Router& router, store::RelationalStore& relational, store::EventStore& events,
                        store::ModelStore& models, ModelSource model, AnalyticsRoutesOptions options) {
  router.Add("GET", "/api/users/{id}/insights",
             Handle([&relational, &events, model, options](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {}));
               COHORT_ASSIGN_OR_RETURN(const std::string id, IdParam(req, "user"));
               COHORT_ASSIGN_OR_RETURN(const domain::User user, relational.GetUser(id));
               const analytics::UserProfile profile = ProfileOf(user);
               COHORT_ASSIGN_OR_RETURN(
                   auto history,
                   events.UserEvents({.user_id = id, .limit = options.user_events_limit, .details = false}));
               const auto current = model();
               const auto now = Clock::now();
               const analytics::Insight insight =
                   analytics::ScoreUser(current.get(), profile, history, Micros(now), options.engine);
               Json body = insight.ToJson(Micros(now));
               body["user_id"] = id;
               body["model_version"] = ModelVersion(current);
               body["generated_at"] = FormatRfc3339(now);
               return JsonResponse(200, body);
             }));

  router.Add("GET", "/api/analytics/segments", Handle([model](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {}));
               const auto current = model();
               if (!current)
                 return Error{ErrorCode::kFailedPrecondition,
                              "no model has been trained yet: run `cohort train` (segments are counted at training)",
                              {}};
               Json items = Json::array();
               for (analytics::Segment s : analytics::kSegments) {
                 const auto& total = current->segments[static_cast<std::size_t>(s)];
                 items.push_back({{"segment", analytics::SegmentName(s)},
                                  {"users", total.users},
                                  {"revenue", total.revenue},
                                  {"offer", analytics::SegmentOffer(s)},
                                  {"goal", analytics::SegmentGoal(s)}});
               }
               return JsonResponse(200, Json{{"model_version", current->version},
                                             {"as_of", FormatRfc3339(Clock::time_point(std::chrono::microseconds(
                                                           current->until_micros)))},
                                             {"segments", items}});
             }));

  router.Add("GET", "/api/admin/models", Handle([&models, model](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {}));
               COHORT_ASSIGN_OR_RETURN(auto versions, models.List(20));
               Json list = Json::array();
               for (const auto& v : versions)
                 list.push_back({{"version", v.version}, {"trained_at", v.trained_at}, {"bytes", v.bytes}});
               const auto current = model();
               return JsonResponse(200, Json{{"current", current ? analytics::ModelSummaryJson(*current) : Json(nullptr)},
                                             {"versions", list}});
             }));
}

}  // namespace cohort::api
