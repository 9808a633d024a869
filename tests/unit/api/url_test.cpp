// Request-target helpers: target splitting, strict percent-decoding for paths, lenient query parsing.

#include "api/url.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cohort::api {
namespace {

using Pairs = NameValues;

TEST(SplitTargetTest, SeparatesPathAndQuery) {
  const RequestTarget target = SplitTarget("/api/users?limit=5&x");
  EXPECT_EQ(target.path, "/api/users");
  EXPECT_EQ(target.query, "limit=5&x");
}

TEST(SplitTargetTest, HandlesMissingQueryEmptyQueryAndFragment) {
  EXPECT_EQ(SplitTarget("/a").query, "");
  EXPECT_EQ(SplitTarget("/a?").path, "/a");
  EXPECT_EQ(SplitTarget("/a?").query, "");
  EXPECT_EQ(SplitTarget("/a?b=1#frag").query, "b=1");
  EXPECT_EQ(SplitTarget("/a#frag?b").path, "/a");
  EXPECT_EQ(SplitTarget("/a?x=1?y=2").query, "x=1?y=2");
}

TEST(SplitTargetTest, ReducesAbsoluteFormToPathAndQuery) {
  RequestTarget target = SplitTarget("http://example.com:8080/a/b?c=d");
  EXPECT_EQ(target.path, "/a/b");
  EXPECT_EQ(target.query, "c=d");
  target = SplitTarget("http://example.com?c=d");
  EXPECT_EQ(target.path, "/");
  EXPECT_EQ(target.query, "c=d");
  EXPECT_EQ(SplitTarget("http://example.com").path, "/");
}

TEST(SplitTargetTest, KeepsAsteriskForm) { EXPECT_EQ(SplitTarget("*").path, "*"); }

TEST(PercentDecodeTest, DecodesEscapesInEitherCase) {
  Result<std::string> decoded = PercentDecode("a%20b%2fc%2F%C3%A9", false);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, "a b/c/\xC3\xA9");
}

TEST(PercentDecodeTest, PlusIsSpaceOnlyWhenAsked) {
  EXPECT_EQ(PercentDecode("a+b%2B", false).value(), "a+b+");
  EXPECT_EQ(PercentDecode("a+b%2B", true).value(), "a b+");
}

TEST(PercentDecodeTest, LeavesPlainTextUnchanged) {
  EXPECT_EQ(PercentDecode("", false).value(), "");
  EXPECT_EQ(PercentDecode("/api/users/42", false).value(), "/api/users/42");
}

TEST(PercentDecodeTest, DecodesNulAndHighBytes) {
  const std::string decoded = PercentDecode("%00%ff", false).value();
  ASSERT_EQ(decoded.size(), 2u);
  EXPECT_EQ(decoded[0], '\0');
  EXPECT_EQ(static_cast<unsigned char>(decoded[1]), 0xFFu);
}

TEST(PercentDecodeTest, RejectsIncompleteOrNonHexEscapes) {
  for (const char* bad : {"%", "a%", "%2", "a%2", "%zz", "%g0", "%0g", "%%", "%-1"}) {
    const Result<std::string> decoded = PercentDecode(bad, false);
    ASSERT_FALSE(decoded.ok()) << bad;
    EXPECT_EQ(decoded.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(ParseQueryTest, KeepsOrderAndRepeatedNames) {
  EXPECT_EQ(ParseQuery("a=1&b=2&a=3"), (Pairs{{"a", "1"}, {"b", "2"}, {"a", "3"}}));
}

TEST(ParseQueryTest, DecodesNamesAndValues) {
  EXPECT_EQ(ParseQuery("first+name=Ada+L%C3%B6v&q%5B%5D=x%26y%3Dz"),
            (Pairs{{"first name", "Ada L\xC3\xB6v"}, {"q[]", "x&y=z"}}));
}

TEST(ParseQueryTest, HandlesMissingValuesAndEmptyPieces) {
  EXPECT_EQ(ParseQuery(""), Pairs{});
  EXPECT_EQ(ParseQuery("&&"), Pairs{});
  EXPECT_EQ(ParseQuery("flag&x=&=v&&y=a=b"), (Pairs{{"flag", ""}, {"x", ""}, {"", "v"}, {"y", "a=b"}}));
}

TEST(ParseQueryTest, KeepsInvalidEscapesLiterally) {
  EXPECT_EQ(ParseQuery("p=100%&q=%zz&r=%4"), (Pairs{{"p", "100%"}, {"q", "%zz"}, {"r", "%4"}}));
}

}  // namespace
}  // namespace cohort::api
