#pragma once
/// Resuming a run whose task file was edited (docs/design.md §7): the edited file's tasks are matched,
/// by content, to the checkpoint's, so that a task keeps its state when its command, settings and
/// dependencies are unchanged, wherever its line moved. Pure: two tables in, one table and a summary out.
///
/// A task's content key covers its command, directory, settings, name, sweep element and flags, and
/// the keys of the tasks it depends on (computed in dependency order), so a task downstream of a
/// changed one has a new key too: it runs again, as its inputs may have changed. Of several equal
/// tasks, the first unclaimed saved one is taken, in order.

#include <cstdint>
#include <string>
#include <vector>

#include "core/task_table.hpp"

namespace mpiq::core {

/// What an edit did, in the new file's line numbers (and the old one's for removals).
struct TaskEditSummary {
  uint64_t kept = 0;               ///< tasks that keep their saved state
  std::vector<TaskId> changed;     ///< new or changed lines (their tasks run)
  std::vector<TaskId> downstream;  ///< lines unchanged themselves, run again: downstream of a change
  std::vector<TaskId> removed;     ///< lines of the old file whose tasks are gone
  /// One line for a person: `task file edited: 1 changed or new (line 7), 2 run again as they depend on
  /// a change (lines 8, 9), 1 removed (old line 12); 40 kept`.
  std::string describe() const;
};

/// `edited` (the new file, parsed, runtime columns initial) with the runtime columns of the tasks of
/// `saved` (the checkpoint's table) that it matches. A matched task that ended (done or failed) under
/// another id keeps where its output is: `output_id` (the id it was written under) and `output_run`
/// (`run`, this run's number: that output is in earlier runs). Rows of a sweep count as one line in
/// the summary. When `new_row_of_saved` is not null it gets, for each row of `saved`, the row of the
/// result that keeps its state, or kNotKept (its task was removed or changed, or runs again).
inline constexpr TaskIndex kNotKept = 0xFFFFFFFFu;
TaskTable apply_task_edit(const TaskTable& saved, TaskTable edited, uint32_t run, TaskEditSummary* summary,
                          std::vector<TaskIndex>* new_row_of_saved = nullptr);

}  // namespace mpiq::core
