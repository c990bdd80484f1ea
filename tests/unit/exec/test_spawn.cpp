// Real child processes: what spawn gives a task (environment, directory, output files, its own
// process group, default signals), how it reports a start failure, and reaping.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "exec/spawn.hpp"
#include "support/temp_dir.hpp"

namespace mpiq::exec {
namespace {

using test::read_bytes;
using test::TempDir;

// Reaps `child`, waiting up to 10 s; fails the test if it does not end.
Exit wait_for(Child& child) {
  Exit exit;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!try_reap(child, &exit)) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "child " << child.pid << " did not end";
      signal_group(child, SIGKILL);
      while (!try_reap(child, &exit)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return exit;
}

SpawnRequest request(const std::string& command, const TempDir& dir) {
  SpawnRequest r;
  r.command = command;
  r.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "MPIQ_TEST_VALUE=forty two"};
  r.stdout_path = dir.file("out");
  r.stderr_path = dir.file("err");
  return r;
}

// spawn(r) as a start that fails: no process, and the message it gives.
std::string start_error(const SpawnRequest& r) {
  std::string error;
  EXPECT_EQ(spawn(r, &error).pid, -1) << "started, though it should not have";
  return error;
}

// The worker's PATH (which spawn searches) set for one scope and restored after it, however the test
// leaves it (an ASSERT returns early).
class ScopedPath {
 public:
  explicit ScopedPath(const std::string& path) {
    const char* old = std::getenv("PATH");
    saved_ = old ? old : "";
    setenv("PATH", path.c_str(), 1);
  }
  ~ScopedPath() { setenv("PATH", saved_.c_str(), 1); }
  ScopedPath(const ScopedPath&) = delete;
  ScopedPath& operator=(const ScopedPath&) = delete;

