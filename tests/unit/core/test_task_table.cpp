// The task table's schema: every column it lists survives append and spec, set_runtime and runtime,
// padding and reserve, and the table check knows every one. Driven by core::kTaskColumns, so a column
// added there is tested here without a new test.
#include <gtest/gtest.h>

#include <set>

#include "core/task_table.hpp"
#include "task_table_testing.hpp"

namespace mpiq::core {
namespace {

using testing::column_names;
using testing::distinctive_table;
using testing::expect_same_columns;

TEST(TaskSchema, NamesEveryColumnOnce) {
  const std::vector<std::string> names = column_names();
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  EXPECT_EQ(names.front(), "id") << "the first column is the key the others' lengths are checked against";
}

TEST(TaskTable, EverySpecColumnSurvivesAppendAndSpec) {
  const TaskTable table = distinctive_table(5);
  static const TaskSpec defaults{};
  for (TaskIndex row = 1; row < table.size(); ++row) {  // row 0 has no dependencies: their default
    const TaskSpec s = table.spec(row);
    for_each_column([&](const auto& c) {
      using D = std::remove_cvref_t<decltype(c)>;
      if constexpr (kIsColumn<D, DependencyColumn>) {
        EXPECT_FALSE((s.*c.field).empty()) << c.name;
        for (TaskIndex d : s.*c.field) EXPECT_LT(d, row) << c.name;
      } else if constexpr (kIsSpecColumn<D>) {
        EXPECT_NE(s.*c.field, defaults.*c.field) << "column " << c.name << " lost its value in row " << row;
      }
    });
  }
  // And the same values again when the rows are appended from the specs to a second table.
  TaskTable copy;
  for (TaskIndex row = 0; row < table.size(); ++row) copy.append(table.spec(row));
  copy.init_runtime_columns();
  for (TaskIndex row = 0; row < table.size(); ++row) copy.set_runtime(row, table.runtime(row));
  expect_same_columns(table, copy);
  EXPECT_EQ(find_table_problem(copy), "");
}

TEST(TaskTable, EveryRuntimeColumnSurvivesSetRuntimeAndRuntime) {
  const TaskTable table = distinctive_table(4);
  static const TaskRuntime defaults{};
  for (TaskIndex row = 0; row < table.size(); ++row) {
    const TaskRuntime r = table.runtime(row);
    for_each_column([&](const auto& c) {
      if constexpr (!kIsSpecColumn<decltype(c)>) {
        EXPECT_NE(r.*c.field, defaults.*c.field) << "column " << c.name << " lost its value in row " << row;
      }
    });
  }
}

TEST(TaskTable, InitGivesEveryColumnItsDefaultInRowsAddedByHand) {
  TaskTable table;
  table.id = {3, 5, 8};  // rows added by hand, or by an older writer that knew only the ids
  table.init_runtime_columns();
  EXPECT_EQ(find_table_problem(table), "");
  static const TaskSpec spec_defaults{};
  for (TaskIndex row = 0; row < table.size(); ++row) {
    EXPECT_EQ(table.runtime(row), TaskRuntime{});
    const TaskSpec s = table.spec(row);
    for_each_column([&](const auto& c) {
      using D = std::remove_cvref_t<decltype(c)>;
      if constexpr (kIsColumn<D, DependencyColumn>) {
        EXPECT_TRUE((s.*c.field).empty());
      } else if constexpr (kIsSpecColumn<D>) {
        if (c.name != "id") {
          EXPECT_EQ(s.*c.field, spec_defaults.*c.field) << "column " << c.name;
        }
      }
    });
  }
}

TEST(TaskTable, AppendPadsColumnsThatRowsAddedByHandLack) {
  TaskTable table;
  table.id.push_back(1);
  table.dep_offsets.push_back(0);
  TaskSpec s;
  s.id = 2;
  s.command = "true";
  EXPECT_EQ(table.append(s), 1u);
  table.init_runtime_columns();
  EXPECT_EQ(find_table_problem(table), "");
  EXPECT_EQ(table.command[0], "");
  EXPECT_EQ(table.command[1], "true");
  EXPECT_EQ(table.cores[0], 1u);
}

TEST(TaskTable, ReserveMakesRoomInEveryColumn) {
  TaskTable table;
  table.reserve(1000, 300);
  for_each_column([&](const auto& c) {
    using D = std::remove_cvref_t<decltype(c)>;
    if constexpr (kIsColumn<D, DependencyColumn>) {
      EXPECT_GE((table.*c.offsets).capacity(), 1001u);
      EXPECT_GE((table.*c.edges).capacity(), 300u);
    } else if constexpr (kIsColumn<D, ValueColumn> || kIsColumn<D, KindColumn>) {
      EXPECT_GE((table.*c.rows).capacity(), 1000u) << "column " << c.name;
    }
  });
}

TEST(TaskTable, FindTableProblemNamesEveryColumnThatLacksARow) {
  const TaskTable one = distinctive_table(1);
  for_each_column([&](const auto& c) {
    using D = std::remove_cvref_t<decltype(c)>;
    TaskTable table = distinctive_table(2);
    ASSERT_EQ(find_table_problem(table), "");
    if constexpr (kIsColumn<D, DependencyColumn>) {
      table.*c.offsets = one.*c.offsets;
      table.*c.edges = one.*c.edges;
      EXPECT_NE(find_table_problem(table).find("dependency offsets"), std::string::npos);
    } else if (c.name != "id") {  // the ids give the table its size
      table.*c.rows = one.*c.rows;
      const std::string problem = find_table_problem(table);
      // Appended, not `"'" + name + ...`: g++ 12 sees a -Wrestrict overlap in that operator+ chain (a
      // false positive, gcc PR 105651).
      std::string expected = "'";
      expected.append(c.name).append("' has 1 rows");
      EXPECT_NE(problem.find(expected), std::string::npos) << "column " << c.name << ": " << problem;
    }
  });
}

TEST(TaskTable, FindTableProblemRefusesUnknownValues) {
  TaskTable table = distinctive_table(3);
  table.state[1] = static_cast<TaskState>(kTaskStateCount);
  EXPECT_EQ(find_table_problem(table), "row 1 has the unknown state " + std::to_string(kTaskStateCount));
  table = distinctive_table(3);
  table.flags[2] = 0x80;
  EXPECT_EQ(find_table_problem(table), "row 2 has the unknown flags 128");
  table = distinctive_table(3);
  table.kind[0] = 99;
  EXPECT_EQ(find_table_problem(table), "row 0 has the unknown kind 99");
  table = distinctive_table(3);
  table.id[2] = table.id[1];
  table.element[2] = table.element[1];
  EXPECT_NE(find_table_problem(table).find("task ids are not ascending at row 2"), std::string::npos);
}

}  // namespace
}  // namespace mpiq::core
