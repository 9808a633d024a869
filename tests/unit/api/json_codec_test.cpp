// Strict JSON input: every field named in its error, unknown fields refused, depth bounded.

#include "api/json_codec.hpp"

#include <gtest/gtest.h>

namespace cohort::api {
namespace {

Json ValidUser() {
  return Json::parse(R"({"id":"u1","name":"Olena","email":"olena@example.com","birth_year":1990,
    "address":{"street":"1 Main St","postal_code":"01001","city":"Kyiv","country":"UA","country_name":"Ukraine"}})");
}

std::string ErrorOf(const Json& j) {
  auto r = UserFromJson(j);
  return r.ok() ? "" : r.error().client_message;
}

TEST(JsonCodecTest, ReadsAValidUser) {
  auto user = UserFromJson(ValidUser());
  ASSERT_TRUE(user.ok()) << user.error().client_message;
  EXPECT_EQ(user->id, "u1");
  EXPECT_EQ(user->birth_year, 1990);
  EXPECT_EQ(user->address.city, "Kyiv");
  EXPECT_EQ(user->address.country_code, "UA");
}

TEST(JsonCodecTest, NamesTheFaultyField) {
  auto j = ValidUser();
  j["email"] = 5;
  EXPECT_NE(ErrorOf(j).find("'email'"), std::string::npos);
  j = ValidUser();
  j.erase("name");
  EXPECT_NE(ErrorOf(j).find("'name'"), std::string::npos);
  j = ValidUser();
  j["address"].erase("city");
  EXPECT_NE(ErrorOf(j).find("'address.city'"), std::string::npos);
  j = ValidUser();
  j["nickname"] = "x";
  EXPECT_NE(ErrorOf(j).find("unknown field 'nickname'"), std::string::npos);
  j = ValidUser();
  j["address"]["zip"] = "x";
  EXPECT_NE(ErrorOf(j).find("'address.zip'"), std::string::npos);
  j = ValidUser();
  j["address"]["country"] = "Ukraine";
  EXPECT_NE(ErrorOf(j).find("'address.country'"), std::string::npos);
  j = ValidUser();
  j["id"] = "has space";
  EXPECT_NE(ErrorOf(j).find("'id'"), std::string::npos);
  j = ValidUser();
  j["birth_year"] = "1990";
  EXPECT_NE(ErrorOf(j).find("'birth_year'"), std::string::npos);
  EXPECT_FALSE(ErrorOf(Json::array()).empty());
}

TEST(JsonCodecTest, PatchNeedsSomethingAndCannotChangeId) {
  EXPECT_FALSE(UserPatchFromJson(Json::object()).ok());
  EXPECT_FALSE(UserPatchFromJson(Json{{"id", "u2"}}).ok());
  auto patch = UserPatchFromJson(Json{{"birth_year", nullptr}});
  ASSERT_TRUE(patch.ok());
  ASSERT_TRUE(patch->birth_year.has_value());
  EXPECT_FALSE(patch->birth_year->has_value());
}

TEST(JsonCodecTest, ProductsNeedANonNegativePrice) {
  EXPECT_TRUE(ProductFromJson(Json{{"id", "p1"}, {"name", "Mug"}, {"category", "kitchen"}, {"price", 3.5}}).ok());
  auto negative = ProductFromJson(Json{{"id", "p1"}, {"name", "Mug"}, {"category", "kitchen"}, {"price", -1}});
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.error().client_message.find("'price'"), std::string::npos);
}

TEST(JsonCodecTest, BodyParsing) {
  HttpRequest r;
  r.body = "{\"a\":";
  EXPECT_FALSE(ParseJsonBody(r).ok());
  r.body = std::string(100, '[') + std::string(100, ']');
  auto deep = ParseJsonBody(r);
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error().client_message.find("deeper"), std::string::npos);
  r.body = R"({"s":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})";
  EXPECT_TRUE(ParseJsonBody(r).ok());
  r.content_type = "text/plain";
  EXPECT_FALSE(ParseJsonBody(r).ok());
}

}  // namespace
}  // namespace cohort::api
