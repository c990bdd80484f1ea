#include <gtest/gtest.h>

#include "hw/cpu_list.hpp"
#include "mpiq/error.hpp"

namespace mpiq::hw {
namespace {

TEST(CpuList, WritesAscendingRanges) {
  EXPECT_EQ(cpu_list({8, 0, 1, 2, 3}), "0-3,8");
  EXPECT_EQ(cpu_list({5}), "5");
  EXPECT_EQ(cpu_list({1, 2}), "1-2");
  EXPECT_EQ(cpu_list({0, 2, 4}), "0,2,4");
  EXPECT_EQ(cpu_list({3, 3, 2}), "2-3");
  EXPECT_EQ(cpu_list({}), "");
}

TEST(CpuList, ParsesHwlocListSyntax) {
  EXPECT_EQ(parse_cpu_list("0-3,8"), (std::vector<int>{0, 1, 2, 3, 8}));
  EXPECT_EQ(parse_cpu_list(" 8 , 0 - 1 "), (std::vector<int>{0, 1, 8}));
  EXPECT_EQ(parse_cpu_list("4,4,3-4"), (std::vector<int>{3, 4}));
  EXPECT_TRUE(parse_cpu_list("").empty());
}

TEST(CpuList, RoundTripsThroughText) {
  const std::vector<std::vector<int>> lists = {
      {0}, {0, 1, 2, 3, 8}, {1, 3, 5, 7}, {0, 1, 2, 64, 65, 127}, {}};
  for (const auto& pus : lists) EXPECT_EQ(parse_cpu_list(cpu_list(pus)), pus) << cpu_list(pus);
  for (const std::string text : {"0-3,8", "1,3,5", "0-127", "2"})
    EXPECT_EQ(cpu_list(parse_cpu_list(text)), text);
}

TEST(CpuList, RejectsMalformedListsNamingTheText) {
  for (const std::string text : {"1,,2", "3-1", "a", "0-", "-1", "1,", "0-3x", "1-2-3"}) {
    try {
      parse_cpu_list(text);
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("'" + text + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(CpuList, RejectsAnAbsurdlyLargeRange) {
  EXPECT_THROW(parse_cpu_list("0-2000000000"), InputError);
}

}  // namespace
}  // namespace mpiq::hw
