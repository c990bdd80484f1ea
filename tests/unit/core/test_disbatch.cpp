// disBatch's task files (core/disbatch.hpp), read with disBatch's meaning (disBatch c706216's
// _task_generator), and the scheduling of its barriers (core/scheduler.hpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/disbatch.hpp"
#include "core/scheduler.hpp"
#include "core/task_file.hpp"
#include "core/task_ref.hpp"
#include "mpiq/error.hpp"

namespace mpiq::core {
namespace {

TaskTable parse(const std::string& text) {
  return parse_disbatch_file(text, "db");
}

std::vector<TaskIndex> deps_of(const TaskTable& t, TaskIndex r) {
  return {t.deps.begin() + static_cast<ptrdiff_t>(t.dep_offsets[r]),
          t.deps.begin() + static_cast<ptrdiff_t>(t.dep_offsets[r + 1])};
}

// The message of the InputError that parsing `text` throws, "" when it throws none.
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Disbatch, EachLineIsATaskBetweenPrefixAndSuffixWithNothingAdded) {
  const TaskTable t = parse(
      "# comment\n  # indented comment\necho a\n#DISBATCH PREFIX cd /tmp ; \n  echo b\n"
      "#DISBATCH SUFFIX  &> log\necho c\n#DISBATCH PREFIX \necho d\n");
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t.id[0], 3u);
  EXPECT_EQ(t.command[0], "echo a");
  EXPECT_EQ(t.command[1], "cd /tmp ;   echo b") << "the line as written, its leading blanks kept";
  EXPECT_EQ(t.command[2], "cd /tmp ; echo c &> log");
  EXPECT_EQ(t.command[3], "echo d &> log") << "'PREFIX ' with no text clears the prefix";
  for (TaskIndex r = 0; r < 4; ++r) {
    EXPECT_EQ(t.flags[r], kDisbatch);
    EXPECT_EQ(t.element[r], kNoElement);
    EXPECT_EQ(t.cores[r], 1u);
  }
}

TEST(Disbatch, MpiqPrefixesAndDirectivesMeanNothing) {
  // disBatch hands `[# 1 #] b` to bash as it is, and `#MPIQ barrier` is a comment to it.
  const TaskTable t = parse("a\n#MPIQ barrier\n[# 1 #] b\n[% cores=4 %] c\n");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t.command[1], "[# 1 #] b");
  EXPECT_EQ(t.command[2], "[% cores=4 %] c");
  EXPECT_EQ(t.cores[2], 1u);
  EXPECT_TRUE(deps_of(t, 1).empty());
}

TEST(Disbatch, RepeatIsASweepWithStartAndStep) {
  const TaskTable t =
      parse("#DISBATCH PREFIX x=$DISBATCH_REPEAT_INDEX; \n#DISBATCH REPEAT 3 start 5 step 10 ./sim $x\n");
  ASSERT_EQ(t.size(), 3u);
  for (TaskIndex r = 0; r < 3; ++r) {
    EXPECT_EQ(t.id[r], 2u);
    EXPECT_EQ(t.element[r], 5u + 10u * r);
    EXPECT_EQ(t.command[r], "x=$DISBATCH_REPEAT_INDEX; ./sim $x");
  }
  EXPECT_EQ(t.element[*t.find(2, 15)], 15u);
}

