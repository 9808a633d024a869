// sql::Rows keeps each cell as the driver gave it and converts when read: the same text for a number whatever
// the driver (SQLite hands over numbers, PostgreSQL text), and the same numbers from text.

#include <gtest/gtest.h>

#include "store/sql/database.hpp"

namespace cohort::store::sql {
namespace {

TEST(RowsTest, ReadersConvertBetweenNumbersAndText) {
  Rows rows(4);
  rows.AddCell(nullptr);
  rows.AddCell(std::int64_t{-1234567890123});
  rows.AddCell(0.1);
  rows.AddCell(std::string("42.5"));
  ASSERT_EQ(rows.size(), 1u);

  EXPECT_TRUE(rows.IsNull(0, 0));
  EXPECT_EQ(rows.Text(0, 0), "");
  EXPECT_EQ(rows.Int(0, 0), 0);
  EXPECT_EQ(rows.Double(0, 0), 0.0);

  EXPECT_FALSE(rows.IsNull(0, 1));
  EXPECT_EQ(rows.Text(0, 1), "-1234567890123");
  EXPECT_EQ(rows.Int(0, 1), -1234567890123);
  EXPECT_EQ(rows.Double(0, 1), -1234567890123.0);

  EXPECT_EQ(rows.Text(0, 2), "0.1");  // the shortest form that reads back as the same double
  EXPECT_EQ(rows.Double(0, 2), 0.1);
  EXPECT_EQ(rows.Int(0, 2), 0);  // the integer its digits start with, as from text

  EXPECT_EQ(rows.Text(0, 3), "42.5");
  EXPECT_EQ(rows.Double(0, 3), 42.5);
  EXPECT_EQ(rows.Int(0, 3), 42);
}

TEST(RowsTest, CellsAreReadByRowAndColumn) {
  Rows rows(2);
  for (std::int64_t i = 0; i < 3; ++i) {
    rows.AddCell(i);
    rows.AddCell("row " + std::to_string(i));
  }
  ASSERT_EQ(rows.size(), 3u);
  for (std::size_t r = 0; r < 3; ++r) {
    EXPECT_EQ(rows.Int(r, 0), static_cast<std::int64_t>(r));
    EXPECT_EQ(rows.Text(r, 1), "row " + std::to_string(r));
  }
  EXPECT_TRUE(Rows(3).empty());
}

TEST(RowsTest, TakeTextMovesTextOutAndWritesNumbers) {
  Rows rows(2);
  const std::string long_text(100, 'x');  // past the small-string buffer: a move hands over the heap block
  rows.AddCell(long_text);
  rows.AddCell(std::int64_t{7});
  EXPECT_EQ(rows.TakeText(0, 0), long_text);
  EXPECT_EQ(rows.Text(0, 0), "") << "the cell is left empty";
  EXPECT_EQ(rows.TakeText(0, 1), "7");
  EXPECT_EQ(rows.Int(0, 1), 7) << "a number cell is not consumed";
}

}  // namespace
}  // namespace cohort::store::sql
