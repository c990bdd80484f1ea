// The main() of every unit test binary: GoogleTest's, with the suite's skip rule installed.

#include <gtest/gtest.h>

#include "support/skip_rule.hpp"

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  mpiq::test::install_skip_rule();
  return RUN_ALL_TESTS();
}