TEST(Disbatch, ARepeatsTasksAreNamedLineAndIndexAsASweepsAre) {
  // No join row (nothing in a disBatch file names a line), and still `mpiq cat RUN 2[15]` finds one.
  const TaskTable t = parse("a\n#DISBATCH REPEAT 3 start 5 step 5 b\n#DISBATCH BARRIER\nc\n");
  std::string why;
  EXPECT_EQ(find_task_ref(t, "2[15]", &why), std::optional<TaskIndex>(3));
  EXPECT_EQ(find_task_ref(t, "1", &why), std::optional<TaskIndex>(0));
  EXPECT_EQ(find_task_ref(t, "4", &why), std::optional<TaskIndex>(5));
  EXPECT_FALSE(find_task_ref(t, "2", &why));
  EXPECT_EQ(why, "task '2' is a sweep of 3 elements: 5, 10, 15: name one as 2[5]");
  EXPECT_FALSE(find_task_ref(t, "2[7]", &why));
  EXPECT_EQ(why, "sweep '2' has no element 7 (it has 3 elements: 5, 10, 15)");
  EXPECT_FALSE(find_task_ref(t, "3", &why)) << "a barrier is no task";
}

TEST(Disbatch, RepeatWithoutCommandRunsPrefixAndSuffix) {
  const TaskTable t =
      parse("#DISBATCH PREFIX ./run \n#DISBATCH SUFFIX > out.$DISBATCH_REPEAT_INDEX\n#DISBATCH REPEAT 2\n");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t.command[0], "./run > out.$DISBATCH_REPEAT_INDEX");
  EXPECT_EQ(t.element[0], 0u);
  EXPECT_EQ(t.element[1], 1u);
}

TEST(Disbatch, RepeatMatchesAsDisbatchsRegularExpressionDoes) {
  // Keywords in any case; `start` must come before `step`, else it is the command; a number that does
  // not end its word makes the word part of the command (the regular expression backtracks).
  EXPECT_EQ(parse("#DISBATCH repeat 2 START 1 Step 2 go\n").element[1], 3u);
  const TaskTable a = parse("#DISBATCH REPEAT 2 step 2 start 1\n");
  EXPECT_EQ(a.command[0], "start 1");
  EXPECT_EQ(a.element[1], 2u);
  const TaskTable b = parse("#DISBATCH REPEAT 2 start 2x\n");
  EXPECT_EQ(b.command[0], "start 2x");
  EXPECT_EQ(b.element[0], 0u);
  EXPECT_EQ(parse("#DISBATCH REPEAT 1  two blanks\n").command[0], " two blanks");
  EXPECT_EQ(parse("x\n#DISBATCH REPEAT 0 none\n").size(), 1u) << "REPEAT 0 makes no task";
  EXPECT_NE(
      error_of("#DISBATCH REPEAT x\n").find("db:1:17: '#DISBATCH REPEAT' is 'REPEAT N [start S] [step K]"),
      std::string::npos);
  EXPECT_NE(error_of("#DISBATCH REPEAT 3x\n").find("db:1:17:"), std::string::npos);
  EXPECT_NE(error_of("#DISBATCH REPEAT 2 step 0 a\n").find("db:1:25: a REPEAT step of 0"), std::string::npos);
  EXPECT_NE(error_of("#DISBATCH REPEAT 2\n").find("the REPEAT has no command"), std::string::npos);
  EXPECT_NE(error_of("#DISBATCH REPEAT 2 start 4294967294 a\n").find("too large"), std::string::npos);
}

TEST(Disbatch, BarrierWaitsForEveryTaskAboveAndEveryTaskBelowWaitsForIt) {
  const TaskTable t = parse("a\n#DISBATCH REPEAT 2 r\n#DISBATCH BARRIER\nb\nc\n#DISBATCH BARRIER CHECK\nd\n");
  ASSERT_EQ(t.size(), 8u);
  // Rows are disBatch's task ids: a 0, r 1 and 2, the barrier 3, b 4, c 5, the check 6, d 7.
  EXPECT_EQ(t.flags[3], kBarrier | kDisbatch | kAfterAny);
  EXPECT_EQ(t.id[3], 3u);
  EXPECT_EQ(deps_of(t, 3), (std::vector<TaskIndex>{0, 1, 2}));
  EXPECT_EQ(deps_of(t, 4), (std::vector<TaskIndex>{3}));
  EXPECT_EQ(t.flags[6], kBarrier | kDisbatch) << "CHECK waits for success";
  EXPECT_EQ(deps_of(t, 6), (std::vector<TaskIndex>{3, 4, 5}));
  EXPECT_EQ(t.command[7], "d");
  EXPECT_EQ(deps_of(t, 7), (std::vector<TaskIndex>{6}));
}

