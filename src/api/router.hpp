#pragma once
// Maps a method and a decoded path to a handler, by path segments.
//
// Patterns are "/"-separated segments; "{name}" matches exactly one non-empty segment and is passed to the
// handler as a path parameter. At each position a static segment is tried before a parameter (with
// backtracking, so "/a/{x}/c" still matches "/a/b/c" when "/a/b/d" also exists). A trailing slash is not
// significant ("/users/" is "/users"), except that "/" itself is the root.
//
// Routes are added during startup; Add throws std::invalid_argument on a malformed or duplicate pattern (a
// programming error). After that the router is immutable and Dispatch may run on many threads at once.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.hpp"

namespace cohort::api {

using RouteHandler = std::function<HttpResponse(const HttpRequest&)>;

struct RouteInfo {
  std::string method;   // "GET"
  std::string pattern;  // as registered, e.g. "/api/users/{id}/events"
};

class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // `method` is matched exactly (upper case by convention: "GET", "POST", ...).
  void Add(std::string method, std::string pattern, RouteHandler handler);

  // Fills request.path_params and request.route (the matched pattern, empty when none matched) and calls the
  // matching handler. No route for the path: 404 "not_found".
  // The path matches but not the method: 405 "method_not_allowed" with an Allow header (methods in
  // registration order). HEAD without a HEAD route is served by the GET route (the server drops the body),
  // so Allow lists HEAD after the others whenever it lists GET. Handler exceptions propagate to the caller
  // (the HTTP server answers them with 500).
  HttpResponse Dispatch(HttpRequest& request) const;

  // Every route, in registration order.
  std::vector<RouteInfo> Routes() const;

  // Deepest pattern accepted by Add, in segments.
  static constexpr std::size_t kMaxSegments = 32;

 private:
  struct Node;
  struct Route;

  std::size_t FindRoute(const Node& node, const std::string_view* segments, std::size_t count,
                        std::string_view method) const;
  void CollectMethods(const Node& node, const std::string_view* segments, std::size_t count,
                      std::vector<std::size_t>& route_indices) const;

  std::vector<Route> routes_;
  std::unique_ptr<Node> root_;
  std::size_t max_depth_ = 0;
};

}  // namespace cohort::api
