// Checks of the skip rule itself (tests/CMakeLists.txt runs this binary with and without CI=true):
// one plain skip, which CI must turn into a failure, and one for absent hardware, which stays a skip.

#include <gtest/gtest.h>

#include "support/skip_rule.hpp"

TEST(SkipRule, PlainSkip) {
  GTEST_SKIP() << "../shared/topologies is not there";
}

TEST(SkipRule, HardwareSkip) {
  MPIQ_SKIP_WITHOUT_HARDWARE() << "no GPU on this machine";
}
