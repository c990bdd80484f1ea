#pragma once
/// A row of the task table as the embedding API's Result.

#include "core/task_table.hpp"
#include "mpiq/task.hpp"

namespace mpiq::embed {

/// The Result of row `t`, which has ended; `from_checkpoint` when it ended in an earlier run. The
/// error text is core::describe_end's, the words the hub's log and summary use.
Result make_result(const core::TaskTable& table, core::TaskIndex t, bool from_checkpoint);

}  // namespace mpiq::embed
