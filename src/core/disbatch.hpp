#pragma once
/// disBatch's task files (`mpiq run --format disbatch`, docs/design.md §2), read with disBatch's meaning
/// (its `_task_generator`, disBatch c706216):
/// - Every line that is not a comment is one task, its command the line as written, between the current
///   PREFIX and SUFFIX with nothing added: `prefix + line + suffix`. A comment is a line whose first
///   non-blank character is `#`, or a blank line, except a line that starts with `#DISBATCH`.
///   mpiq's prefixes (`[# #]`, `[@ @]`, `[% %]`) and `#MPIQ` lines mean nothing here: a `[#` line is a
///   command and a `#MPIQ` line a comment, as disBatch reads them.
/// - `#DISBATCH PREFIX text` / `#DISBATCH SUFFIX text` (the text after one blank, to the end of the line,
///   blanks kept; empty clears it) apply to the lines below them, REPEAT included.
/// - `#DISBATCH REPEAT n [start s] [step k] [cmd]`: n tasks with `DISBATCH_REPEAT_INDEX` s, s+k, ...
///   (s defaults to 0, k to 1), each `prefix + cmd + suffix` (`prefix + suffix` without cmd). In mpiq
///   they are one line's sweep: ids `LINE[s]`, `LINE[s+k]`, ...
/// - `#DISBATCH BARRIER`: the tasks below wait for every task above to end, however it ended.
///   `#DISBATCH BARRIER CHECK`: the same, and when a task since the previous barrier failed, nothing
///   after it runs (disBatch stops; mpiq skips them).
/// - Task ids are mpiq's (the line, `LINE[i]` for a REPEAT); DISBATCH_TASKID is disBatch's: the 0-based
///   count of the tasks and barriers before it in the file, which is the row of the table.
/// What disBatch would ignore with an error in its log, or read by accident (`#DISBATCH barrier`,
/// `#DISBATCH PREFIX` with no blank after it, `#DISBATCHX`, a barrier's key-value-store key, a REPEAT
/// step of 0) is an mpiq::InputError here. `#DISBATCH PERENGINE START|STOP` is refused for now.

#include <string>
#include <string_view>

#include "core/task_file.hpp"
#include "core/task_table.hpp"

namespace mpiq::core {

/// Parses the disBatch file `text` (`path` only names it in errors) into a table as parse_task_file
/// returns one: every row flagged kDisbatch, barriers kBarrier (and kAfterAny unless CHECK), each row
/// waiting for the barrier before it, each barrier for the rows since the previous one. Throws
/// mpiq::InputError `FILE:LINE:COL: what` on bad input, "no tasks" included.
/// `pernode` will take the file's `#DISBATCH PERENGINE` commands (ignored when null; today they are an
/// error, and it is always left empty).
TaskTable parse_disbatch_file(std::string_view text, const std::string& path,
                              NodeCommands* pernode = nullptr);

/// The line number (1-based) of the first line of `text` that starts with `#DISBATCH ` (a disBatch
/// directive), 0 when there is none.
uint32_t first_disbatch_directive(std::string_view text);

}  // namespace mpiq::core
