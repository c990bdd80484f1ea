#pragma once
/// The task file parser: turns the text of a task file (docs/design.md §2) into a TaskTable.
///
/// The language, a superset of GREASY's:
/// - One task per line; a task's id is the 1-based physical line number of its first line. Blank lines,
///   comment lines (first non-blank character `#`), `#MPIQ` directive lines and continuation lines keep
///   their numbers but are not tasks.
/// - A task line is optional prefixes, in any order and each at most once, then the command:
///   `[# 3, 5-7, -1, prep #]` dependencies (ids, inclusive ranges, relative ids, names; backward or
///   forward), `[@ /scratch/run1 @]` working directory, `[% name=prep cores=4 gpus=1 timeout=30m
///   retries=2 priority=10 %]` settings. Prefixes must close on the task's first line.
/// - A line ending in an odd number of `\` continues on the next line; the backslash-newline pair is
///   dropped, as sh does, and the task keeps the first line's id.
/// - `#MPIQ defaults key=value ...` sets defaults (every setting but `name`) for the lines below it, key by
///   key; `#MPIQ barrier` makes every later task wait for every earlier one (one table row, flagged
///   kBarrier, with no command, 0 cores and 0 GPUs, waiting for the tasks since the previous barrier and
///   for that barrier; every later task waits for it). `#MPIQ` must be followed by a blank: `#MPIQbarrier`
///   and `#mpiq barrier` are comments, as in GREASY; any other word after `#MPIQ ` is an error.
/// - A range covers the task lines inside it, except the task itself (as in GREASY); a reversed range
///   `7-5` means `5-7` (as in GREASY). A range is an error only when it covers no task line at all.
/// - A trailing `\r` (CRLF files) is dropped; a last line without a newline is a task.
///
/// Every bad input is an mpiq::InputError `FILE:LINE:COL: what` (columns count bytes from 1). A dependency
/// cycle is reported at the line of its task with the smallest id, as `dependency cycle: 3 (prep) -> 5 -> 3
/// (prep)`, where `a -> b` reads "a waits for b".

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/task_table.hpp"

namespace mpiq::core {

struct RunContext;  // core/submission.hpp

/// The most dependencies the ranges of one file may expand to (docs/design.md §11): far above any real
/// graph (a million tasks each waiting for 100), far below what would exhaust the hub's memory.
inline constexpr uint64_t kMaxDependencyEdges = 100'000'000;
/// The most tasks (rows: lines, sweep elements, barriers) one file may make: 20 million cost the hub
/// about 3 GB; more is one run's work for several files (`mpiq submit` while it goes).
inline constexpr uint64_t kMaxFileTasks = 20'000'000;

/// A `#MPIQ pernode start|stop CMD` line (docs/design.md §2): a shell command run once on every node
/// that has workers. Not a row: it has no state of its own in the table, and runs again on every run
/// (a resumed job may have other nodes). Not in the checkpoint: every run reads the task file.
struct NodeCommand {
  uint32_t line = 0;    ///< the directive's line; 0 = none. Its output is under this id (`mpiq cat`)
  std::string command;  ///< run with the task shell, in the run's working directory
  bool empty() const noexcept { return line == 0; }
};

/// The file's pernode commands: `start` before a node's first task, `stop` after its last.
struct NodeCommands {
  NodeCommand start, stop;
  bool any() const noexcept { return !start.empty() || !stop.empty(); }
};

/// Parses the task file `text`; `path` is only used in error messages. Returns one row per task and per
/// `#MPIQ barrier` line, ordered by id, `deps` holding sorted, unique row indices, and the runtime
/// columns initialised. Throws mpiq::InputError on any bad input, "no tasks" included; the table is
/// acyclic when it returns. (Reading a file is the caller's: store::load_task_file.)
/// The file's `#MPIQ pernode` lines go to `pernode` (ignored when it is null).
TaskTable parse_task_file(std::string_view text, const std::string& path, NodeCommands* pernode = nullptr);

namespace detail {

/// parse_task_file without the runtime columns (TaskTable::init_runtime_columns gives them): for a
/// caller that owns the text and frees it first (store::load_task_file), so that a large file's text
/// and those columns are never held at once.
TaskTable parse_spec_columns(std::string_view text, const std::string& path, NodeCommands* pernode);

/// A file parsed as a submission to a run: what parse_submission (core/submission.hpp) builds on.
struct ParsedSubmission {
  /// The file's rows as parse_task_file returns them (ids are lines), without the dependencies on the
  /// run's tasks.
  TaskTable own;
  uint64_t lines = 0;  ///< physical lines in the file
  /// (row of the file, row of the run) for each dependency on a task of the run, unsorted.
  std::vector<std::pair<TaskIndex, TaskIndex>> run_deps;
  /// Names defined neither in the file nor in the run, when the run's names are not known; unsorted.
  std::vector<std::string> outside_names;
};

/// Parses `text` as parse_task_file does, resolving the names the file does not define in `run`, and
/// refusing a name the run already has.
ParsedSubmission parse_for_run(std::string_view text, const std::string& path, const RunContext& run);

}  // namespace detail
}  // namespace mpiq::core
