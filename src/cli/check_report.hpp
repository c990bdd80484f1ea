#pragma once
/// The text `mpiq check FILE` prints: the shape of a task file's graph, as lines or as JSON.

#include <string>

#include "core/task_table.hpp"

namespace mpiq::cli {

/// What `mpiq check FILE` prints: one `key value` line per item (tasks, edges, roots, depth, widest_level,
/// max_cores, max_gpus, max_mem_kb, barriers, named), or, when `json`, one JSON object with the same keys on
/// one line. Ends with a newline either way.
std::string check_report(const core::TaskTable& table, const core::GraphSummary& summary, bool json);

}  // namespace mpiq::cli
