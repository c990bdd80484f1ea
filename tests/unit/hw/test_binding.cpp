#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "hw/binding.hpp"
#include "hw/cpu_list.hpp"
#include "mpiq/error.hpp"

extern char** environ;

namespace mpiq::hw {
namespace {

/// The Cpus_allowed_list a child started with posix_spawn reports for itself.
std::string child_cpus_allowed() {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  const char* argv[] = {"/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status", nullptr};
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, "/bin/sh", &actions, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  std::string out;
  char buf[256];
  ssize_t n = 0;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  if (rc != 0) return "spawn failed";
  int status = 0;
  waitpid(pid, &status, 0);
  const auto colon = out.find(':');
  if (colon == std::string::npos) return out;
  const auto first = out.find_first_not_of(" \t", colon + 1);
  return out.substr(first, out.find('\n', first) - first);
}

TEST(Binding, ThisThreadHasAtLeastOnePu) {
  EXPECT_FALSE(this_thread_binding().empty());
}

TEST(Binding, BindsAndRestoresTheCallingThread) {
  const std::vector<int> all = this_thread_binding();
  const int pu = all.back();
  bind_this_thread({pu});
  EXPECT_EQ(this_thread_binding(), std::vector<int>{pu});
  bind_this_thread(all);
  EXPECT_EQ(this_thread_binding(), all);
}

TEST(Binding, ChildSpawnedInsideAScopeInheritsTheBindingAndTheWorkerGetsItsOwnBack) {
  const std::vector<int> all = this_thread_binding();
  if (all.size() < 2)
    GTEST_SKIP() << "needs 2 PUs to tell a binding from none (this thread has " << all.size() << ")";
  const int pu = all.front();
  std::string inside;
  {
    ScopedThreadBinding scope({pu}, all);
    inside = child_cpus_allowed();
  }
  EXPECT_EQ(inside, std::to_string(pu));
  EXPECT_EQ(this_thread_binding(), all);
  EXPECT_EQ(child_cpus_allowed(), cpu_list(all));
}

TEST(Binding, RefusesAnEmptyOrImpossibleSet) {
  const std::vector<int> before = this_thread_binding();
  EXPECT_THROW(bind_this_thread({}), Error);
  EXPECT_THROW(bind_this_thread({-1}), Error);
  EXPECT_THROW(bind_this_thread({1 << 16}), Error);
  EXPECT_EQ(this_thread_binding(), before);
}

}  // namespace
}  // namespace mpiq::hw