 private:
  std::string saved_;
};

TEST(Spawn, ADirectCommandGetsExactlyTheGivenEnvironment) {
  TempDir dir;
  std::string error;
  Child c = spawn(request("env", dir), &error);
  ASSERT_GT(c.pid, 0) << error;
  EXPECT_EQ(wait_for(c).exit_code, 0);
  EXPECT_EQ(read_bytes(dir.file("out")), "PATH=/usr/local/bin:/usr/bin:/bin\nMPIQ_TEST_VALUE=forty two\n");
}

TEST(Spawn, TheInheritedEntriesComeFirstThenTheTasksOwn) {
  TempDir dir;
  const std::vector<std::string> inherited = {"HOME=/home/x", "LANG=C"};
  SpawnRequest r = request("env", dir);
  r.inherited = &inherited;
  std::string error;
  Child c = spawn(r, &error);
  ASSERT_GT(c.pid, 0) << error;
  EXPECT_EQ(wait_for(c).exit_code, 0);
  EXPECT_EQ(read_bytes(dir.file("out")),
            "HOME=/home/x\nLANG=C\nPATH=/usr/local/bin:/usr/bin:/bin\nMPIQ_TEST_VALUE=forty two\n");
}

TEST(Spawn, ShellSyntaxRunsThroughTheShellInTheWorkingDirectory) {
  TempDir dir;
  SpawnRequest r = request("echo \"$MPIQ_TEST_VALUE\" > here.txt; pwd; echo oops >&2; exit 7", dir);
  r.workdir = dir.path();
  std::string error;
  Child c = spawn(r, &error);
  ASSERT_GT(c.pid, 0) << error;
  const Exit e = wait_for(c);
  EXPECT_EQ(e.exit_code, 7);
  EXPECT_EQ(e.signal, 0);
  EXPECT_EQ(read_bytes(dir.file("here.txt")), "forty two\n");
  EXPECT_EQ(read_bytes(dir.file("out")), dir.path() + "\n");
  EXPECT_EQ(read_bytes(dir.file("err")), "oops\n");
}

TEST(Spawn, OutputFilesAreTruncatedUnlessAppending) {
  TempDir dir;
  std::string error;
  for (bool append : {false, true}) {
    SpawnRequest r = request("echo attempt", dir);
    r.append = append;
    Child c = spawn(r, &error);
    ASSERT_GT(c.pid, 0) << error;
    wait_for(c);
  }
  EXPECT_EQ(read_bytes(dir.file("out")), "attempt\nattempt\n");
  Child c = spawn(request("echo again", dir), &error);
  ASSERT_GT(c.pid, 0) << error;
  wait_for(c);
  EXPECT_EQ(read_bytes(dir.file("out")), "again\n");
}

TEST(Spawn, StandardInputIsEmpty) {
  TempDir dir;
  std::string error;
  Child c = spawn(request("wc -c", dir), &error);  // would wait for a terminal or pipe otherwise
  ASSERT_GT(c.pid, 0) << error;
  EXPECT_EQ(wait_for(c).exit_code, 0);
  EXPECT_EQ(read_bytes(dir.file("out")), "0\n");
}

TEST(Spawn, AnEmptyCommandSucceeds) {
  TempDir dir;
  std::string error;
  Child c = spawn(request("", dir), &error);
  ASSERT_GT(c.pid, 0) << error;
  EXPECT_EQ(wait_for(c).exit_code, 0);
}

TEST(Spawn, AMissingProgramIsAStartErrorThatNamesIt) {
  TempDir dir;
  EXPECT_EQ(start_error(request("mpiq-no-such-program --flag", dir)),
            "cannot start 'mpiq-no-such-program': No such file or directory");
}

// A program is looked up in PATH once and started from where it was found after that; when it is gone
// from there, PATH is searched again, and when it is gone everywhere the start fails as before.
TEST(Spawn, AProgramFoundInPathIsSearchedAgainWhenItMoves) {
  TempDir dir;
  for (const char* d : {"a", "b"}) {
    std::filesystem::create_directories(dir.file(d));
    const std::string prog = dir.file(std::string(d) + "/mpiq-test-prog");
    test::write_bytes(prog, std::string("#!/bin/sh\necho ") + d + "\n");
    std::filesystem::permissions(prog, std::filesystem::perms::owner_all);
  }
  const ScopedPath path(dir.file("a") + ":" + dir.file("b") + ":/usr/bin:/bin");
  auto run_prog = [&](std::string* error) {
    Child c = spawn(request("mpiq-test-prog", dir), error);
    if (c.pid < 0) return std::string("failed");
    wait_for(c);
    return read_bytes(dir.file("out"));
  };
  std::string error;
  EXPECT_EQ(run_prog(&error), "a\n") << error;
  EXPECT_EQ(run_prog(&error), "a\n") << error;
  std::filesystem::remove(dir.file("a/mpiq-test-prog"));
  EXPECT_EQ(run_prog(&error), "b\n") << error;
  std::filesystem::remove(dir.file("b/mpiq-test-prog"));
  EXPECT_EQ(run_prog(&error), "failed");
  EXPECT_EQ(error, "cannot start 'mpiq-test-prog': No such file or directory");
}

TEST(Spawn, AMissingWorkingDirectoryIsAStartErrorThatNamesIt) {
  TempDir dir;
  SpawnRequest r = request("true", dir);
  r.workdir = dir.file("absent");
  EXPECT_EQ(start_error(r), "cannot enter directory '" + dir.file("absent") + "': No such file or directory");
}

TEST(Spawn, TheChildLeadsItsOwnProcessGroupAndASignalEndsIt) {
  TempDir dir;
  std::string error;
  Child c = spawn(request("sleep 30", dir), &error);
  ASSERT_GT(c.pid, 0) << error;
  EXPECT_EQ(getpgid(c.pid), c.pid);
  EXPECT_NE(getpgid(c.pid), getpgrp());
  Exit e;
  EXPECT_FALSE(try_reap(c, &e)) << "try_reap must not wait for a running child";
  signal_group(c, SIGKILL);
  e = wait_for(c);
  EXPECT_EQ(e.signal, SIGKILL);
  EXPECT_EQ(e.exit_code, -1);
  EXPECT_EQ(c.pidfd, -1) << "the pidfd is closed once the child is reaped";
}

TEST(Spawn, ThePidfdBecomesReadableWhenTheChildExits) {
  TempDir dir;
  std::string error;
  Child c = spawn(request("sleep 0.1", dir), &error);
  ASSERT_GT(c.pid, 0) << error;
  ASSERT_GE(c.pidfd, 0);
  pollfd p{c.pidfd, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 10'000), 1);
  const Exit e = wait_for(c);
  EXPECT_EQ(e.exit_code, 0);
  EXPECT_GT(e.max_rss_kb, 0);
}

// The worker blocks or ignores signals for its own loop; a task must start with none of that.
TEST(Spawn, TheChildStartsWithDefaultSignalsWhateverTheParentBlocksOrIgnores) {
  TempDir dir;
  sigset_t term, old_mask;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &old_mask), 0);
  struct sigaction ignore {
  }, old_action{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGUSR2, &ignore, &old_action);
  std::string error;
  Child c = spawn(request("grep -e SigBlk -e SigIgn /proc/self/status", dir), &error);
  sigaction(SIGUSR2, &old_action, nullptr);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ASSERT_GT(c.pid, 0) << error;
  EXPECT_EQ(wait_for(c).exit_code, 0);
  // Signals 1-31 only: glibc's posix_spawn ignores its two internal real-time signals in every child.
  const std::string out = read_bytes(dir.file("out"));
  for (const char* field : {"SigBlk:", "SigIgn:"}) {
    const size_t at = out.find(field);
    ASSERT_NE(at, std::string::npos) << out;
    const unsigned long long mask = std::stoull(out.substr(at + std::strlen(field)), nullptr, 16);
    EXPECT_EQ(mask & 0x7fffffffULL, 0u) << field << " in the child: " << out;
  }
}

