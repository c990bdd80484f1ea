// How an ended task is told: describe_end's reasons, the stderr tail, durations in the file's words.

#include <gtest/gtest.h>

#include "core/task_outcome.hpp"
#include "core/task_syntax.hpp"

using namespace mpiq::core;

namespace {
TaskTable two_commands() {
  TaskTable t;
  TaskSpec a;
  a.id = 1;
  a.command = "x";
  t.append(a);
  TaskSpec b;
  b.id = 2;
  b.command = "y";
  const TaskIndex dep[] = {0};
  b.deps = dep;
  t.append(b);
  t.init_runtime_columns();
  return t;
}
}  // namespace

TEST(TaskOutcome, ACommandsReasonIsTheLineMpiqWroteIntoItsStderr) {
  TaskTable t = two_commands();
  t.state[0] = TaskState::failed;
  t.signal[0] = 15;
  t.result[0] = "some output\nmpiq: timed out after 30m\n";
  EXPECT_EQ(describe_end(t, 0), "timed out after 30m");
  EXPECT_EQ(stderr_tail(t, 0), "some output\nmpiq: timed out after 30m\n");
}

TEST(TaskOutcome, WithoutAReasonItIsTheSignalOrTheExitCode) {
  TaskTable t = two_commands();
  t.state[0] = TaskState::failed;
  t.exit_code[0] = 4;
  t.result[0] = "mpiq: is not the last line\nthe program's own words\n";
  EXPECT_EQ(describe_end(t, 0), "exit code 4");
  // What a shell's exit codes usually mean: a task is often a script.
  t.exit_code[0] = 127;
  EXPECT_EQ(describe_end(t, 0), "exit code 127, which a shell returns for a command not found");
  t.exit_code[0] = 137;
  EXPECT_EQ(describe_end(t, 0),
            "exit code 137, which a shell returns for a command killed by SIGKILL (kill -9, or the "
            "out-of-memory killer)");
  t.exit_code[0] = 255;
  EXPECT_EQ(describe_end(t, 0), "exit code 255");
  t.exit_code[0] = -1;
  t.signal[0] = 9;
  EXPECT_EQ(describe_end(t, 0), "killed by SIGKILL (kill -9, or the out-of-memory killer)");
  t.signal[0] = 11;
  EXPECT_EQ(describe_end(t, 0), "killed by SIGSEGV (segmentation fault)");
  t.signal[0] = 15;
  EXPECT_EQ(describe_end(t, 0), "killed by SIGTERM");
  t.signal[0] = 40;  // a real-time one: its number
  EXPECT_EQ(describe_end(t, 0), "killed by signal 40");
}

TEST(TaskOutcome, ASkippedTaskNamesTheDependencyThatFailed) {
  TaskTable t = two_commands();
  t.state[0] = TaskState::failed;
  t.state[1] = TaskState::skipped;
  EXPECT_EQ(describe_end(t, 1), "task 1, which it depends on, failed");
  EXPECT_EQ(stderr_tail(t, 1), "");
}

TEST(TaskOutcome, IndentLinesPrefixesEveryLineAndDropsTrailingNewlines) {
  EXPECT_EQ(indent_lines("a\nb\n\n", "| "), "| a\n| b\n");
  EXPECT_EQ(indent_lines("", "| "), "");
  // For a terminal: control characters as cat -v shows them, tabs and UTF-8 as they are.
  EXPECT_EQ(indent_lines("\x1b[31mred\x1b[0m\tok\rover\x7f\x01\n\xc3\xa9t\xc3\xa9", "| "),
            "| ^[[31mred^[[0m\tok^Mover^?^A\n| \xc3\xa9t\xc3\xa9\n");
  EXPECT_EQ(indent_lines(std::string_view("a\0b", 3), ""), "a^@b\n");
  // A C1 control in UTF-8 (U+009B, CSI): as its code point; a lone 0xc2 at the end stays.
  EXPECT_EQ(indent_lines("x\xc2\x9b"
                         "31m \xc2\xa0y\xc2",
                         ""),
            "x\\u009b31m \xc2\xa0y\xc2\n");
}

TEST(TaskSyntax, FormatDurationReadsBackAsTheSameSeconds) {
  EXPECT_EQ(format_duration(90), "1m30s");
  EXPECT_EQ(format_duration(1800), "30m");
  EXPECT_EQ(format_duration(7200), "2h");
  EXPECT_EQ(format_duration(3605), "1h0m5s");
  EXPECT_EQ(format_duration(0), "0s");
  for (uint32_t s : {1u, 59u, 61u, 3599u, 3600u, 86399u, 90061u})
    EXPECT_EQ(parse_duration(format_duration(s)), s);
}
