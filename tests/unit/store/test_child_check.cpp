#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "mpiq/error.hpp"
#include "store/child_check.hpp"

namespace mpiq::store {
namespace {

using Kind = ChildVerdict::Kind;

TEST(ChildCheck, ACheckThatReturnsPasses) {
  const ChildVerdict v = check_in_child([] {}, 30);
  EXPECT_EQ(v.kind, Kind::passed) << v.message;
}

TEST(ChildCheck, AnInputErrorIsARefusalWithItsMessageWithoutThePosition) {
  const ChildVerdict v = check_in_child([] { throw InputError("f.h5", 0, 0, "bad column"); }, 30);
  EXPECT_EQ(v.kind, Kind::refused);
  EXPECT_EQ(v.message, "bad column");
}

TEST(ChildCheck, AnyOtherExceptionIsARefusalWithItsText) {
  const ChildVerdict v = check_in_child([] { throw std::runtime_error(std::string(100000, 'x')); }, 30);
  EXPECT_EQ(v.kind, Kind::refused);
  EXPECT_EQ(v.message, std::string(100000, 'x')) << "a message longer than a pipe's buffer arrives whole";
}

TEST(ChildCheck, ASegfaultIsACrashNamingTheSignalAndTheCallerLivesOn) {
  const ChildVerdict v = check_in_child(
      [] {
        ::signal(SIGSEGV, SIG_DFL);  // a sanitizer's handler would turn it into exit status 1
        ::raise(SIGSEGV);
      },
      30);
  EXPECT_EQ(v.kind, Kind::crashed);
  EXPECT_NE(v.message.find("signal 11"), std::string::npos) << v.message;
}

TEST(ChildCheck, AChildThatExitsWithoutAVerdictCrashed) {
  const ChildVerdict v = check_in_child([] { ::_exit(3); }, 30);
  EXPECT_EQ(v.kind, Kind::crashed);
  EXPECT_NE(v.message.find("exit status 3"), std::string::npos) << v.message;
}

TEST(ChildCheck, AnEndlessLoopThatIgnoresSigtermIsKilledAtTheBudget) {
  const ChildVerdict v = check_in_child(
      [] {
        ::signal(SIGTERM, SIG_IGN);
        volatile unsigned spins = 0;
        for (;;) spins = spins + 1;
      },
      0.3);
  EXPECT_EQ(v.kind, Kind::timed_out);
}

TEST(ChildCheck, ATerminatedChildWasInterruptedNotCrashed) {
  const ChildVerdict v = check_in_child([] { ::raise(SIGTERM); }, 30);
  EXPECT_EQ(v.kind, Kind::interrupted);
}

}  // namespace
}  // namespace mpiq::store
