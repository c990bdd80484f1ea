// The result column stores only the rows that have a result, and reads "" for the others.
#include <gtest/gtest.h>

#include <sstream>

#include "core/result_column.hpp"

using mpiq::core::ResultColumn;

TEST(ResultColumn, RowsWithoutAResultReadEmpty) {
  ResultColumn c;
  c.resize(1000);
  EXPECT_EQ(c.size(), 1000u);
  EXPECT_EQ(c[999], "");
  c[5] = "";  // an empty result stores nothing
  EXPECT_EQ(c[5], "");
}

TEST(ResultColumn, SetReplaceAndGrow) {
  ResultColumn c;
  c.resize(3);
  c[1] = "one";
  c.set(2, std::string(100, 'x'));
  EXPECT_EQ(c[1], "one");
  EXPECT_EQ(c[2].size(), 100u);
  c[1] = std::string_view("uno");
  EXPECT_EQ(c[1].str(), "uno");
  c.resize(10);  // rows added after the first result get empty slots
  EXPECT_EQ(c[9], "");
  c[9] = "nine";
  const ResultColumn& cc = c;
  EXPECT_EQ(cc[9], "nine");
  EXPECT_EQ(cc[0], "");
  c[1] = "";  // clearing a row that had a result
  EXPECT_TRUE(c[1].empty());
  std::ostringstream out;
  out << c[9];
  EXPECT_EQ(out.str(), "nine");
}
