// The task guard (exec/guard.hpp): when its owner goes away, every task group it was told about is
// ended, TERM first and KILL after the grace period; groups it was told have ended are left alone.
// The guard is the static program mpiq carries (guard_main.c, run from a memfd), as in `mpiq run`, or,
// as its fallback, this test binary started again.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "exec/guard.hpp"
#include "exec/spawn.hpp"
#include "support/temp_dir.hpp"

namespace mpiq::exec {
namespace {

using test::TempDir;

Child start(const std::string& command, const TempDir& dir) {
  SpawnRequest r;
  r.command = command;
  r.workdir = dir.path();
  r.env = {"PATH=/usr/bin:/bin"};
  std::string error;
  Child c = spawn(r, &error);
  EXPECT_GT(c.pid, 0) << error;
  return c;
}

// Reaps `child` within `seconds`, else kills it and fails.
Exit reap_within(Child& child, double seconds) {
  Exit exit;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!try_reap(child, &exit)) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "task group " << child.pid << " is still running";
      signal_group(child, SIGKILL);
      while (!try_reap(child, &exit)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return exit;
}

void wait_for_file(const std::string& path) {
  for (int i = 0; i < 5000 && !std::filesystem::exists(path); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
}

TEST(ProcessGuard, AWatchedGroupGetsTermWhenTheOwnerGoesAway) {
  TempDir dir;
  Child task = start("sleep 30", dir);
  {
    std::string error;
    ProcessGuard guard = ProcessGuard::start(5, &error);
    ASSERT_TRUE(guard.active()) << error;
    guard.watch(task.pid);
  }  // the pipe closes as it would when a worker dies
  EXPECT_EQ(reap_within(task, 5).signal, SIGTERM);
}

TEST(ProcessGuard, AGroupThatIgnoresTermIsKilledAfterTheGrace) {
  TempDir dir;
  Child task = start("trap '' TERM; touch ready; sleep 30", dir);
  wait_for_file(dir.file("ready"));
  const auto start_time = std::chrono::steady_clock::now();
  {
    std::string error;
    ProcessGuard guard = ProcessGuard::start(0.3, &error);
    ASSERT_TRUE(guard.active()) << error;
    guard.watch(task.pid);
  }
  EXPECT_EQ(reap_within(task, 5).signal, SIGKILL);
  EXPECT_GE(std::chrono::steady_clock::now() - start_time, std::chrono::milliseconds(300));
}

TEST(ProcessGuard, AForgottenGroupIsLeftAlone) {
  TempDir dir;
  Child task = start("sleep 30", dir);
  {
    std::string error;
    ProcessGuard guard = ProcessGuard::start(5, &error);
    ASSERT_TRUE(guard.active()) << error;
    guard.watch(task.pid);
    guard.forget(task.pid);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Exit e;
  EXPECT_FALSE(try_reap(task, &e)) << "the guard ended a group it had been told was gone";
  signal_group(task, SIGKILL);
  reap_within(task, 5);
}

std::string read_link(const std::string& path) {
  std::error_code ec;
  return std::filesystem::read_symlink(path, ec).string();
}

TEST(ProcessGuard, TheGuardIsTheStaticProgramNamedMpiqGuard) {
  std::string error;
  ProcessGuard guard = ProcessGuard::start(5, &error);
  ASSERT_TRUE(guard.active()) << error;
  const std::string proc = "/proc/" + std::to_string(guard.pid());
  EXPECT_EQ(read_link(proc + "/exe").rfind("/memfd:mpiq-guard", 0), 0u) << read_link(proc + "/exe");
  std::string comm;
  for (int i = 0; i < 2000 && comm != "mpiq-guard"; ++i) {  // named once its main has started
    std::ifstream(proc + "/comm") >> comm;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(comm, "mpiq-guard");
}

TEST(ProcessGuard, TheFallbackGuardIsThisProgramAndEndsWatchedGroups) {
  TempDir dir;
  Child task = start("trap '' TERM; touch ready; sleep 30", dir);
  wait_for_file(dir.file("ready"));
  {
    std::string error;
    ProcessGuard guard = ProcessGuard::start(0.3, &error, ProcessGuard::Program::self);
    ASSERT_TRUE(guard.active()) << error;
    EXPECT_EQ(read_link("/proc/" + std::to_string(guard.pid()) + "/exe"), read_link("/proc/self/exe"));
    guard.watch(task.pid);
  }
  EXPECT_EQ(reap_within(task, 5).signal, SIGKILL);
}

TEST(ProcessGuard, ADefaultGuardIsInactiveAndIgnoresWatches) {
  ProcessGuard guard;
  EXPECT_FALSE(guard.active());
  guard.watch(12345);
  guard.forget(12345);
}

}  // namespace
}  // namespace mpiq::exec
