// API keys: roles per route, 401 without a known key, 403 for a role too low.

#include "api/auth.hpp"

#include <gtest/gtest.h>

namespace cohort::api {
namespace {

HttpRequest Make(std::string method, std::string path, std::string authorization = "") {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.authorization = std::move(authorization);
  return r;
}

TEST(AuthTest, RequiredRoles) {
  EXPECT_EQ(RequiredRole("GET", "/healthz"), Role::kNone);
  EXPECT_EQ(RequiredRole("GET", "/readyz"), Role::kNone);
  EXPECT_EQ(RequiredRole("GET", "/api/users/u1"), Role::kRead);
  EXPECT_EQ(RequiredRole("POST", "/api/users"), Role::kWrite);
  EXPECT_EQ(RequiredRole("PATCH", "/api/users/u1"), Role::kWrite);
  EXPECT_EQ(RequiredRole("DELETE", "/api/users/u1"), Role::kWrite);
  EXPECT_EQ(RequiredRole("GET", "/api/admin/stats"), Role::kAdmin);
}

TEST(AuthTest, OpenWhenNoKeys) {
  Authenticator auth("");
  EXPECT_TRUE(auth.open());
  EXPECT_TRUE(auth.Authorize(Make("POST", "/api/users")).ok());
}

TEST(AuthTest, RolesAreEnforced) {
  Authenticator auth("readkey-0123456789:read,writekey-012345678:write,adminkey-012345678:admin");
  EXPECT_FALSE(auth.open());
  auto missing = auth.Authorize(Make("GET", "/api/users"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kUnauthenticated);
  auto wrong = auth.Authorize(Make("GET", "/api/users", "Bearer readkey-0123456780"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnauthenticated);
  auto prefix = auth.Authorize(Make("GET", "/api/users", "Bearer readkey-012345678"));
  EXPECT_FALSE(prefix.ok());
  EXPECT_TRUE(auth.Authorize(Make("GET", "/api/users", "Bearer readkey-0123456789")).ok());
  auto low = auth.Authorize(Make("POST", "/api/users", "Bearer readkey-0123456789"));
  ASSERT_FALSE(low.ok());
  EXPECT_EQ(low.error().code, ErrorCode::kPermissionDenied);
  EXPECT_TRUE(auth.Authorize(Make("POST", "/api/users", "Bearer writekey-012345678")).ok());
  EXPECT_TRUE(auth.Authorize(Make("GET", "/api/users", "Bearer writekey-012345678")).ok());
  EXPECT_FALSE(auth.Authorize(Make("GET", "/api/admin/stats", "Bearer writekey-012345678")).ok());
  EXPECT_TRUE(auth.Authorize(Make("GET", "/api/admin/stats", "Bearer adminkey-012345678")).ok());
  EXPECT_TRUE(auth.Authorize(Make("GET", "/healthz")).ok());
  EXPECT_FALSE(auth.Authorize(Make("GET", "/api/users", "Basic readkey-0123456789")).ok());
}

}  // namespace
}  // namespace cohort::api
