#pragma once
/// A task as a user names it on the command line (`mpiq cat`, `mpiq status`, docs/design.md §8): its id
/// (the line number), its name, or one element of a sweep as `ID[i]` / `NAME[i]`.

#include <optional>
#include <string>
#include <string_view>

#include "core/task_table.hpp"

namespace mpiq::core {

/// The row `ref` names in `table`, or nullopt with `*why` saying what is wrong (no such task; a sweep
/// named without an element: which elements it has). A sweep's elements are named by their index,
/// `MPIQ_REPEAT_INDEX`, not by their position. Scans the names (O(n)) only for a name.
std::optional<TaskIndex> find_task_ref(const TaskTable& table, std::string_view ref, std::string* why);

}  // namespace mpiq::core
