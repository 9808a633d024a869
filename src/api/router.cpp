#include "api/router.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>

#include "api/error_response.hpp"

namespace cohort::api {
namespace {

constexpr std::size_t kNoRoute = static_cast<std::size_t>(-1);
// Paths echoed in error messages are cut to this many bytes.
constexpr std::size_t kMaxEchoedPath = 256;

// Splits "/a/b/" into {"a", "b"}; "/" gives no segment. An empty segment inside ("/a//b") is kept, and
// matches no pattern. Returns the number of segments, or max + 1 when there are more than `max` (the caller
// then knows nothing can match and the array holds only the first `max`).
std::size_t SplitPath(std::string_view path, std::string_view* out, std::size_t max) {
  if (path.empty() || path.front() != '/') return max + 1;
  path.remove_prefix(1);
  if (path.empty()) return 0;
  if (path.back() == '/' && path.size() > 1) path.remove_suffix(1);
  std::size_t count = 0;
  for (;;) {
    const auto slash = path.find('/');
    if (count == max) return max + 1;
    out[count++] = path.substr(0, slash);
    if (slash == std::string_view::npos) return count;
    path.remove_prefix(slash + 1);
  }
}

bool IsParam(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

std::string EchoPath(std::string_view path) {
  if (path.size() <= kMaxEchoedPath) return std::string(path);
  return std::string(path.substr(0, kMaxEchoedPath)) + "...";
}

}  // namespace

struct Router::Node {
  // Sorted by segment text for binary search.
  std::vector<std::pair<std::string, std::unique_ptr<Node>>> statics;
  std::unique_ptr<Node> param;
  std::vector<std::size_t> routes;  // indices into routes_ of the routes ending here, one per method

  const Node* FindStatic(std::string_view segment) const {
    const auto it = std::lower_bound(statics.begin(), statics.end(), segment,
                                     [](const auto& entry, std::string_view s) { return entry.first < s; });
    return it != statics.end() && it->first == segment ? it->second.get() : nullptr;
  }
};

struct Router::Route {
  std::string method;
  std::string pattern;
  RouteHandler handler;
  std::vector<std::pair<std::size_t, std::string>> params;  // segment index, parameter name
};

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::Add(std::string method, std::string pattern, RouteHandler handler) {
  const auto fail = [&](std::string_view why) {
    throw std::invalid_argument("route " + method + " " + pattern + ": " + std::string(why));
  };
  if (method.empty()) fail("empty method");
  if (!handler) fail("empty handler");
  std::array<std::string_view, kMaxSegments> segments;
  const std::size_t count = SplitPath(pattern, segments.data(), kMaxSegments);
  if (pattern.empty() || pattern.front() != '/') fail("the pattern must start with '/'");
  if (count > kMaxSegments) fail("too many segments");

  Route route{method, pattern, std::move(handler), {}};
  Node* node = root_.get();
  for (std::size_t i = 0; i < count; ++i) {
    const std::string_view segment = segments[i];
    if (segment.empty()) fail("empty segment");
    if (IsParam(segment)) {
      const std::string_view name = segment.substr(1, segment.size() - 2);
      if (name.find_first_of("{}/") != std::string_view::npos) fail("bad parameter name");
      for (const auto& [index, existing] : route.params)
        if (existing == name) fail("repeated parameter name");
      route.params.emplace_back(i, std::string(name));
      if (!node->param) node->param = std::make_unique<Node>();
      node = node->param.get();
    } else {
      if (segment.find_first_of("{}") != std::string_view::npos) fail("braces in a static segment");
      auto it = std::lower_bound(node->statics.begin(), node->statics.end(), segment,
                                 [](const auto& entry, std::string_view s) { return entry.first < s; });
      if (it == node->statics.end() || it->first != segment)
        it = node->statics.emplace(it, std::string(segment), std::make_unique<Node>());
      node = it->second.get();
    }
  }
  for (const std::size_t index : node->routes)
    if (routes_[index].method == route.method) fail("duplicate of " + routes_[index].pattern);
  node->routes.push_back(routes_.size());
  routes_.push_back(std::move(route));
  max_depth_ = std::max(max_depth_, count);
}

std::size_t Router::FindRoute(const Node& node, const std::string_view* segments, std::size_t count,
                              std::string_view method) const {
  if (count == 0) {
    for (const std::size_t index : node.routes)
      if (routes_[index].method == method) return index;
    return kNoRoute;
  }
  if (const Node* child = node.FindStatic(segments[0])) {
    if (const auto found = FindRoute(*child, segments + 1, count - 1, method); found != kNoRoute)
      return found;
  }
  if (node.param && !segments[0].empty()) return FindRoute(*node.param, segments + 1, count - 1, method);
  return kNoRoute;
}

void Router::CollectMethods(const Node& node, const std::string_view* segments, std::size_t count,
                            std::vector<std::size_t>& route_indices) const {
  if (count == 0) {
    route_indices.insert(route_indices.end(), node.routes.begin(), node.routes.end());
    return;
  }
  if (const Node* child = node.FindStatic(segments[0]))
    CollectMethods(*child, segments + 1, count - 1, route_indices);
  if (node.param && !segments[0].empty()) CollectMethods(*node.param, segments + 1, count - 1, route_indices);
}

HttpResponse Router::Dispatch(HttpRequest& request) const {
  request.path_params.clear();
  request.route = {};
  std::array<std::string_view, kMaxSegments> segments;
  const std::size_t count = SplitPath(request.path, segments.data(), std::min(max_depth_, kMaxSegments));
  if (count <= max_depth_) {
    auto index = FindRoute(*root_, segments.data(), count, request.method);
    // RFC 9110 §9.1: a server that supports GET supports HEAD; the server sends the headers only.
    if (index == kNoRoute && request.method == "HEAD")
      index = FindRoute(*root_, segments.data(), count, "GET");
    if (index != kNoRoute) {
      const Route& route = routes_[index];
      request.route = route.pattern;
      for (const auto& [position, name] : route.params)
        request.path_params.emplace_back(name, std::string(segments[position]));
      return route.handler(request);
    }
    std::vector<std::size_t> matching;
    CollectMethods(*root_, segments.data(), count, matching);
    if (!matching.empty()) {
      std::sort(matching.begin(), matching.end());  // registration order
      std::vector<std::string_view> methods;
      std::string allow;
      for (const std::size_t candidate : matching) {
        const std::string& method = routes_[candidate].method;
        if (std::find(methods.begin(), methods.end(), method) != methods.end()) continue;
        methods.push_back(method);
        if (!allow.empty()) allow += ", ";
        allow += method;
      }
      if (std::find(methods.begin(), methods.end(), "GET") != methods.end() &&
          std::find(methods.begin(), methods.end(), "HEAD") == methods.end())
        allow += ", HEAD";
      HttpResponse response =
          ErrorResponse(405, "method_not_allowed",
                        "method " + request.method + " not allowed for " + EchoPath(request.path));
      response.headers.emplace_back("Allow", std::move(allow));
      return response;
    }
  }
  return ErrorResponse(404, "not_found", "no route for " + request.method + " " + EchoPath(request.path));
}

std::vector<RouteInfo> Router::Routes() const {
  std::vector<RouteInfo> out;
  out.reserve(routes_.size());
  for (const Route& route : routes_) out.push_back(RouteInfo{route.method, route.pattern});
  return out;
}

}  // namespace cohort::api
