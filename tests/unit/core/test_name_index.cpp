// The name index (core/name_index.hpp) and the run context that reuses it for submissions.

#include <gtest/gtest.h>

#include <string>

#include "core/name_index.hpp"
#include "core/submission.hpp"
#include "core/task_file.hpp"

namespace mpiq::core {
namespace {

TEST(NameIndex, FindsTheRowsOfInsertedNamesOnly) {
  StringColumn names;
  for (const char* n : {"prep", "", "train", "test"}) names.push_back(n);
  NameIndex index(names);
  EXPECT_EQ(index.find("prep"), NameIndex::kNotFound);  // nothing inserted yet
  index.insert(0);
  index.insert(2);
  EXPECT_EQ(index.find("prep"), 0u);
  EXPECT_EQ(index.find("train"), 2u);
  EXPECT_EQ(index.find("test"), NameIndex::kNotFound);
  EXPECT_EQ(index.find(""), NameIndex::kNotFound);
  EXPECT_EQ(index.size(), 2u);
}

// "t<r>", appended: g++ 12 warns falsely (-Wrestrict) on `"t" + std::to_string(r)` at -O3.
std::string name_of(TaskIndex r) {
  std::string s = "t";
  return s.append(std::to_string(r));
}

// Growing rehashes every slot: all names stay findable, across many probe sequences.
TEST(NameIndex, KeepsEveryNameAcrossGrowth) {
  constexpr TaskIndex kNames = 100000;
  StringColumn names;
  for (TaskIndex r = 0; r < kNames; ++r) names.push_back(name_of(r));
  NameIndex index(names);
  for (TaskIndex r = 0; r < kNames; ++r) index.insert(r);
  for (TaskIndex r = 0; r < kNames; ++r) ASSERT_EQ(index.find(name_of(r)), r);
  EXPECT_EQ(index.find(name_of(kNames)), NameIndex::kNotFound);
}

// Rows appended to the column after the index was made can be inserted later (hub::Inbox does so).
TEST(NameIndex, RowsAppendedLaterCanBeInserted) {
  StringColumn names;
  names.push_back("a");
  NameIndex index(names);
  index.insert(0);
  names.push_back("b");
  index.insert(1);
  EXPECT_EQ(index.find("a"), 0u);
  EXPECT_EQ(index.find("b"), 1u);
}

TEST(RunContext, FindsTheRunsNamedTasksWithTheirIds) {
  const TaskTable run = parse_task_file("[% name=prep %] a\n\nb\n[% name=train %] c\n", "run.tasks");
  const RunContext c = run_context(run);
  EXPECT_EQ(c.rows, 3u);
  EXPECT_EQ(c.last_id, 4u);
  const auto train = c.find_name("train");
  ASSERT_TRUE(train);
  EXPECT_EQ(train->row, 2u);
  EXPECT_EQ(train->id, 4u);
  EXPECT_FALSE(c.find_name("b"));
  EXPECT_FALSE(c.find_name(""));
}

}  // namespace
}  // namespace mpiq::core
