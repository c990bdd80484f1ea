// Task files submitted to a run (parse_submission): ids, dependencies on the run's tasks, names unique
// across the run, errors at the file's own lines.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/submission.hpp"
#include "core/task_file.hpp"
#include "mpiq/error.hpp"

namespace mpiq::core {
namespace {

// The run the files join: tasks 1-3, task 1 named prep, task 3 named train, then a submission that
// left the last id at 1004.
TaskTable run_table() {
  TaskTable t = parse_task_file("[% name=prep %] a\nb\n[% name=train %] c\n", "run.tasks");
  Submission s = parse_submission("d\n\ne\n[% name=late %] f\n", "first.tasks", run_context(t));
  for (TaskIndex r = 0; r < s.tasks.size(); ++r) t.append(s.tasks.spec(r));
  t.init_runtime_columns();
  return t;
}

std::vector<TaskId> ids(const TaskTable& t) {
  return {t.id.begin(), t.id.end()};
}

// The rows that row `r` of `s` waits for.
std::vector<TaskIndex> deps(const Submission& s, TaskIndex r) {
  return {s.tasks.deps.begin() + static_cast<ptrdiff_t>(s.tasks.dep_offsets[r]),
          s.tasks.deps.begin() + static_cast<ptrdiff_t>(s.tasks.dep_offsets[r + 1])};
}

void expect_error(std::string_view text, const TaskTable& run, const std::string& what) {
  try {
    parse_submission(text, "more.tasks", run_context(run));
    ADD_FAILURE() << "parsed without error: " << text;
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), what);
  }
}

TEST(TaskFileSubmission, BaseIsTheLastIdRoundedUpToAThousand) {
  EXPECT_EQ(submission_base(0), 0u);
  EXPECT_EQ(submission_base(3), 1000u);
  EXPECT_EQ(submission_base(1000), 1000u);
  EXPECT_EQ(submission_base(1001), 2000u);
}

TEST(TaskFileSubmission, IdsAreBasePlusLineAndRowsFollowTheRun) {
  const TaskTable run = run_table();
  EXPECT_EQ(ids(run), (std::vector<TaskId>{1, 2, 3, 1001, 1003, 1004}));
  const Submission s = parse_submission("# comment\nx\n[# -1 #] y\n", "more.tasks", run_context(run));
  EXPECT_EQ(s.base, 2000u);
  EXPECT_EQ(ids(s.tasks), (std::vector<TaskId>{2002, 2003}));
  // Line 3 waits for line 2: the file's first row, which becomes the run's row 6.
  EXPECT_EQ(deps(s, 1), (std::vector<TaskIndex>{6}));
  EXPECT_EQ(s.tasks.state.size(), 2u);
  EXPECT_EQ(s.tasks.state[0], TaskState::waiting);
}

TEST(TaskFileSubmission, NumericDependenciesAreLinesOfTheSameFile) {
  const TaskTable run = run_table();
  const Submission s = parse_submission("[# 3 #] a\n[# 1-3 #] b\nc\n", "more.tasks", run_context(run));
  EXPECT_EQ(deps(s, 0), (std::vector<TaskIndex>{8}));
  EXPECT_EQ(deps(s, 1), (std::vector<TaskIndex>{6, 8}));
}

TEST(TaskFileSubmission, NamesReferToTheFileFirstThenToTheRun) {
  const TaskTable run = run_table();
  const Submission s = parse_submission("[# train, late #] a\n[# mine, prep #] b\n[% name=mine %] c\n",
                                        "more.tasks", run_context(run));
  EXPECT_EQ(deps(s, 0), (std::vector<TaskIndex>{2, 5}));  // train is row 2, late row 5
  EXPECT_EQ(deps(s, 1), (std::vector<TaskIndex>{0, 8}));  // prep is row 0; mine is the file's row 2
  EXPECT_TRUE(s.outside_names.empty());
}

TEST(TaskFileSubmission, BarriersStayInsideTheFile) {
  const TaskTable run = run_table();
  const Submission s = parse_submission("a\n#MPIQ barrier\nb\n", "more.tasks", run_context(run));
  EXPECT_EQ(ids(s.tasks), (std::vector<TaskId>{2001, 2002, 2003}));
  EXPECT_TRUE(s.tasks.is_barrier(1));
  EXPECT_EQ(deps(s, 1), (std::vector<TaskIndex>{6}));
  EXPECT_EQ(deps(s, 2), (std::vector<TaskIndex>{7}));
}

TEST(TaskFileSubmission, ANameTheRunHasIsADuplicate) {
  const TaskTable run = run_table();
  expect_error("x\n[% name=train %] y\n", run,
               "more.tasks:2:9: duplicate name 'train': the run already has it (task 3)");
  expect_error("[% name=late %] y\n", run,
               "more.tasks:1:9: duplicate name 'late': the run already has it (task 1004)");
  expect_error("[% name=a %] x\n[% name=a %] y\n", run,
               "more.tasks:2:9: duplicate name 'a' (first used on line 1)");
}

TEST(TaskFileSubmission, UnknownNamesAndBadLinesAreErrorsAtTheFilesLines) {
  const TaskTable run = run_table();
  expect_error(
      "x\n[# prpe #] y\n", run,
      "more.tasks:2:4: unknown dependency 'prpe' (no task of this file or of the run has that name)");
  expect_error("[# 4 #] x\n", run, "more.tasks:1:4: dependency '4' points past the last line (1)");
  expect_error("[# -1 #] x\n", run, "more.tasks:1:4: dependency '-1' points before line 1");
  expect_error("[% cores=0 %] x\n", run,
               "more.tasks:1:10: cores=0 is out of range: expected 1 to 4294967295");
  expect_error("# nothing\n", run, "more.tasks: no tasks");
}

TEST(TaskFileSubmission, CyclesAreFoundAmongTheFilesTasks) {
  const TaskTable run = run_table();
  expect_error("[# prep, 2 #] a\n[# 1 #] b\n", run, "more.tasks:1:1: dependency cycle: 1 -> 2 -> 1");
}

TEST(TaskFileSubmission, WithoutTheRunsNamesOutsideNamesAreListed) {
  RunContext unknown;
  unknown.rows = 10;
  unknown.last_id = 10;
  const Submission s = parse_submission("[# prep, later, prep #] a\n[# zeta #] b\n[% name=later %] c\n",
                                        "more.tasks", unknown);
  EXPECT_EQ(s.outside_names, (std::vector<std::string>{"prep", "zeta"}));
  EXPECT_EQ(deps(s, 0), (std::vector<TaskIndex>{12}));
}

TEST(TaskFileSubmission, IdsThatWouldPassTheLimitAreAnError) {
  RunContext full;
  full.rows = 1;
  full.last_id = 4294967001u;  // the base would be 4294968000
  try {
    parse_submission("a\n", "more.tasks", full);
    ADD_FAILURE() << "parsed without error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no task ids left"), std::string::npos) << e.what();
  }
}

TEST(TaskFileSubmission, PernodeCommandsAreRefused) {
  const TaskTable run = run_table();
  expect_error("a\n#MPIQ pernode start echo up\n", run,
               "more.tasks:2:7: '#MPIQ pernode' belongs in the run's own task file, not in a submitted one");
}


}  // namespace
}  // namespace mpiq::core
