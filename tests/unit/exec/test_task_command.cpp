// The shell a worker uses and what `[@ dir @]` means (exec/task_command.hpp), and what spawn does with
// them: bash syntax, a script without `#!`, a command longer than an argument may be.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "exec/spawn.hpp"
#include "exec/task_command.hpp"
#include "support/temp_dir.hpp"

namespace mpiq::exec {
namespace {

using test::read_bytes;
using test::TempDir;

TEST(TaskCommand, TheShellIsTheOptionElseBashElseSh) {
  const auto only = [](std::initializer_list<std::string> paths) {
    return [set = std::vector<std::string>(paths)](const std::string& p) {
      return std::find(set.begin(), set.end(), p) != set.end();
    };
  };
  EXPECT_EQ(resolve_shell("", only({"/bin/bash", "/bin/sh"})), "/bin/bash");
  EXPECT_EQ(resolve_shell("", only({"/bin/sh"})), "/bin/sh");
  EXPECT_EQ(resolve_shell("/opt/zsh", only({"/opt/zsh"})), "/opt/zsh");
  EXPECT_EQ(resolve_shell("/no/such", only({"/bin/bash"})), std::nullopt);
}

TEST(TaskCommand, DirectoriesExpandAsCdWouldRead) {
  const std::map<std::string, std::string, std::less<>> vars = {
      {"HOME", "/home/u"}, {"SCRATCH", "/scratch/u"}, {"MPIQ_REPEAT_INDEX", "7"}};
  const auto lookup = [&](std::string_view name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
  EXPECT_EQ(expand_directory("~", lookup), "/home/u");
  EXPECT_EQ(expand_directory("~/runs", lookup), "/home/u/runs");
  EXPECT_EQ(expand_directory("$HOME/a", lookup), "/home/u/a");
  EXPECT_EQ(expand_directory("${SCRATCH}/run.$MPIQ_REPEAT_INDEX/x", lookup), "/scratch/u/run.7/x");
  EXPECT_EQ(expand_directory("/a/$UNSET/b", lookup), "/a//b");
  EXPECT_EQ(expand_directory("/cost$/a$-b", lookup), "/cost$/a$-b");
  EXPECT_EQ(expand_directory("/a/${HOME", lookup), "/a/${HOME");
  EXPECT_EQ(expand_directory("/a~/b", lookup), "/a~/b");  // ~ only at the start
  EXPECT_EQ(expand_directory("~user/x", lookup), "~user/x");
  EXPECT_TRUE(needs_expansion("~/x"));
  EXPECT_TRUE(needs_expansion("/a/$B"));
  EXPECT_FALSE(needs_expansion("/scratch/run1"));
}

Exit wait_for(Child& child) {
  Exit exit;
  for (int i = 0; i < 10000 && !try_reap(child, &exit); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return exit;
}

SpawnRequest request(const std::string& command, const TempDir& dir) {
  SpawnRequest r;
  r.command = command;
  r.env = {"PATH=/usr/local/bin:/usr/bin:/bin"};
  r.stdout_path = dir.file("out");
  r.stderr_path = dir.file("err");
  r.workdir = dir.path();
  return r;
}

TEST(TaskCommand, BashSyntaxRunsUnderBash) {
  if (access("/bin/bash", X_OK) != 0) GTEST_SKIP() << "no /bin/bash here";
  TempDir dir;
  SpawnRequest r = request("echo hi &> both.log; echo ${BASH_VERSION:+bash}", dir);
  r.shell = "/bin/bash";
  std::string error;
  Child c = spawn(r, &error);
  ASSERT_GT(c.pid, 0) << error;
  EXPECT_EQ(wait_for(c).exit_code, 0);
  EXPECT_EQ(read_bytes(dir.file("both.log")), "hi\n");  // dash would have run `echo hi &` and `> both.log`
  EXPECT_EQ(read_bytes(dir.file("out")), "bash\n");
}

TEST(TaskCommand, AScriptWithoutAShebangRunsThroughTheShell) {
  TempDir dir;
  { std::ofstream(dir.file("plain.sh")) << "echo from a script \"$1\"\n"; }
  chmod(dir.file("plain.sh").c_str(), 0755);
  SpawnRequest r = request(dir.file("plain.sh") + " arg", dir);
  std::string error;
  Child c = spawn(r, &error);
  ASSERT_GT(c.pid, 0) << error;
  EXPECT_EQ(wait_for(c).exit_code, 0);
  EXPECT_EQ(read_bytes(dir.file("out")), "from a script arg\n");
}

TEST(TaskCommand, ACommandLongerThanAnArgumentReachesTheShell) {
  TempDir dir;
  // 320 kB: one `:` command with a long argument list, then an echo (E2BIG as `sh -c` argument).
  std::string command = ":";
  while (command.size() < 320 * 1024) command += " abcdefghijklmnopqrstuvwxyz0123456789";
  command += "; echo long done";
  std::string error;
  Child c = spawn(request(command, dir), &error);
  ASSERT_GT(c.pid, 0) << error;
  EXPECT_EQ(wait_for(c).exit_code, 0);
  EXPECT_EQ(read_bytes(dir.file("out")), "long done\n");
}

}  // namespace
}  // namespace mpiq::exec