TEST(Disbatch, WhatDisbatchIgnoresOrReadsByAccidentIsAnErrorAtItsLine) {
  EXPECT_EQ(error_of("a\n#DISBATCH barrier\n"),
            "db:2:11: disBatch reads 'barrier' only in upper case, BARRIER (it ignores this line)");
  EXPECT_NE(error_of("#DISBATCH BARRIER check\na\n").find("db:1:19: disBatch reads CHECK only in upper case"),
            std::string::npos);
  EXPECT_NE(error_of("#DISBATCH BARRIER mykey\na\n").find("db:1:19: a barrier's key ('mykey')"),
            std::string::npos);
  EXPECT_NE(error_of("#DISBATCH BARRIERS\na\n").find("db:1:18: unexpected text"), std::string::npos);
  EXPECT_NE(error_of("#DISBATCH BARRIER CHECKX\na\n").find("db:1:24: unexpected text"), std::string::npos);
  EXPECT_NE(error_of("#DISBATCH PREFIX\na\n").find("db:1:17: '#DISBATCH PREFIX' needs a blank"),
            std::string::npos);
  EXPECT_NE(error_of("#DISBATCH FOO x\na\n").find("db:1:11: unknown disBatch directive 'FOO'"),
            std::string::npos);
  EXPECT_NE(error_of("#DISBATCHX\na\n").find("db:1:1: '#DISBATCH' without a blank"), std::string::npos);
  EXPECT_EQ(error_of("a\n#DISBATCH PERENGINE START echo hi\n"),
            "db:2:11: '#DISBATCH PERENGINE' after the first task, REPEAT or BARRIER: disBatch allows per-engine "
            "commands only before them (it stops reading the file here); move the line up");
  EXPECT_EQ(error_of("#DISBATCH PERENGINE BEGIN x\na\n"),
            "db:1:20: '#DISBATCH PERENGINE' needs START or STOP, a blank, then the command (disBatch ignores "
            "this line)");
  EXPECT_EQ(error_of("#DISBATCH PERENGINE STOP  \na\n"), "db:1:21: the per-engine command is blank");
  EXPECT_EQ(error_of("# only\n#DISBATCH PREFIX x\n"), "db: no tasks");
  // An indented or lower-case `#disbatch` line is a comment to disBatch, and to mpiq.
  EXPECT_EQ(parse(" #DISBATCH REPEAT 9 x\n#disbatch barrier\na\n").size(), 1u);
}

TEST(Disbatch, PerengineLinesAreTheNodesStartAndStopCommands) {
  NodeCommands pernode;
  const TaskTable t = parse_disbatch_file(
      "#DISBATCH PREFIX cd /s; \n#DISBATCH PERENGINE START stage in\n#DISBATCH perengine start mark\n"
      "#DISBATCH PERENGINE STOP clean\na\n",
      "db", &pernode);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(pernode.start.line, 2u);
  EXPECT_EQ(pernode.start.command, "cd /s; stage in\ncd /s; mark");  // prefix + cmd, in file order
  EXPECT_EQ(pernode.stop.line, 4u);
  EXPECT_EQ(pernode.stop.command, "cd /s; clean");
}

TEST(Disbatch, AnMpiqFileWithADisbatchDirectiveIsRefusedWithTheHint) {
  try {
    parse_task_file("a\n#DISBATCH REPEAT 3 b\n", "t.txt");
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "t.txt:2:1: disBatch directive '#DISBATCH REPEAT': this is a disBatch file: run it with "
              "--format disbatch");
  }
  EXPECT_EQ(first_disbatch_directive("a\n# x\n#DISBATCH BARRIER\n"), 3u);
  EXPECT_EQ(first_disbatch_directive("a\n #DISBATCH BARRIER\n"), 0u);
}

