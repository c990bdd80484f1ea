#pragma once
// The hwloc XML exports of real GPU nodes beside the repository (../shared/topologies), for the hw
// tests; a test that needs them is skipped, with the reason, when that directory is absent, and
// fails instead under CI=true, which must have them (tests/support/skip_rule.hpp).

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace mpiq::hw::testing {

inline const std::string kTopologies = std::string(MPIQ_SHARED_DIR) + "/topologies";

}  // namespace mpiq::hw::testing

#define SKIP_WITHOUT_TOPOLOGIES()                                                    \
  do {                                                                               \
    if (!std::filesystem::is_directory(::mpiq::hw::testing::kTopologies))            \
      GTEST_SKIP() << "no shared topologies at " << ::mpiq::hw::testing::kTopologies \
                   << " (../shared is not checked out)";                             \
  } while (0)
