// Resuming with an edited task file (core/task_edit.hpp, docs/design.md §7): tasks matched by content.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/task_edit.hpp"
#include "core/task_file.hpp"

namespace mpiq::core {
namespace {

// `text` parsed, every task done in attempt 1 (a finished run's checkpoint).
TaskTable all_done(std::string_view text) {
  TaskTable t = parse_task_file(text, "old");
  for (TaskIndex r = 0; r < t.size(); ++r) {
    t.state[r] = TaskState::done;
    t.attempts[r] = t.is_barrier(r) ? 0 : 1;
    t.exit_code[r] = 0;
  }
  return t;
}

// The ids of the command tasks of `t` in `state`.
std::vector<std::string> in_state(const TaskTable& t, TaskState state) {
  std::vector<std::string> out;
  for (TaskIndex r = 0; r < t.size(); ++r)
    if (!t.is_barrier(r) && t.state[r] == state) out.push_back(t.label(r));
  return out;
}

using Labels = std::vector<std::string>;
using Ids = std::vector<TaskId>;

TEST(TaskEdit, AnInsertedCommentShiftsNothingAndOnlyTheChangedLineAndItsDependantsRun) {
  const TaskTable saved = all_done("a\n[% name=b %] b\n[# b #] c\nd\n[# 4 #] e\n");
  TaskEditSummary s;
  const TaskTable t = apply_task_edit(
      saved, parse_task_file("# new comment\na\n[% name=b %] b2\n[# b #] c\nd\n[# 5 #] e\n", "new"), 3, &s);
  EXPECT_EQ(in_state(t, TaskState::done), (Labels{"2", "5", "6"}));
  EXPECT_EQ(in_state(t, TaskState::waiting), (Labels{"3", "4"}));
  EXPECT_EQ(s.kept, 3u);
  EXPECT_EQ(s.changed, (Ids{3}));
  EXPECT_EQ(s.downstream, (Ids{4}));
  EXPECT_EQ(s.removed, (Ids{2}));
  EXPECT_EQ(s.describe(),
            "task file edited: 1 changed or new (line 3), 1 run again as they depend on a change (line 4), 1 "
            "removed (old line 2); 3 task(s) keep their state");
  // A kept task whose line moved keeps where its output is: under its old id, in earlier runs.
  const TaskIndex a = *t.find(2);
  EXPECT_EQ(t.output_id[a], 1u);
  EXPECT_EQ(t.output_run[a], 3u);
  EXPECT_EQ(t.attempts[a], 1u);
}

TEST(TaskEdit, SaysWhichRowEachKeptTaskMovedToAndNoneForTheOthers) {
  const TaskTable saved = all_done("a\n[% name=b %] b\n[# b #] c\nd\n");
  std::vector<TaskIndex> new_row;
  TaskEditSummary s;
  apply_task_edit(saved, parse_task_file("# new comment\na\n[% name=b %] b2\n[# b #] c\nd\n", "new"), 3, &s,
                  &new_row);
  // a and d moved one line down; b changed, and c runs again as it depends on b.
  EXPECT_EQ(new_row, (std::vector<TaskIndex>{0, kNotKept, kNotKept, 3}));
}

TEST(TaskEdit, NewTasksRunRemovedOnesAreDroppedAndEqualTasksAreClaimedInOrder) {
  const TaskTable saved = all_done("echo x\necho x\necho y\n");
  TaskEditSummary s;
  const TaskTable t = apply_task_edit(saved, parse_task_file("echo x\necho z\necho x\n", "new"), 1, &s);
  EXPECT_EQ(in_state(t, TaskState::done), (Labels{"1", "3"}));
  EXPECT_EQ(in_state(t, TaskState::waiting), (Labels{"2"}));
  EXPECT_EQ(s.changed, (Ids{2}));
  EXPECT_EQ(s.removed, (Ids{3}));
  EXPECT_EQ(t.output_id[*t.find(1)], 0u);  // same line: nothing moved
  EXPECT_EQ(t.output_id[*t.find(3)], 2u);
}

TEST(TaskEdit, SettingsAndDirectoriesArePartOfATask) {
  const TaskTable saved = all_done("[% cores=2 %] a\n[@ /x @] b\n[% timeout=1m %] c\n");
  TaskEditSummary s;
  const TaskTable t = apply_task_edit(
      saved, parse_task_file("[% cores=4 %] a\n[@ /y @] b\n[% timeout=1m %] c\n", "new"), 1, &s);
  EXPECT_EQ(in_state(t, TaskState::done), (Labels{"3"}));
  EXPECT_EQ(s.changed, (Ids{1, 2}));
}

TEST(TaskEdit, ASweepsElementsAreMatchedOneByOne) {
  const TaskTable saved = all_done("[% repeat=3 %] sim\n[# 1 #] collect\n");
  TaskEditSummary s;
  const TaskTable t =
      apply_task_edit(saved, parse_task_file("[% repeat=4 %] sim\n[# 1 #] collect\n", "new"), 1, &s);
  EXPECT_EQ(in_state(t, TaskState::done), (Labels{"1[0]", "1[1]", "1[2]"}));
  EXPECT_EQ(in_state(t, TaskState::waiting), (Labels{"1[3]", "2"}));  // collect waits for a new element
  EXPECT_EQ(s.changed, (Ids{1}));
  EXPECT_EQ(s.downstream, (Ids{2}));
}

TEST(TaskEdit, AFailedTaskKeepsItsFailureAndAnUnrunOneStaysToRun) {
  TaskTable saved = parse_task_file("a\nb\nc\n", "old");
  saved.state[0] = TaskState::failed;
  saved.attempts[0] = 1;
  saved.exit_code[0] = 3;
  const TaskTable t = apply_task_edit(saved, parse_task_file("\na\nb\nc\n", "new"), 1, nullptr);
  EXPECT_EQ(t.state[*t.find(2)], TaskState::failed);
  EXPECT_EQ(t.exit_code[*t.find(2)], 3);
  EXPECT_EQ(t.output_id[*t.find(2)], 1u);
  EXPECT_EQ(t.state[*t.find(3)], TaskState::waiting);
  EXPECT_EQ(t.output_id[*t.find(3)], 0u);  // never ran: no output to find
}

TEST(TaskEdit, OutputMovedByAnEarlierEditStaysWhereItWasWritten) {
  TaskTable saved = all_done("# one\na\n");
  saved.output_id[*saved.find(2)] = 1;
  saved.output_run[*saved.find(2)] = 4;
  const TaskTable t = apply_task_edit(saved, parse_task_file("# one\n# two\na\n", "new"), 9, nullptr);
  EXPECT_EQ(t.output_id[*t.find(3)], 1u);
  EXPECT_EQ(t.output_run[*t.find(3)], 4u);
}

}  // namespace
}  // namespace mpiq::core
