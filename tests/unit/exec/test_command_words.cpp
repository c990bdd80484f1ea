// Which commands need a shell, and how the others are split into words (docs/design.md §2: a command without
// shell syntax is executed directly).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "exec/spawn.hpp"

namespace mpiq::exec {
namespace {

TEST(NeedsShell, PlainWordsOfSafeCharactersRunDirectly) {
  for (const char* command : {"echo hello world", "/usr/bin/env", "python3 run.py --n=5 --out=a,b",
                              "scp user@host:/x/y.txt .", "calc 1+2 50% a^b", "tool\t-v\t2", ""})
    EXPECT_FALSE(needs_shell(command)) << command;
}

TEST(NeedsShell, AnyShellSyntaxNeedsTheShell) {
  for (const char* command :
       {"a | b",    "a > out",  "a < in",     "a; b",       "a & b",        "a && b",      "echo $HOME",
        "ls *.txt", "ls ?.txt", "ls ~/x",     "echo 'a b'", "echo \"a b\"", "echo `date`", "a # comment",
        "(a)",      "{ a; }",   "echo a\\ b", "echo !x",    "a\nb",         "echo [ab]"})
    EXPECT_TRUE(needs_shell(command)) << command;
}

TEST(NeedsShell, AnAssignmentIsShellSyntaxOnlyAsTheFirstWord) {
  EXPECT_TRUE(needs_shell("X=1 prog"));
  EXPECT_TRUE(needs_shell("  X=1 prog"));
  EXPECT_FALSE(needs_shell("prog X=1"));
  EXPECT_FALSE(needs_shell("prog --opt=1 -D=x"));
}

TEST(NeedsShell, ShellBuiltinsNeedTheShellEvenWithPlainWords) {
  for (const char* command : {"cd /tmp", "exit 3", "  export A", ". ./env.sh", "source env.sh", ":",
                              "ulimit -n", "umask 077", "wait", "exec prog", "command -v x", "type x"})
    EXPECT_TRUE(needs_shell(command)) << command;
  // Only the first word counts, and only the whole word.
  EXPECT_FALSE(needs_shell("echo cd exit"));
  EXPECT_FALSE(needs_shell("cdrom --eject"));
  EXPECT_FALSE(needs_shell("./exit"));
}

TEST(SplitWords, SplitsOnRunsOfSpacesAndTabs) {
  EXPECT_EQ(split_words("  prog\t-a   b \t c  "), (std::vector<std::string>{"prog", "-a", "b", "c"}));
  EXPECT_EQ(split_words("one"), (std::vector<std::string>{"one"}));
}

TEST(SplitWords, AnEmptyOrBlankCommandHasNoWords) {
  EXPECT_TRUE(split_words("").empty());
  EXPECT_TRUE(split_words(" \t ").empty());
}

}  // namespace
}  // namespace mpiq::exec