// A real-time signal is reset from the starting thread's lookup of its signals, made again once a
// second (src/exec/spawn.cpp, ChildResets): one ignored for longer than that starts at its default too.
TEST(Spawn, ARealTimeSignalTheParentIgnoresIsResetOnceLookedUpAgain) {
  TempDir dir;
  const int sig = SIGRTMIN + 5;
  struct sigaction ignore {
  }, old_action{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(sig, &ignore, &old_action), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  std::string error;
  Child c = spawn(request("grep -e SigIgn /proc/self/status", dir), &error);
  sigaction(sig, &old_action, nullptr);
  ASSERT_GT(c.pid, 0) << error;
  EXPECT_EQ(wait_for(c).exit_code, 0);
  const std::string out = read_bytes(dir.file("out"));
  const size_t at = out.find("SigIgn:");
  ASSERT_NE(at, std::string::npos) << out;
  const unsigned long long mask = std::stoull(out.substr(at + 7), nullptr, 16);
  EXPECT_EQ(mask >> (sig - 1) & 1, 0u) << "signal " << sig << " ignored in the child: " << out;
}

// A descriptor this process opens and leaves inheritable (Open MPI's PMIx socket did, in every task)
// does not reach the task; what the task is given does (a long command's script on fd 3 included).
TEST(Spawn, TheTaskGetsItsOwnDescriptorsAndNoneTheProcessOpenedLater) {
  TempDir dir;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  // Not close-on-exec, and above whatever the test was started with.
  const int stray[2] = {fcntl(fds[0], F_DUPFD, 200), fcntl(fds[1], F_DUPFD, 200)};
  close(fds[0]);
  close(fds[1]);
  ASSERT_GE(stray[0], 200);
  ASSERT_GE(stray[1], 200);
  std::string error;
  // ls of its own descriptors: 0-2, 3 (the directory ls reads), what this test was started with, and
  // none of the stray ones.
  Child c = spawn(request("ls /proc/self/fd", dir), &error);
  ASSERT_GT(c.pid, 0) << error;
  EXPECT_EQ(wait_for(c).exit_code, 0);
  const std::string listed = "\n" + read_bytes(dir.file("out"));
  for (const char* fd : {"\n0\n", "\n1\n", "\n2\n"}) EXPECT_NE(listed.find(fd), std::string::npos) << listed;
  for (int fd : stray) EXPECT_EQ(listed.find("\n" + std::to_string(fd) + "\n"), std::string::npos) << listed;
  // Through the shell, a script on fd 3: the shell reads it, and the stray pipe is still not there.
  const std::string check = "test -e /proc/self/fd/" + std::to_string(stray[0]) + " && echo stray; " +
                            "test -e /proc/self/fd/" + std::to_string(stray[1]) +
                            " && echo stray; echo done # " + std::string(200 * 1024, 'x');
  c = spawn(request(check, dir), &error);
  ASSERT_GT(c.pid, 0) << error;
  EXPECT_EQ(wait_for(c).exit_code, 0);
  EXPECT_EQ(read_bytes(dir.file("out")), "done\n");
  // The caller's copies are untouched.
  EXPECT_EQ(fcntl(stray[0], F_GETFD), 0);
  EXPECT_EQ(fcntl(stray[1], F_GETFD), 0);
  close(stray[0]);
  close(stray[1]);
}

// The CPUs this thread may run on, as sched_getaffinity gives them.
std::vector<int> own_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return {};
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

// The worker no longer binds itself around a start: the child binds itself, and the caller's own
// binding is never touched (it was, for every task, when the thread bound itself and back).
TEST(Spawn, TheChildRunsOnTheRequestedCpusAndTheCallerKeepsItsOwn) {
  const std::vector<int> before = own_cpus();
  if (before.size() < 2)
    GTEST_SKIP() << "needs 2 CPUs to tell a binding from none (has " << before.size() << ")";
  TempDir dir;
  SpawnRequest r = request("grep Cpus_allowed_list /proc/self/status", dir);
  r.cpus = {before.back()};
  std::string error;
  Child c = spawn(r, &error);
  ASSERT_GT(c.pid, 0) << error;
  EXPECT_EQ(own_cpus(), before);
  EXPECT_EQ(wait_for(c).exit_code, 0);
  EXPECT_EQ(read_bytes(dir.file("out")), "Cpus_allowed_list:\t" + std::to_string(before.back()) + "\n");
}

TEST(Spawn, ABindingTheKernelRefusesIsAStartErrorThatSaysSo) {
  TempDir dir;
  SpawnRequest r = request("true", dir);
  r.cpus = {CPU_SETSIZE * 4 - 1};  // past every CPU the kernel has: no CPU left to run on
  EXPECT_EQ(start_error(r), "cannot bind the task to its cores: Invalid argument");
  EXPECT_FALSE(std::filesystem::exists(dir.file("out"))) << "the child stopped before opening its output";
  r.cpus = {-1};  // no CPU at all: refused too, never started unbound
  EXPECT_EQ(start_error(r), "cannot bind the task to its cores: Invalid argument");
}

TEST(Spawn, AnOutputFileThatCannotBeOpenedIsAStartErrorThatNamesIt) {
  TempDir dir;
  SpawnRequest r = request("true", dir);
  r.stderr_path = dir.file("absent/err");
  EXPECT_EQ(start_error(r),
            "cannot open the task's stderr '" + dir.file("absent/err") + "': No such file or directory");
}

// execvp's rules for PATH: a file that may not be run is passed over for a later one, and is the error
// only when nothing later starts.
TEST(Spawn, APathEntryThatMayNotBeRunIsPassedOverAndIsTheErrorWhenNothingElseStarts) {
  TempDir dir;
  for (const char* d : {"a", "b"}) std::filesystem::create_directories(dir.file(d));
  test::write_bytes(dir.file("a/mpiq-test-prog"), "#!/bin/sh\necho a\n");  // not executable
  std::filesystem::permissions(dir.file("a/mpiq-test-prog"), std::filesystem::perms::owner_read);
  const std::string b = dir.file("b/mpiq-test-prog");
  test::write_bytes(b, "#!/bin/sh\necho b\n");
  std::filesystem::permissions(b, std::filesystem::perms::owner_all);
  // The request's own PATH is the task's; the search uses the worker's, as posix_spawnp did.
  const ScopedPath path(dir.file("a") + ":" + dir.file("b") + ":/usr/bin:/bin");
  std::string error;
  Child c = spawn(request("mpiq-test-prog", dir), &error);
  ASSERT_GT(c.pid, 0) << error;
  wait_for(c);
  EXPECT_EQ(read_bytes(dir.file("out")), "b\n");
  test::write_bytes(dir.file("a/mpiq-test-noexec"), "#!/bin/sh\necho a\n");
  std::filesystem::permissions(dir.file("a/mpiq-test-noexec"), std::filesystem::perms::owner_read);
  EXPECT_EQ(start_error(request("mpiq-test-noexec", dir)),
            "cannot start 'mpiq-test-noexec': Permission denied");  // root too: no execute bit at all
}

TEST(CaptureOutput, ReturnsWhatTheProgramPrintedOnStdoutOnly) {
  EXPECT_EQ(capture_output({"sh", "-c", "echo out; echo err >&2"}, 10), "out\n");
  EXPECT_EQ(capture_output({"printf", "%s", "no newline"}, 10), "no newline");
}

TEST(CaptureOutput, FailureOrAMissingProgramIsNoOutput) {
  EXPECT_EQ(capture_output({"sh", "-c", "echo partial; exit 3"}, 10), std::nullopt);
  EXPECT_EQ(capture_output({"mpiq-no-such-program"}, 10), std::nullopt);
  EXPECT_EQ(capture_output({}, 10), std::nullopt);
}

TEST(CaptureOutput, AProgramPastItsTimeoutIsKilledAndGivesNothing) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(capture_output({"sh", "-c", "echo early; exec sleep 30"}, 0.3), std::nullopt);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace mpiq::exec
