// pylauncher's CORES,COMMAND files (core/pylauncher.hpp): read with --format pylauncher, refused with
// that hint as mpiq's own format.
#include <gtest/gtest.h>

#include "core/pylauncher.hpp"
#include "core/task_file.hpp"
#include "mpiq/error.hpp"

namespace mpiq::core {
namespace {

TEST(Pylauncher, EachLineIsCoresThenTheCommandOnItsOwnLineNumber) {
  const std::string text = "# a sweep\n2,./sim a\n\n4,echo b,c\n";
  EXPECT_EQ(pylauncher_as_task_file(text, "p"), "\n[% cores=2 %] ./sim a\n\n[% cores=4 %] echo b,c\n");
  const TaskTable t = parse_task_file(pylauncher_as_task_file(text, "p"), "p");
  EXPECT_EQ(t.cores[*t.find(2)], 2u);
  EXPECT_EQ(t.command[*t.find(4)], "echo b,c");
}

TEST(Pylauncher, ACommentThatReadsAsAnMpiqDirectiveStaysAComment) {
  // pylauncher skips every `#` line; mpiq's parser would make these a barrier and new defaults.
  const std::string text = "1,./a\n#MPIQ barrier\n#MPIQ defaults cores=8 timeout=1\n2,./b\n#MPIQ bogus\n";
  const TaskTable t = parse_task_file(pylauncher_as_task_file(text, "p"), "p");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t.id[1], 4u);
  EXPECT_EQ(t.cores[1], 2u);
  EXPECT_EQ(t.timeout_s[1], 0u);
  EXPECT_EQ(t.dep_offsets[2] - t.dep_offsets[1], 0u) << "task 4 waits for a barrier";
}

TEST(Pylauncher, ALineWithoutCoresIsAnErrorAtIt) {
  try {
    pylauncher_as_task_file("1,a\n  ./b\n", "p.txt");
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "p.txt:2:3: a pylauncher line is CORES,COMMAND (e.g. '4,./simulate input.dat')");
  }
  EXPECT_THROW(pylauncher_as_task_file("0,a\n", "p"), InputError);
}

TEST(Pylauncher, APylauncherFileGivenAsAnMpiqFileIsRefusedWithTheHint) {
  EXPECT_TRUE(looks_like_pylauncher("# x\n1,a\n2,b\n"));
  EXPECT_FALSE(looks_like_pylauncher("1,a\necho b\n"));
  EXPECT_FALSE(looks_like_pylauncher("# only comments\n"));
  try {
    parse_task_file("1,./a\n2,./b\n", "p.txt");
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "p.txt:1:1: this is a pylauncher file (every task line is CORES,COMMAND): run it with --format "
              "pylauncher");
  }
}

}  // namespace
}  // namespace mpiq::core
