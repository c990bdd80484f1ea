// The idle back-off every event loop shares, and the two clocks.

#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
#include <vector>

#include "exec/clock.hpp"

namespace mpiq::exec {
namespace {

TEST(Backoff, NoSleepRightAfterTrafficThenDoublingFrom20usUpTo1ms) {
  Backoff b;
  std::vector<int64_t> got;
  for (int i = 0; i < 10; ++i) got.push_back(b.next());
  EXPECT_EQ(got, (std::vector<int64_t>{0, 20'000, 40'000, 80'000, 160'000, 320'000, 640'000, 1'000'000,
                                       1'000'000, 1'000'000}));
}

TEST(Backoff, After100msOfSilenceTheCapRisesTo10ms) {
  Backoff b;
  int64_t slept = 0, longest = 0;
  while (slept < 100'000'000) {
    const int64_t ns = b.next();
    EXPECT_LE(ns, 1'000'000) << "a sleep above 1 ms before 100 ms of silence, after " << slept << " ns";
    slept += ns;
  }
  for (int i = 0; i < 20; ++i) longest = std::max(longest, b.next());
  EXPECT_EQ(longest, 10'000'000);
}

TEST(Backoff, ResetStartsOverWithNoSleepAndTheShortCap) {
  Backoff b;
  for (int i = 0; i < 200; ++i) b.next();  // well past 100 ms: on the 10 ms cap
  b.reset();
  EXPECT_EQ(b.next(), 0);
  EXPECT_EQ(b.next(), 20'000);
  int64_t longest = 0;
  for (int i = 0; i < 20; ++i) longest = std::max(longest, b.next());
  EXPECT_EQ(longest, 1'000'000);
}

TEST(Backoff, CapsAreConfigurable) {
  Backoff b(50'000, 200'000, 1'000'000);
  int64_t slept = 0;
  while (slept < 1'000'000) {
    const int64_t ns = b.next();
    EXPECT_LE(ns, 50'000);
    slept += ns;
  }
  int64_t longest = 0;
  for (int i = 0; i < 10; ++i) longest = std::max(longest, b.next());
  EXPECT_EQ(longest, 200'000);
}

TEST(Clock, WallTimeIsUnixTimeAndTheMonotonicClockNeverGoesBack) {
  EXPECT_NEAR(wall_now(), static_cast<double>(::time(nullptr)), 2.0);
  double last = mono_now();
  for (int i = 0; i < 1000; ++i) {
    const double now = mono_now();
    ASSERT_GE(now, last);
    last = now;
  }
}

}  // namespace
}  // namespace mpiq::exec
