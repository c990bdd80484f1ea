#pragma once
/// How a task that ended is told to people: the hub's log and summary, and the embedding API's
/// Result::error, say it with the same words.

#include <string>

#include "core/task_table.hpp"

namespace mpiq::core {

/// Why row `t` did not end done: a function task's error message, "signal N" for a command killed by
/// a signal, else "exit code N". For a skipped task: that a dependency failed or was skipped.
inline std::string describe_end(const TaskTable& table, TaskIndex t) {
  if (table.state[t] == TaskState::skipped) return "a task it depends on failed or was skipped";
  if (table.is_function(t)) return std::string(table.result[t]);
  if (table.signal[t] != 0) return "signal " + std::to_string(table.signal[t]);
  return "exit code " + std::to_string(table.exit_code[t]);
}

}  // namespace mpiq::core
