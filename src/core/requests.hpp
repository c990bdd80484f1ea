#pragma once
/// Whether every task's request can be met (docs/design.md §4, §11): a task that asks for more cores or
/// GPUs than any worker has, or more memory than any node's budget, would wait forever, so it is bad input,
/// found before the run starts (and by `mpiq check --ranks N`). Pure: the workers' resources come in, the
/// first unmet request goes out.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/task_table.hpp"

namespace mpiq::core {

/// What one worker can give a task.
struct WorkerCapacity {
  uint32_t cores = 0;
  uint32_t gpus = 0;
  /// The memory budget of its node, KiB (hw::node_memory), shared with the node's other workers;
  /// 0 = unknown, no limit.
  uint64_t mem_kb = 0;
};

/// A task no worker can run, and why.
struct UnmetRequest {
  TaskIndex row = 0;
  /// The setting to point at: "mem" when no node has that much memory, "gpus" when no worker has that
  /// many GPUs, else "cores".
  std::string_view setting;
  /// What is wrong, with a hint that fits (`asks for 2 GPUs, but no worker has a GPU: none found on
  /// this node`); without the task's id, which the caller's position gives.
  std::string message;
};

/// The first task (in row order; barriers ask for nothing) that fits no worker of `workers`; nullopt
/// when every task fits some worker. Each row costs one comparison while it asks for what the row
/// before it asked for (the common case), a scan of the workers otherwise.
std::optional<UnmetRequest> find_unmet_request(const TaskTable& table, std::span<const WorkerCapacity> workers);

/// The 1-based column of `setting=` inside the `[% %]` prefix of `line` (a task's first line), or 1
/// when the line does not set it (the value came from `#MPIQ defaults`).
size_t setting_column(std::string_view line, std::string_view setting);

}  // namespace mpiq::core
