#pragma once
/// The suite's one skip rule (tests/CMakeLists.txt says it for every kind of test): a test that
/// cannot run here skips with the reason, except under CI=true, where a skip is a failure, because
/// CI is supposed to have what the tests need (../shared/topologies, h5dump, h5py for
/// /usr/bin/python3, 2 or more CPUs). The one exception is hardware a CI machine may lack (a GPU):
/// MPIQ_SKIP_WITHOUT_HARDWARE() stays a skip everywhere. Every unit binary's main installs the rule,
/// so a plain GTEST_SKIP() anywhere in the suite follows it.

#include <gtest/gtest.h>

#include <string_view>

namespace mpiq::test {

/// True when the environment says CI=true.
bool under_ci();

/// Marks a skip message as "this machine lacks the hardware": such a skip stays a skip under CI.
inline constexpr std::string_view kHardwareAbsent = "hardware absent: ";

/// Appends the listener that turns a skip under CI=true into a failure of the same test (except a
/// kHardwareAbsent one). Call after InitGoogleTest, before RUN_ALL_TESTS.
void install_skip_rule();

}  // namespace mpiq::test

/// Skips the current test because this machine lacks hardware (a GPU): a skip under CI=true too.
#define MPIQ_SKIP_WITHOUT_HARDWARE() GTEST_SKIP() << ::mpiq::test::kHardwareAbsent
