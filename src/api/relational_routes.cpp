#include "api/relational_routes.hpp"

#include <fmt/format.h>

#include "api/cached_response.hpp"
#include "api/error_response.hpp"
#include "api/json_codec.hpp"
#include "api/request_params.hpp"
#include "api/route_handler.hpp"
#include "domain/validation.hpp"

namespace cohort::api {
namespace {

using domain::Product;
using domain::User;

template <typename T>
Json PageJson(const domain::Page<T>& page) {
  Json items = Json::array();
  for (const auto& item : page.items) items.push_back(ToJson(item));
  return Json{{"items", std::move(items)}, {"next_after", page.next_after ? Json(*page.next_after) : Json(nullptr)}};
}

}  // namespace

void AddRelationalRoutes(Router& router, store::RelationalStore& store, cache::TieredCache& cache, CacheTtls ttls) {
  router.Add("POST", "/api/users", Handle([&store](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {}));
               COHORT_ASSIGN_OR_RETURN(Json body, ParseJsonBody(req));
               COHORT_ASSIGN_OR_RETURN(User user, UserFromJson(body));
               COHORT_TRY(store.CreateUsers(std::span<const User>(&user, 1)));
               COHORT_ASSIGN_OR_RETURN(User created, store.GetUser(user.id));
               auto response = JsonResponse(201, ToJson(created));
               response.headers.emplace_back("Location", "/api/users/" + created.id);
               return response;
             }));

  router.Add("GET", "/api/users/{id}", Handle([&store, &cache, ttls](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {}));
               COHORT_ASSIGN_OR_RETURN(std::string id, IdParam(req, "user"));
               return CachedJson(cache, {"user", id, ""}, ttls.user, [&]() -> Result<std::string> {
                 COHORT_ASSIGN_OR_RETURN(User user, store.GetUser(id));
                 return ToJson(user).dump();
               });
             }));

  router.Add("PATCH", "/api/users/{id}", Handle([&store, &cache](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {}));
               COHORT_ASSIGN_OR_RETURN(std::string id, IdParam(req, "user"));
               COHORT_ASSIGN_OR_RETURN(Json body, ParseJsonBody(req));
               COHORT_ASSIGN_OR_RETURN(domain::UserPatch patch, UserPatchFromJson(body));
               COHORT_ASSIGN_OR_RETURN(User user, store.UpdateUser(id, patch));
               cache.Invalidate(id);
               return JsonResponse(200, ToJson(user));
             }));

  router.Add("DELETE", "/api/users/{id}", Handle([&store, &cache](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {}));
               COHORT_ASSIGN_OR_RETURN(std::string id, IdParam(req, "user"));
               COHORT_TRY(store.DeleteUser(id));
               cache.Invalidate(id);
               return HttpResponse{204, "", "application/json", {}};
             }));

  router.Add("GET", "/api/users", Handle([&store](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {"country", "city", "limit", "after"}));
               domain::UserQuery query;
               COHORT_ASSIGN_OR_RETURN(query.country, CountryParam(req));
               if (auto city = req.Query("city")) query.city = std::string(*city);
               COHORT_ASSIGN_OR_RETURN(query.limit, PageLimit(req));
               COHORT_ASSIGN_OR_RETURN(query.after, PageAfter(req));
               COHORT_ASSIGN_OR_RETURN(auto page, store.ListUsers(query));
               return JsonResponse(200, PageJson(page));
             }));

  router.Add("GET", "/api/countries", Handle([&store](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {}));
               COHORT_ASSIGN_OR_RETURN(auto countries, store.ListCountries());
               Json out = Json::array();
               for (const auto& c : countries) out.push_back({{"code", c.code}, {"name", c.name}});
               return JsonResponse(200, out);
             }));

  router.Add("GET", "/api/countries/{code}/cities", Handle([&store](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {}));
               std::string code(req.PathParam("code"));
               for (char& c : code)
                 if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
               if (!domain::IsValidCountryCode(code))
                 return Error::InvalidArgument("country code must be ISO 3166-1 alpha-2, like UA");
               COHORT_ASSIGN_OR_RETURN(auto cities, store.ListCities(code));
               Json out = Json::array();
               for (const auto& c : cities) out.push_back({{"id", c.id}, {"name", c.name}, {"country", c.country_code}});
               return JsonResponse(200, out);
             }));

  router.Add("POST", "/api/products", Handle([&store](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {}));
               COHORT_ASSIGN_OR_RETURN(Json body, ParseJsonBody(req));
               std::vector<Product> products;
               if (body.is_array()) {
                 if (body.empty()) return Error::InvalidArgument("the array of products is empty");
                 for (std::size_t i = 0; i < body.size(); ++i) {
                   COHORT_ASSIGN_OR_RETURN(Product p, ProductFromJson(body[i], fmt::format("[{}]", i)));
                   products.push_back(std::move(p));
                 }
               } else {
                 COHORT_ASSIGN_OR_RETURN(Product p, ProductFromJson(body));
                 products.push_back(std::move(p));
               }
               COHORT_TRY(store.UpsertProducts(products));
               return JsonResponse(200, Json{{"upserted", products.size()}});
             }));

  router.Add("GET", "/api/products/{id}", Handle([&store](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {}));
               COHORT_ASSIGN_OR_RETURN(std::string id, IdParam(req, "product"));
               COHORT_ASSIGN_OR_RETURN(Product product, store.GetProduct(id));
               return JsonResponse(200, ToJson(product));
             }));

  router.Add("GET", "/api/products", Handle([&store](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {"category", "limit", "after"}));
               domain::ProductQuery query;
               if (auto category = req.Query("category")) query.category = std::string(*category);
               COHORT_ASSIGN_OR_RETURN(query.limit, PageLimit(req));
               COHORT_ASSIGN_OR_RETURN(query.after, PageAfter(req));
               COHORT_ASSIGN_OR_RETURN(auto page, store.ListProducts(query));
               return JsonResponse(200, PageJson(page));
             }));

  router.Add("GET", "/api/analytics/users-by-country",
             Handle([&store, &cache, ttls](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {}));
               return CachedJson(cache, {"analytics", "", "users-by-country"}, ttls.analytics,
                                 [&]() -> Result<std::string> {
                                   COHORT_ASSIGN_OR_RETURN(auto stats, store.UsersByCountry());
                                   Json out = Json::array();
                                   for (const auto& s : stats)
                                     out.push_back({{"country", s.code}, {"name", s.name}, {"users", s.users},
                                                    {"cities", s.cities}});
                                   return out.dump();
                                 });
             }));

  router.Add("GET", "/api/analytics/users-by-city",
             Handle([&store, &cache, ttls](const HttpRequest& req) -> Result<HttpResponse> {
               COHORT_TRY(CheckQueryNames(req, {"country"}));
               COHORT_ASSIGN_OR_RETURN(auto country, CountryParam(req));
               return CachedJson(cache, {"analytics", "", "users-by-city?" + country.value_or("")}, ttls.analytics,
                                 [&]() -> Result<std::string> {
                                   COHORT_ASSIGN_OR_RETURN(auto stats, store.UsersByCity(country));
                                   Json out = Json::array();
                                   for (const auto& s : stats)
                                     out.push_back({{"city", s.city}, {"country", s.country_code}, {"users", s.users}});
                                   return out.dump();
                                 });
             }));
}

}  // namespace cohort::api
