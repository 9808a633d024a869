// RFC 3339 in and out.

#include "common/time.hpp"

#include <gtest/gtest.h>

namespace cohort {
namespace {

TEST(TimeTest, RoundTrip) {
  auto t = ParseRfc3339("2026-11-25T17:03:04Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-25T17:03:04Z");
  EXPECT_EQ(FormatRfc3339(*ParseRfc3339("1997-01-01T00:00:00.25Z")), "1997-01-01T00:00:00.250000Z");
}

TEST(TimeTest, OffsetsAreApplied) {
  EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2026-11-25T19:00:00+02:00")), "2026-11-25T17:00:00Z");
  EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2026-11-25T00:30:00-01:00")), "2026-11-25T01:30:00Z");
}

TEST(TimeTest, RejectsMalformed) {
  for (const char* bad : {"", "2026-11-25", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-25T24:00:00Z",
                          "2026-11-25T10:00:00", "2026-11-25T10:00:00Zjunk", "2026-11-25T10:00:00.Z"})
    EXPECT_FALSE(ParseRfc3339(bad)) << bad;
}

}  // namespace
}  // namespace cohort
