#pragma once
/// The words a user names tasks with on the command line (`mpiq cat`, `mpiq status --tasks`,
/// `mpiq cancel`) and in a cancel request the hub reads from its inbox: an id (the line number), an
/// inclusive range of ids `A-B`, a task name, or a sweep's element `ID[i]` / `NAME[i]` (a sweep's id or
/// name alone: all its elements). One resolver for every command. Pure: no I/O.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/task_table.hpp"

namespace mpiq::core {

/// The rows `word` names in `table` (barrier rows never), in row order; an empty vector when it names
/// none. A range's ids that are not tasks (comments, blank lines) are passed over.
std::vector<TaskIndex> resolve_task_word(const TaskTable& table, std::string_view word);

/// The rows every word names, in row order, without duplicates. Throws mpiq::InputError
/// `WHERE: no task 'w'` for the first word that names no task of `table`.
std::vector<TaskIndex> resolve_task_words(const TaskTable& table, const std::vector<std::string>& words,
                                          const std::string& where);

}  // namespace mpiq::core
