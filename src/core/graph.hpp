#pragma once
/// Pure algorithms over the dependency graph of a TaskTable: the reverse edges, a topological order,
/// critical paths, cycles and the summary `mpiq check` prints. All iterative and O(V+E), so a million-deep
/// chain costs no stack.

#include <cstdint>
#include <vector>

#include "core/task_table.hpp"

namespace mpiq::core {

/// A graph in compressed sparse row form: the neighbours of row i are
/// edges[offsets[i] .. offsets[i+1]).
struct Csr {
  std::vector<uint64_t> offsets;  ///< size() + 1 entries, the first 0
  std::vector<TaskIndex> edges;   ///< row indices
};

/// The reverse of `table.deps`: for each row, the rows that wait for it, in ascending order.
Csr dependants(const TaskTable& table);

/// The rows in an order where every row comes after all the rows it waits for (rows without
/// dependencies first, in row order). Rows on a cycle, or waiting on one, are left out, so a result
/// shorter than `table.size()` means the graph has a cycle.
std::vector<TaskIndex> topological_order(const TaskTable& table, const Csr& dependants);

/// For each row, the number of command tasks on the longest chain of dependants that starts at it, itself
/// included; barrier rows count 0. This is the scheduler's critical-path priority. Rows on or after a
/// cycle get 0 (a table from the parser has none).
std::vector<uint32_t> critical_path(const TaskTable& table, const Csr& dependants);

/// The shape of the graph. Barrier rows are transparent: they are not tasks, do not add a level (a task
/// after a barrier is one level deeper than the deepest task before it) and are counted in `barriers`.
/// `edges` counts every stored dependency edge: task->task, and through barriers task->barrier,
/// barrier->task and barrier->barrier. `depth` is the number of tasks on the longest chain and
/// `widest_level` the most tasks at one depth (depth 1 = tasks that wait for no task).
GraphSummary summarize(const TaskTable& table);

/// One dependency cycle of the graph, empty when there is none: rows r0 -> r1 -> ... -> rk (each waits for
/// the next, and rk waits for r0), starting from the smallest row on that cycle. When there are several,
/// the one found from the smallest row that is left out of topological_order().
std::vector<TaskIndex> find_cycle(const TaskTable& table);

}  // namespace mpiq::core
