// Router: segment matching, static-over-parameter priority, 404 / 405 answers, registration order.

#include "api/router.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace cohort::api {
namespace {

// A handler that answers with its own name, so a test can see which route was chosen.
RouteHandler Named(std::string name) {
  return [name = std::move(name)](const HttpRequest&) { return HttpResponse{200, name, "text/plain", {}}; };
}

HttpResponse Call(const Router& router, std::string method, std::string path, HttpRequest* out = nullptr) {
  HttpRequest request;
  request.method = std::move(method);
  request.path = std::move(path);
  HttpResponse response = router.Dispatch(request);
  if (out != nullptr) *out = std::move(request);
  return response;
}

std::string HeaderValue(const HttpResponse& response, std::string_view name) {
  for (const auto& [k, v] : response.headers)
    if (k == name) return v;
  return "<missing>";
}

nlohmann::json ErrorOf(const HttpResponse& response) {
  return nlohmann::json::parse(response.body).at("error");
}

TEST(RouterTest, StaticSegmentWinsOverParameter) {
  Router router;
  router.Add("GET", "/users/{id}", Named("by-id"));
  router.Add("GET", "/users/me", Named("me"));
  EXPECT_EQ(Call(router, "GET", "/users/me").body, "me");
  EXPECT_EQ(Call(router, "GET", "/users/42").body, "by-id");
}

TEST(RouterTest, FallsBackToParameterWhenStaticBranchDeadEnds) {
  Router router;
  router.Add("GET", "/a/{x}/c", Named("param"));
  router.Add("GET", "/a/b/d", Named("static"));
  HttpRequest request;
  EXPECT_EQ(Call(router, "GET", "/a/b/c", &request).body, "param");
  EXPECT_EQ(request.PathParam("x"), "b");
  EXPECT_EQ(Call(router, "GET", "/a/b/d").body, "static");
}

TEST(RouterTest, ExtractsPathParametersInOrder) {
  Router router;
  router.Add("GET", "/api/users/{id}/events/{event_id}", Named("event"));
  HttpRequest request;
  const HttpResponse response = Call(router, "GET", "/api/users/u-7/events/e 9", &request);
  EXPECT_EQ(response.body, "event");
  ASSERT_EQ(request.path_params.size(), 2u);
  EXPECT_EQ(request.path_params[0], (std::pair<std::string, std::string>{"id", "u-7"}));
  EXPECT_EQ(request.path_params[1], (std::pair<std::string, std::string>{"event_id", "e 9"}));
}

TEST(RouterTest, RoutesSharingAPositionMayNameTheParameterDifferently) {
  Router router;
  router.Add("GET", "/u/{id}", Named("user"));
  router.Add("GET", "/u/{uid}/events", Named("events"));
  HttpRequest request;
  EXPECT_EQ(Call(router, "GET", "/u/5", &request).body, "user");
  EXPECT_EQ(request.PathParam("id"), "5");
  EXPECT_EQ(Call(router, "GET", "/u/6/events", &request).body, "events");
  EXPECT_EQ(request.PathParam("uid"), "6");
  EXPECT_EQ(request.PathParam("id"), "");
}

TEST(RouterTest, ReplacesPathParametersLeftFromAnEarlierDispatch) {
  Router router;
  router.Add("GET", "/static", Named("static"));
  HttpRequest request;
  request.method = "GET";
  request.path = "/static";
  request.path_params = {{"stale", "1"}};
  EXPECT_EQ(router.Dispatch(request).body, "static");
  EXPECT_TRUE(request.path_params.empty());
}

TEST(RouterTest, ParameterDoesNotMatchAnEmptySegmentOrSeveralSegments) {
  Router router;
  router.Add("GET", "/users/{id}/events", Named("events"));
  EXPECT_EQ(Call(router, "GET", "/users//events").status, 404);
  EXPECT_EQ(Call(router, "GET", "/users/a/b/events").status, 404);
  EXPECT_EQ(Call(router, "GET", "/users/events").status, 404);
}

TEST(RouterTest, UnknownPathIsNotFound) {
  Router router;
  router.Add("GET", "/users", Named("users"));
  const HttpResponse response = Call(router, "GET", "/x");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(ErrorOf(response)["code"], "not_found");
  EXPECT_EQ(ErrorOf(response)["message"], "no route for GET /x");
}

TEST(RouterTest, PathDeeperThanEveryRouteIsNotFound) {
  Router router;
  router.Add("GET", "/{a}", Named("one"));
  EXPECT_EQ(Call(router, "GET",
                 "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/20/21/22/23/24/25/26/27/28/29/30/31/32/33")
                .status,
            404);
  EXPECT_EQ(Call(router, "GET", "/1/2").status, 404);
}

TEST(RouterTest, WrongMethodIsMethodNotAllowedWithAllowHeader) {
  Router router;
  router.Add("POST", "/users/{id}", Named("update"));
  router.Add("GET", "/users/{id}", Named("get"));
  router.Add("DELETE", "/users/me", Named("delete-me"));
  const HttpResponse response = Call(router, "PUT", "/users/7");
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(ErrorOf(response)["code"], "method_not_allowed");
  EXPECT_EQ(HeaderValue(response, "Allow"), "POST, GET, HEAD");
  // Both "/users/{id}" and "/users/me" match "/users/me": Allow joins their methods in registration order.
  EXPECT_EQ(HeaderValue(Call(router, "PATCH", "/users/me"), "Allow"), "POST, GET, DELETE, HEAD");
}

TEST(RouterTest, AllowOmitsHeadWithoutGet) {
  Router router;
  router.Add("POST", "/events", Named("ingest"));
  const HttpResponse response = Call(router, "GET", "/events");
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(HeaderValue(response, "Allow"), "POST");
}

TEST(RouterTest, HeadIsServedByGetUnlessRegistered) {
  Router router;
  router.Add("GET", "/a", Named("get-a"));
  router.Add("GET", "/b", Named("get-b"));
  router.Add("HEAD", "/b", Named("head-b"));
  EXPECT_EQ(Call(router, "HEAD", "/a").body, "get-a");
  EXPECT_EQ(Call(router, "HEAD", "/b").body, "head-b");
}

TEST(RouterTest, TrailingSlashIsNotSignificant) {
  Router router;
  router.Add("GET", "/users", Named("users"));
  router.Add("GET", "/teams/", Named("teams"));
  EXPECT_EQ(Call(router, "GET", "/users/").body, "users");
  EXPECT_EQ(Call(router, "GET", "/users").body, "users");
  EXPECT_EQ(Call(router, "GET", "/teams").body, "teams");
  EXPECT_EQ(Call(router, "GET", "/teams/").body, "teams");
  EXPECT_EQ(Call(router, "GET", "/users//").status, 404);
}

TEST(RouterTest, RootIsOnlyTheSlash) {
  Router router;
  router.Add("GET", "/", Named("root"));
  router.Add("GET", "/{page}", Named("page"));
  EXPECT_EQ(Call(router, "GET", "/").body, "root");
  EXPECT_EQ(Call(router, "GET", "/about").body, "page");
  EXPECT_EQ(Call(router, "GET", "//").status, 404);
  EXPECT_EQ(Call(router, "GET", "").status, 404);
  EXPECT_EQ(Call(router, "GET", "*").status, 404);
}

TEST(RouterTest, RoutesAreListedInRegistrationOrder) {
  Router router;
  router.Add("POST", "/b", Named("1"));
  router.Add("GET", "/a/{id}", Named("2"));
  router.Add("GET", "/", Named("3"));
  const std::vector<RouteInfo> routes = router.Routes();
  ASSERT_EQ(routes.size(), 3u);
  EXPECT_EQ(routes[0].method, "POST");
  EXPECT_EQ(routes[0].pattern, "/b");
  EXPECT_EQ(routes[1].method, "GET");
  EXPECT_EQ(routes[1].pattern, "/a/{id}");
  EXPECT_EQ(routes[2].pattern, "/");
}

TEST(RouterTest, MalformedOrDuplicatePatternsAreRejected) {
  Router router;
  router.Add("GET", "/users/{id}", Named("x"));
  EXPECT_THROW(router.Add("GET", "users", Named("x")), std::invalid_argument);
  EXPECT_THROW(router.Add("GET", "/users/{}", Named("x")), std::invalid_argument);
  EXPECT_THROW(router.Add("GET", "/a//b", Named("x")), std::invalid_argument);
  EXPECT_THROW(router.Add("GET", "/a{b", Named("x")), std::invalid_argument);
  EXPECT_THROW(router.Add("GET", "/{a}/{a}", Named("x")), std::invalid_argument);
  EXPECT_THROW(router.Add("GET", "/users/{other}", Named("x")), std::invalid_argument);  // same shape
  EXPECT_THROW(router.Add("GET", "/x", RouteHandler()), std::invalid_argument);
  EXPECT_THROW(router.Add("", "/x", Named("x")), std::invalid_argument);
  EXPECT_NO_THROW(router.Add("PUT", "/users/{other}", Named("x")));
  EXPECT_EQ(router.Routes().size(), 2u);
}

TEST(RouterTest, HandlerExceptionsPropagate) {
  Router router;
  router.Add("GET", "/boom", [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
  EXPECT_THROW(Call(router, "GET", "/boom"), std::runtime_error);
}

TEST(RouterTest, LongPathIsCutInTheErrorMessage) {
  Router router;
  const std::string path = "/" + std::string(1000, 'a');
  const std::string message = ErrorOf(Call(router, "GET", path))["message"];
  EXPECT_LT(message.size(), 300u);
}

}  // namespace
}  // namespace cohort::api
