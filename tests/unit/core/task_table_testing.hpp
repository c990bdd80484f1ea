#pragma once
// Test helpers driven by the task table's schema (core::kTaskColumns): a table whose every column holds
// values that differ from the column's default and from row to row, and a comparison of two tables
// column by column. A column added to the schema is covered by every test that uses them.

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <type_traits>
#include <vector>

#include "core/task_table.hpp"

namespace mpiq::core::testing {

/// A value of value column `c` for row `row`: not the column's default, one of its known values, and
/// ascending with the row (so that it also fits the ids).
template <class D>
typename D::Value distinct_value(const D& c, size_t row) {
  using T = typename D::Value;
  static const ColumnRowType<D> defaults{};
  const T none = defaults.*c.field;
  if constexpr (std::is_enum_v<T>) {
    using U = std::underlying_type_t<T>;
    // Cycle through the known values other than the default.
    for (size_t step = 0, seen = 0; step < 256; ++step) {
      const auto v = static_cast<T>(static_cast<U>(step));
      if (v == none || (c.known && !c.known(v))) continue;
      if (seen++ == row % 6) return v;
    }
    return static_cast<T>(static_cast<U>(static_cast<U>(none) + 1));
  } else {
    for (T v = static_cast<T>(none + 1 + row);; v = static_cast<T>(v + 1))
      if (v != none && (!c.known || c.known(v))) return v;
    for (T v = static_cast<T>(none + 1);; v = static_cast<T>(v + 1))
      if (v != none && (!c.known || c.known(v))) return v;
  }
}

/// A table of `rows` rows where every column of the schema holds something distinctive in every row
/// (but row 0's dependencies, which can only be none), made through append() and set_runtime().
/// `functions` false keeps the columns newer than checkpoint format 1 (kind, payload, result, crashes,
/// the sweep element) at their defaults.
inline TaskTable distinctive_table(size_t rows, bool functions = true) {
  TaskTable table;
  std::deque<std::string> strings;  // the views in a TaskSpec must outlive append()
  for (size_t row = 0; row < rows; ++row) {
    TaskSpec spec;
    TaskRuntime runtime;
    std::vector<TaskIndex> deps;
    for_each_column([&](const auto& c) {
      using D = std::remove_cvref_t<decltype(c)>;
      // Without functions, only the columns of checkpoint format 1 (not kind, payload, result, crashes,
      // element).
      if (!functions && (c.versions.journal_optional || c.versions.checkpoint_since > 1)) return;
      if constexpr (kIsColumn<D, ValueColumn>) {
        if constexpr (kIsSpecColumn<D>)
          spec.*c.field = distinct_value(c, row);
        else
          runtime.*c.field = distinct_value(c, row);
      } else if constexpr (kIsColumn<D, TextColumn>) {
        strings.push_back(std::string(c.name) + "-" + std::to_string(row) + (row % 2 ? " grüße ✓" : ""));
        spec.*c.field = strings.back();
      } else if constexpr (kIsColumn<D, KindColumn>) {
        strings.push_back(std::string(c.name) + "-" + std::to_string(row % 2));
        spec.*c.field = strings.back();
      } else if constexpr (kIsColumn<D, ResultTextColumn>) {
        runtime.*c.field = std::string(c.name) + std::string("\0-", 2) + std::to_string(row);
      } else {
        static_assert(kIsColumn<D, DependencyColumn>);
        for (size_t d = row > 2 ? row - 2 : 0; d < row; ++d) deps.push_back(static_cast<TaskIndex>(d));
        spec.*c.field = deps;
      }
    });
    const TaskIndex index = table.append(spec);
    table.init_runtime_columns();
    table.set_runtime(index, runtime);
  }
  return table;
}

/// Expects row i of `a` and `b` to hold the same value in every column of the schema, for every row.
inline void expect_same_columns(const TaskTable& a, const TaskTable& b) {
  ASSERT_EQ(a.size(), b.size());
  for (TaskIndex i = 0; i < a.size(); ++i) {
    const TaskSpec sa = a.spec(i), sb = b.spec(i);
    const TaskRuntime ra = a.runtime(i), rb = b.runtime(i);
    for_each_column([&](const auto& c) {
      using D = std::remove_cvref_t<decltype(c)>;
      if constexpr (kIsColumn<D, DependencyColumn>) {
        const std::vector<TaskIndex> da((sa.*c.field).begin(), (sa.*c.field).end());
        const std::vector<TaskIndex> db((sb.*c.field).begin(), (sb.*c.field).end());
        EXPECT_EQ(da, db) << "column " << c.name << ", row " << i;
      } else if constexpr (kIsSpecColumn<D>) {
        EXPECT_EQ(sa.*c.field, sb.*c.field) << "column " << c.name << ", row " << i;
      } else {
        EXPECT_EQ(ra.*c.field, rb.*c.field) << "column " << c.name << ", row " << i;
      }
    });
  }
}

/// The names of the schema's columns, in order.
inline std::vector<std::string> column_names() {
  std::vector<std::string> names;
  for_each_column([&](const auto& c) { names.emplace_back(c.name); });
  return names;
}

}  // namespace mpiq::core::testing
