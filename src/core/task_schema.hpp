#pragma once
/// The vocabulary of the task table's schema: one descriptor type per way a column is stored.
///
/// The schema itself, `kTaskColumns` in core/task_table.hpp, lists every column of TaskTable once, in
/// the order the journal's records hold them. Everything that handles a whole row (TaskTable's append,
/// reserve, spec and padding, the checkpoint writer and reader, the table check, the journal) visits
/// that list with for_each_column() instead of naming columns, so a new column is one line there (and
/// its member in TaskTable and field in TaskSpec or TaskRuntime).
///
/// A descriptor holds member pointers: `rows`, the column in TaskTable, and `field`, the row's value in
/// TaskSpec (what the task file says; appended, and journalled with the tasks) or in TaskRuntime (what
/// happened to it; journalled as an update). The visits are folds over a constexpr tuple, so each one
/// compiles to the same code as the hand-written column list it replaces: no virtual call, no
/// allocation per row.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/result_column.hpp"
#include "core/string_column.hpp"

namespace mpiq::core {

struct TaskTable;
struct TaskSpec;
struct TaskRuntime;
using TaskIndex = uint32_t;

/// Which checkpoint format versions hold a column: from `checkpoint_since` on; 0 = never checkpointed.
/// The writer writes every checkpointed column (store/checkpoint.hpp); a file of an older version lacks
/// the newer ones, which the reader gives their default.
struct ColumnVersions {
  uint32_t checkpoint_since = 1;
  /// The journal format version whose records first carry the column. A record of an older journal
  /// lacks it, and replay gives the row the column's default.
  uint32_t journal_since = 1;
  /// Journal records of kinds 3 and 4 only (function tasks, docs/design.md §10): a record whose rows all hold
  /// the default value leaves the column out. Only string columns may be optional.
  bool journal_optional = false;
};

/// A column of fixed-size values (`std::vector<T>`): numbers, flags, the state enum.
template <class Row, class T>
struct ValueColumn {
  using Value = T;
  std::string_view name;  ///< the HDF5 dataset's name under /tasks
  std::vector<T> TaskTable::*rows;
  T Row::*field;
  ColumnVersions versions{};
  /// When not null, a value for which it is false makes the table invalid ("unknown <name> V").
  bool (*known)(T) = nullptr;
};

/// A column of strings kept as one blob plus offsets (StringColumn).
template <class Row>
struct TextColumn {
  std::string_view name;  ///< the HDF5 group's name under /tasks (with `bytes` and `offsets`)
  StringColumn TaskTable::*rows;
  std::string_view Row::*field;
  ColumnVersions versions{};
};

/// The function task's kind: an index into a table-wide list of names in memory, the name itself in the
/// checkpoint and the journal.
template <class Row>
struct KindColumn {
  std::string_view name;
  std::vector<uint16_t> TaskTable::*rows;
  std::vector<std::string> TaskTable::*names;
  std::string_view Row::*field;
  ColumnVersions versions{};
};

/// A function task's result bytes or failure message (ResultColumn); a string in the checkpoint.
template <class Row>
struct ResultTextColumn {
  std::string_view name;
  ResultColumn TaskTable::*rows;
  std::string Row::*field;
  ColumnVersions versions{};
};

/// The dependencies, as CSR over row indices: `offsets` has one entry more than the table has rows.
/// Stored in the checkpoint as /graph/offsets and /graph/edges.
template <class Row>
struct DependencyColumn {
  std::string_view name;
  std::vector<uint64_t> TaskTable::*offsets;
  std::vector<TaskIndex> TaskTable::*edges;
  std::span<const TaskIndex> Row::*field;
  ColumnVersions versions{};
};

namespace detail {
template <class D>
struct ColumnRow;
template <template <class...> class D, class Row, class... Rest>
struct ColumnRow<D<Row, Rest...>> {
  using type = Row;
};
}  // namespace detail

/// The row struct a descriptor's field belongs to: TaskSpec or TaskRuntime.
template <class D>
using ColumnRowType = typename detail::ColumnRow<std::remove_cvref_t<D>>::type;

/// True for a column of what the task file says (a TaskSpec field); false for a runtime column.
template <class D>
inline constexpr bool kIsSpecColumn = std::is_same_v<ColumnRowType<D>, TaskSpec>;

/// True for descriptors of type Template<Row, ...>.
template <class D, template <class...> class Template>
inline constexpr bool kIsColumnOf = false;
template <template <class...> class Template, class... Args>
inline constexpr bool kIsColumnOf<Template<Args...>, Template> = true;
template <class D, template <class...> class Template>
inline constexpr bool kIsColumn = kIsColumnOf<std::remove_cvref_t<D>, Template>;

/// Calls `f(descriptor)` for every descriptor of `columns` (a tuple), in order.
template <class Columns, class F>
constexpr void for_each_in(const Columns& columns, F&& f) {
  std::apply([&f](const auto&... column) { (f(column), ...); }, columns);
}

}  // namespace mpiq::core