// --- Scheduling: disBatch's BARRIER waits for the end of the tasks above, however they end. ---

TaskResult result(TaskIndex t, int code) {
  TaskResult r;
  r.task = t;
  r.exit_code = code;
  return r;
}
std::vector<TaskIndex> dispatched(Scheduler& s) {
  std::vector<Assignment> a;
  std::vector<StealRequest> steals;
  s.dispatch(a, steals);
  std::vector<TaskIndex> out;
  for (const auto& x : a) out.insert(out.end(), x.tasks.begin(), x.tasks.end());
  return out;
}
void finish(Scheduler& s, TaskIndex t, int code) {
  s.on_started(1, t, 1.0);
  s.on_finished(1, result(t, code));
}

TEST(Disbatch, AFailedTaskDoesNotStopAPlainBarrier) {
  TaskTable t = parse("false\ntrue\n#DISBATCH BARRIER\nafter\n");
  Scheduler s(t, {});
  s.add_worker(1, 4, 0);
  EXPECT_EQ(dispatched(s), (std::vector<TaskIndex>{0, 1}));
  finish(s, 0, 1);
  EXPECT_TRUE(dispatched(s).empty()) << "the barrier still waits for task 2";
  finish(s, 1, 0);
  EXPECT_EQ(t.state[2], TaskState::done);
  EXPECT_EQ(dispatched(s), (std::vector<TaskIndex>{3}));
  finish(s, 3, 0);
  EXPECT_TRUE(s.all_final());
  EXPECT_EQ(t.state[0], TaskState::failed);
}

TEST(Disbatch, AFailedTaskStopsEverythingAfterABarrierCheckAcrossLaterPlainBarriers) {
  TaskTable t = parse("a\nfalse\n#DISBATCH BARRIER CHECK\nb\n#DISBATCH BARRIER\nc\n");
  Scheduler s(t, {});
  s.add_worker(1, 4, 0);
  EXPECT_EQ(dispatched(s), (std::vector<TaskIndex>{0, 1}));
  finish(s, 1, 2);
  finish(s, 0, 0);
  EXPECT_TRUE(s.all_final());
  EXPECT_TRUE(dispatched(s).empty());
  for (TaskIndex r : {2u, 3u, 4u, 5u}) EXPECT_EQ(t.state[r], TaskState::skipped) << r;
}

TEST(Disbatch, ABarrierCheckLooksOnlyAtTheTasksSinceThePreviousBarrier) {
  TaskTable t = parse("false\n#DISBATCH BARRIER\nb\n#DISBATCH BARRIER CHECK\nc\n");
  Scheduler s(t, {});
  s.add_worker(1, 4, 0);
  finish(s, dispatched(s).at(0), 1);
  EXPECT_EQ(dispatched(s), (std::vector<TaskIndex>{2}));
  finish(s, 2, 0);
  EXPECT_EQ(dispatched(s), (std::vector<TaskIndex>{4}));
}

TEST(Disbatch, AResumedRunCountsAnEarlierFailureOnceForItsBarrier) {
  // The checkpoint holds task 1 failed and task 2 running: the barrier waits for task 2 alone.
  TaskTable t = parse("false\nsleep 1\n#DISBATCH BARRIER\nafter\n");
  t.state[0] = TaskState::failed;
  t.state[1] = TaskState::running;
  t.attempts[1] = 1;
  Scheduler s(t, {});
  s.add_worker(1, 4, 0);
  EXPECT_EQ(dispatched(s), (std::vector<TaskIndex>{1}));
  finish(s, 1, 0);
  EXPECT_EQ(dispatched(s), (std::vector<TaskIndex>{3}));
}

}  // namespace
}  // namespace mpiq::core
