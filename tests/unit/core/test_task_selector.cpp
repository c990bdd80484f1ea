// The words users name tasks with (mpiq cat, status --tasks, cancel): ids, ranges, names.

#include <gtest/gtest.h>

#include "core/task_file.hpp"
#include "core/task_selector.hpp"
#include "mpiq/error.hpp"

using namespace mpiq::core;

namespace {
TaskTable table() {
  return parse_task_file("[% name=prep %] a\n# comment\nb\n#MPIQ barrier\nc\nd\n", "t.tasks");
}
}  // namespace

TEST(TaskSelector, IdRangeAndNameNameTheirRows) {
  const TaskTable t = table();
  EXPECT_EQ(resolve_task_word(t, "3"), std::vector<TaskIndex>{*t.find(3)});
  EXPECT_EQ(resolve_task_word(t, "prep"), std::vector<TaskIndex>{*t.find(1)});
  // A range passes over comment lines and barrier rows.
  EXPECT_EQ(resolve_task_word(t, "1-5"), (std::vector<TaskIndex>{*t.find(1), *t.find(3), *t.find(5)}));
}

TEST(TaskSelector, UnknownWordsNameNothingAndAreAnInputError) {
  const TaskTable t = table();
  EXPECT_TRUE(resolve_task_word(t, "2").empty());  // a comment line
  EXPECT_TRUE(resolve_task_word(t, "4").empty());  // the barrier
  EXPECT_TRUE(resolve_task_word(t, "9-3").empty());
  EXPECT_TRUE(resolve_task_word(t, "prpe").empty());
  EXPECT_TRUE(resolve_task_word(t, "3x").empty());
  try {
    resolve_task_words(t, {"3", "prpe"}, "run");
    FAIL() << "accepted an unknown name";
  } catch (const mpiq::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no task 'prpe'"), std::string::npos) << e.what();
  }
}

TEST(TaskSelector, WordsTogetherGiveSortedUniqueRows) {
  const TaskTable t = table();
  EXPECT_EQ(resolve_task_words(t, {"6", "prep", "1-3", "6"}, "run"),
            (std::vector<TaskIndex>{*t.find(1), *t.find(3), *t.find(6)}));
}
