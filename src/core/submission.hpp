#pragma once
/// Task files submitted to a run (`mpiq submit`, docs/design.md §4).
///
/// A submitted file is written in the same language (core/task_file.hpp), and its lines keep their
/// meaning inside the file: numeric, range and relative dependencies refer to lines of the same file, and
/// a name refers to a task of the same file or, failing that, to a named task already in the run. Names
/// stay unique across the whole run. Ids must ascend past every id of the run (TaskTable::id is sorted),
/// so a file's tasks cannot keep their line numbers; instead each submission gets a base, and the task
/// on line L has id `base + L`: the base is the run's last id rounded up to a multiple of
/// kSubmissionIdStep, so that the line shows in the id (`2042` is line 42 of the submission whose base
/// is 2000). A cycle can only run through the file's own tasks: the run's tasks never wait for tasks
/// added after them.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/task_table.hpp"

namespace mpiq::core {

/// Bases of submissions are multiples of this.
inline constexpr TaskId kSubmissionIdStep = 1000;

/// The smallest multiple of kSubmissionIdStep that is at least `last_id`: the base of a file submitted
/// to a run whose largest id is `last_id` (its first line gets base + 1 > last_id). 64 bits: near the
/// end of the id space it may not fit a TaskId, which parse_submission reports.
uint64_t submission_base(TaskId last_id);

/// A task of the run, found by name.
struct RunTask {
  TaskIndex row = 0;
  TaskId id = 0;
};

/// What parse_submission needs to know of the run a file joins.
struct RunContext {
  TaskIndex rows = 0;  ///< rows in the run's table: the file's tasks get the rows from here on
  TaskId last_id = 0;  ///< the largest id in the run (0 for an empty run)
  /// The run's task called `name`, if any. Left empty when the run's names are not known (checking a
  /// file on its own): a name the file does not define is then accepted and listed in
  /// Submission::outside_names, and a name the run already has is not detected.
  std::function<std::optional<RunTask>(std::string_view name)> find_name;
};

/// A submitted file, ready to be appended to the run's table.
struct Submission {
  TaskId base = 0;  ///< the task (or barrier) on line L has id base + L
  /// The file's rows, in line order, with ids base + L and the runtime columns initialised.
  /// Dependencies are rows of the run's table once these rows follow its last one: below
  /// RunContext::rows for the run's tasks, from it on for the file's. Sorted and unique per row.
  TaskTable tasks;
  /// Names the file depends on but does not define, when RunContext::find_name is empty; sorted.
  std::vector<std::string> outside_names;
};

/// Parses `text`, a task file submitted to the run `run`; `path` is only used in error messages
/// (positions are lines of the file). Throws mpiq::InputError `FILE:LINE:COL: what` as parse_task_file
/// does, and also for a name the run already has, a name that neither the file nor the run defines
/// (when the run's names are known), and a file whose ids would pass UINT32_MAX.
Submission parse_submission(std::string_view text, const std::string& path, const RunContext& run);

/// The context of `run` as it is now: its size, last id and a name index (core::NameIndex) over it. The
/// context refers to `run`, which must outlive it and not change while it is used.
RunContext run_context(const TaskTable& run);

}  // namespace mpiq::core
