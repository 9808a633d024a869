// The parser of event_history rows (event_history.hpp): every value quote() writes, and a row that is not whole
// records leaves nothing behind. That the parsed events equal the stored ones is tested on SQLite itself in
// event_store_test.cpp.

#include <gtest/gtest.h>

#include "store/events/event_history.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace cohort::store {
namespace {

// The events a row's records build.
std::vector<domain::Event> Built(const std::vector<HistoryEvent>& records) {
  std::vector<domain::Event> events(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) BuildEvent(records[i], events[i]);
  return events;
}

TEST(EventHistoryTest, ParsesEveryKindOfValue) {
  std::vector<HistoryEvent> out;
  ASSERT_TRUE(ParseEventHistory("'e-1','view','p1','shoes',11.29,1,1795882920597210,"
                                "'e:2','it''s, new\nline','p.2',NULL,NULL,3,-5,"
                                "'e_3','purchase',NULL,'a '','' b',3.00000000000000044408e-01,1000000,0,"
                                "'e4','x',NULL,NULL,1.0e+300,2,-9223372036854775808,",
                                out));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].event_id, "e-1");
  EXPECT_EQ(out[1].event_id, "e:2");
  EXPECT_EQ(out[1].type, "it''s, new\nline");  // as the row holds it
  EXPECT_EQ(out[1].type, RawHistoryText("it's, new\nline"));
  const std::vector<domain::Event> events = Built(out);
  EXPECT_EQ(events[0].type, "view");
  EXPECT_EQ(events[0].product_id, "p1");
  EXPECT_EQ(events[0].category, "shoes");
  EXPECT_EQ(events[0].price, 11.29);
  EXPECT_EQ(events[0].quantity, 1);
  EXPECT_EQ(events[0].ts_micros, 1795882920597210);
  EXPECT_EQ(events[1].type, "it's, new\nline");
  EXPECT_EQ(events[1].product_id, "p.2");
  EXPECT_FALSE(events[1].category.has_value());
  EXPECT_FALSE(events[1].price.has_value());
  EXPECT_EQ(events[1].quantity, 3);
  EXPECT_EQ(events[1].ts_micros, -5);
  EXPECT_FALSE(events[2].product_id.has_value());
  EXPECT_EQ(events[2].category, "a ',' b");
  EXPECT_EQ(events[2].price, 0.1 + 0.2);
  EXPECT_EQ(events[2].quantity, 1000000);
  EXPECT_EQ(events[3].price, 1e300);
  EXPECT_EQ(events[3].ts_micros, std::numeric_limits<std::int64_t>::min());
  for (const domain::Event& e : events) {
    EXPECT_TRUE(e.event_id.empty());
    EXPECT_TRUE(e.user_id.empty());
    EXPECT_EQ(e.properties, "{}");
  }
  std::vector<HistoryEvent> none;
  EXPECT_TRUE(ParseEventHistory("", none));
  EXPECT_TRUE(none.empty());
}

TEST(EventHistoryTest, ARowThatIsNotWholeRecordsLeavesNothingBehind) {
  const std::string_view good = "'e1','view',NULL,NULL,NULL,1,10,";
  for (const std::string_view bad : {
           "'e2','view',NULL,NULL,NULL,1,10",             // no comma after the last value
           "'e2','view',NULL,NULL,NULL,1,",               // six values
           "'e2','view',NULL,NULL,NULL,1,10,'e3',",       // a record cut short
           "'e2','view,NULL,NULL,NULL,1,10,",             // an unterminated text
           "'e2','view'x,NULL,NULL,NULL,1,10,",           // something after a text
           "'e2','view',NULL,NULL,NULL,1.5,10,",          // a fractional quantity
           "'e2','view',NULL,NULL,NULL,1,10x,",           // not a number
           "'e2','view',NULL,NULL,NULL,1,-,",             // a sign alone
           "'e2','view',NULL,NULL,NULL,+1,10,",           // a plus sign, which quote() never writes
           "'e2','view',NULL,NULL,NULL,1,9223372036854775808,",  // past the largest integer
           "'e2','view',NULL,NULL,NULL,1,-9223372036854775809,",  // past the smallest integer
           "'e2','view',NULL,NULL,NULL,1,99999999999999999999,",  // twenty digits
           "'e2','view',NULL,NULL,'9.5',1,10,",           // a text as the price
           "'e2','view',7,NULL,NULL,1,10,",               // a number as the product
           "NULL,'view',NULL,NULL,NULL,1,10,",            // no event_id
           "'e''2','view',NULL,NULL,NULL,1,10,",          // a quote in an event_id
           "X'00','view',NULL,NULL,NULL,1,10,",           // a blob
       }) {
    std::vector<HistoryEvent> out;
    ASSERT_TRUE(ParseEventHistory(good, out));
    EXPECT_FALSE(ParseEventHistory(bad, out)) << bad;
    EXPECT_EQ(out.size(), 1u) << bad;
  }
}

}  // namespace
}  // namespace cohort::store
