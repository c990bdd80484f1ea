// Processes that leave a task's group (exec/orphans.hpp): attributed to their task attempt by the
// variables they inherited, adopted by this process as subreaper, and ended only once their attempt
// no longer runs; a process without the variables, or of another run, is never touched.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "exec/clock.hpp"
#include "exec/guard.hpp"
#include "exec/orphans.hpp"
#include "exec/spawn.hpp"
#include "support/temp_dir.hpp"

namespace mpiq::exec {
namespace {

using test::TempDir;
using namespace std::string_literals;

TEST(TaskAttemptKey, ComesFromTheTaskVariablesAndNeedsIdAndAttempt) {
  EXPECT_EQ(task_attempt_key("A=1\0MPIQ_TASK_ID=7\0MPIQ_ATTEMPT=2\0MPIQ_RUN_DIR=/r\0"s), "/r|7#2");
  EXPECT_EQ(task_attempt_key("MPIQ_TASK_ID=7\0MPIQ_REPEAT_INDEX=3\0MPIQ_ATTEMPT=1\0"s), "|7/3#1");
  EXPECT_EQ(task_attempt_key("MPIQ_TASK_ID=7\0"s), "");
  EXPECT_EQ(task_attempt_key("MPIQ_ATTEMPT=1\0XMPIQ_TASK_ID=7\0"s), "");
  EXPECT_EQ(task_attempt_key(""s), "");
  EXPECT_EQ(task_attempt_key("/r", 7, 0, false, 2), "/r|7#2");
  EXPECT_EQ(task_attempt_key("", 7, 3, true, 1), "|7/3#1");
}

bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_s, name, state;
  if (!(stat >> pid_s >> name >> state)) return false;
  return state != "Z";
}

// Starts `ESCAPE & echo $! > pidfile` as a task with `vars` and reaps it, leaving what ESCAPE started
// (`setsid ...`) as this process's child; returns its pid.
pid_t escaped(const TempDir& dir, const std::vector<std::string>& vars,
              const std::string& escape = "setsid sleep 100") {
  SpawnRequest r;
  r.command = escape + " & echo $! > " + dir.path() + "/pid";
  r.env = {"PATH=/usr/bin:/bin"};
  r.env.insert(r.env.end(), vars.begin(), vars.end());
  std::string error;
  Child c = spawn(r, &error);
  EXPECT_GT(c.pid, 0) << error;
  Exit ex;
  while (!try_reap(c, &ex)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  pid_t pid = 0;
  for (int i = 0; i < 200 && pid == 0; ++i) {
    std::ifstream in(dir.path() + "/pid");
    if (!(in >> pid)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GT(pid, 0);
  return pid;
}

TEST(Orphans, AnEscapedProcessEndsOnceItsAttemptNoLongerRuns) {
  ASSERT_TRUE(become_subreaper());
  TempDir dir;
  const pid_t mine = escaped(dir, {"MPIQ_RUN_DIR=/run", "MPIQ_TASK_ID=5", "MPIQ_ATTEMPT=1"});
  std::filesystem::remove(dir.path() + "/pid");
  const pid_t stranger = escaped(dir, {"MPIQ_RUN_DIR=/other", "MPIQ_TASK_ID=5", "MPIQ_ATTEMPT=1"});
  std::filesystem::remove(dir.path() + "/pid");
  const pid_t unmarked = escaped(dir, {"MPIQ_RUN_DIR=/run"});
  Orphans orphans("/run");
  const auto known = [](pid_t) { return false; };
  bool running = true;
  const auto is_running = [&](const std::string& key) { return running && key == "/run|5#1"; };
  // Its attempt still runs: adopted, not ended.
  orphans.sweep(0, 1, known, is_running);
  EXPECT_EQ(orphans.adopted(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(alive(mine));
  // The attempt has ended: the next looks end it and reap it.
  running = false;
  for (int i = 0; i < 200 && orphans.adopted() > 0; ++i) {
    orphans.sweep(i * 0.01, 1, known, is_running);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(orphans.adopted(), 0u);
  EXPECT_FALSE(alive(mine));
  // Another run's process and one without the variables are left as they were.
  EXPECT_TRUE(alive(stranger));
  EXPECT_TRUE(alive(unmarked));
  for (pid_t p : {stranger, unmarked}) {
    kill(p, SIGKILL);
    waitpid(p, nullptr, 0);
  }
}

TEST(Orphans, EndAllEndsEveryAdoptedOrphanAndKillsOneThatIgnoresTerm) {
  ASSERT_TRUE(become_subreaper());
  TempDir dir;
  const pid_t pid = escaped(dir, {"MPIQ_RUN_DIR=/run", "MPIQ_TASK_ID=9", "MPIQ_ATTEMPT=1"},
                            "setsid sh -c 'trap \"\" TERM; while :; do sleep 0.1; done'");
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the trap is set
  Orphans orphans("/run");
  orphans.end_all(0.3, [](pid_t) { return false; });
  EXPECT_EQ(orphans.adopted(), 0u);
  EXPECT_FALSE(alive(pid));
  // Its loop's `sleep`, killed with the group, is a zombie child of this subreaper now: the next sweep
  // reaps it, and this process has no child left but the guard.
  const auto guard = [](pid_t p) { return p == guard_pid(); };
  for (int i = 0; i < 200 && !only_known_children(guard); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    orphans.sweep(
        mono_now(), 0.3, [](pid_t) { return false; }, [](const std::string&) { return false; });
  }
  EXPECT_TRUE(only_known_children(guard)) << "children left: " << children_of_this_process().size();
}

// What a task left behind and that ended on its own before a sweep saw it (`(sleep 0.05 &)`) is a
// zombie child of the subreaper, with no variables left to read: the sweep reaps it (they piled up,
// one for every such task, for as long as the worker lived). A zombie in this process's own group is
// a child it started itself, and stays for it to reap.
TEST(Orphans, ASweepReapsTheZombiesTasksLeftAndNotThoseOfThisProcess) {
  ASSERT_TRUE(become_subreaper());
  TempDir dir;
  const pid_t left = escaped(dir, {"MPIQ_RUN_DIR=/run", "MPIQ_TASK_ID=4", "MPIQ_ATTEMPT=1"}, "sleep 0.05");
  ASSERT_GT(left, 0);
  const pid_t own = fork();
  if (own == 0) _exit(0);
  ASSERT_GT(own, 0);
  const auto zombie = [](pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string pid_s, name, state;
    return static_cast<bool>(stat >> pid_s >> name >> state) && state == "Z";
  };
  for (int i = 0; i < 200 && !(zombie(left) && zombie(own)); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(zombie(left) && zombie(own));
  Orphans orphans("/run");
  orphans.sweep(
      mono_now(), 1.0, [](pid_t) { return false; }, [](const std::string&) { return false; });
  EXPECT_FALSE(std::filesystem::exists("/proc/" + std::to_string(left)))
      << "the task's zombie was not reaped";
  EXPECT_EQ(orphans.adopted(), 0u);
  EXPECT_EQ(waitpid(own, nullptr, WNOHANG), own) << "the sweep reaped a child of this process's own group";
}

// What a worker asks before it passes a task's pipes on (worker/worker.cpp, Worker::reap): whether
// every child of this process is one it knows. A process a task left behind (setsid) is a child of this
// subreaper once the task has ended, and is seen until it has been reaped.
TEST(OnlyKnownChildren, SeesAProcessATaskLeftBehindUntilItIsReaped) {
  ASSERT_TRUE(become_subreaper());
  const auto none = [](pid_t) { return false; };
  ASSERT_TRUE(only_known_children(none)) << "this test needs a process without other children";
  TempDir dir;
  const pid_t left = escaped(dir, {});
  EXPECT_FALSE(only_known_children(none));
  EXPECT_TRUE(only_known_children([&](pid_t p) { return p == left; }));
  // From another thread too: the task's pid was this thread's child, the one left behind the first
  // thread's.
  bool seen_there = true;
  std::thread([&] { seen_there = only_known_children(none); }).join();
  EXPECT_FALSE(seen_there);
  kill(left, SIGKILL);
  waitpid(left, nullptr, 0);
  EXPECT_TRUE(only_known_children(none));
}

}  // namespace
}  // namespace mpiq::exec
