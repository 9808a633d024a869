// CSV records: quotes, doubled quotes, newlines inside quotes, CRLF, BOM, and the line each record starts on.

#include "common/csv.hpp"

#include <sstream>

#include <gtest/gtest.h>

namespace cohort {
namespace {

TEST(CsvTest, ReadsQuotedFieldsAndLineNumbers) {
  std::istringstream in("\xEF\xBB\xBF" "a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"multi\nline\",\n\n3,,z");
  CsvReader reader(in);
  std::vector<std::string> f;
  ASSERT_TRUE(reader.Next(f));
  EXPECT_EQ(f, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_TRUE(reader.Next(f));
  EXPECT_EQ(f, (std::vector<std::string>{"1", "x, y", "say \"hi\""}));
  EXPECT_EQ(reader.line(), 2u);
  ASSERT_TRUE(reader.Next(f));
  EXPECT_EQ(f, (std::vector<std::string>{"2", "multi\nline", ""}));
  EXPECT_EQ(reader.line(), 3u);
  ASSERT_TRUE(reader.Next(f));
  EXPECT_EQ(f, (std::vector<std::string>{""}));
  ASSERT_TRUE(reader.Next(f));
  EXPECT_EQ(f, (std::vector<std::string>{"3", "", "z"}));
  EXPECT_EQ(reader.line(), 6u);
  EXPECT_FALSE(reader.Next(f));
}

}  // namespace
}  // namespace cohort
