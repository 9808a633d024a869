// Ids, country codes and emails from outside.

#include "domain/validation.hpp"

#include <gtest/gtest.h>

namespace cohort::domain {
namespace {

TEST(ValidationTest, Ids) {
  EXPECT_TRUE(IsValidId("u1"));
  EXPECT_TRUE(IsValidId("shop:42.a_b-c"));
  EXPECT_TRUE(IsValidId(std::string(64, 'a')));
  EXPECT_FALSE(IsValidId(""));
  EXPECT_FALSE(IsValidId(std::string(65, 'a')));
  EXPECT_FALSE(IsValidId("a b"));
  EXPECT_FALSE(IsValidId("a/b"));
  EXPECT_FALSE(IsValidId("ü"));
}

TEST(ValidationTest, CountryCodesAndEmails) {
  EXPECT_TRUE(IsValidCountryCode("UA"));
  EXPECT_FALSE(IsValidCountryCode("ua"));
  EXPECT_FALSE(IsValidCountryCode("UKR"));
  EXPECT_TRUE(IsValidEmail("a@b.c"));
  EXPECT_FALSE(IsValidEmail("no-at-sign"));
  EXPECT_FALSE(IsValidEmail("two@@at"));
  EXPECT_FALSE(IsValidEmail("a b@c.d"));
  EXPECT_FALSE(IsValidEmail("@c.d"));
}

}  // namespace
}  // namespace cohort::domain
