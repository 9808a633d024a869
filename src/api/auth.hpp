#pragma once
// API keys with roles. Reads need `read`, writes `write`, /api/admin/* `admin`; a higher role includes the
// lower ones. Keys are compared in constant time and never logged.

#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.hpp"
#include "common/result.hpp"

namespace cohort::api {

enum class Role { kNone = 0, kRead = 1, kWrite = 2, kAdmin = 3 };

// The role a request needs: none for /healthz and /readyz, admin under /api/admin/, write for methods that
// change data, read otherwise.
Role RequiredRole(std::string_view method, std::string_view path);

class Authenticator {
 public:
  // `spec` is "KEY:ROLE,KEY:ROLE" (checked by the configuration); empty means open.
  explicit Authenticator(std::string_view spec);
  bool open() const { return keys_.empty(); }
  // kUnauthenticated without a known key, kPermissionDenied when the key's role is too low.
  Result<void> Authorize(const HttpRequest& request) const;

 private:
  struct Key {
    std::string secret;
    Role role;
  };
  std::vector<Key> keys_;
};

}  // namespace cohort::api
