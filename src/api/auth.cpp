#include "api/auth.hpp"

namespace cohort::api {
namespace {

Role ParseRole(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "write") return Role::kWrite;
  if (name == "read") return Role::kRead;
  return Role::kNone;
}

// Compares without an early exit, so that the time taken does not tell how much of a key matched.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  const std::size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() == b.size() ? 0U : 1U;
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

}  // namespace

Role RequiredRole(std::string_view method, std::string_view path) {
  if (path == "/healthz" || path == "/readyz") return Role::kNone;
  if (path.starts_with("/api/admin/") || path == "/api/admin") return Role::kAdmin;
  if (method == "GET" || method == "HEAD" || method == "OPTIONS") return Role::kRead;
  return Role::kWrite;
}

Authenticator::Authenticator(std::string_view spec) {
  std::size_t start = 0;
  while (start < spec.size()) {
    std::size_t end = spec.find(',', start);
    if (end == std::string_view::npos) end = spec.size();
    const auto entry = spec.substr(start, end - start);
    const auto colon = entry.rfind(':');
    if (colon != std::string_view::npos)
      keys_.push_back({std::string(entry.substr(0, colon)), ParseRole(entry.substr(colon + 1))});
    start = end + 1;
  }
}

Result<void> Authenticator::Authorize(const HttpRequest& request) const {
  const Role needed = RequiredRole(request.method, request.path);
  if (open() || needed == Role::kNone) return {};
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view header = request.authorization;
  if (!header.starts_with(kBearer))
    return Error{ErrorCode::kUnauthenticated, "missing API key: send 'Authorization: Bearer KEY'", {}};
  const auto sent = header.substr(kBearer.size());
  Role granted = Role::kNone;
  for (const auto& key : keys_)  // every key is compared, match or not
    if (ConstantTimeEquals(sent, key.secret)) granted = key.role;
  if (granted == Role::kNone) return Error{ErrorCode::kUnauthenticated, "unknown API key", {}};
  if (static_cast<int>(granted) < static_cast<int>(needed))
    return Error{ErrorCode::kPermissionDenied, "this API key's role does not allow this request", {}};
  return {};
}

}  // namespace cohort::api
