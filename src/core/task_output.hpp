#pragma once
/// Where task output goes (`mpiq run --task-output`).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/task_table.hpp"

namespace mpiq::core {

enum class TaskOutput {
  stream,  ///< each worker rank appends framed records to OUT_DIR/rank-R.stream (store/output_stream.hpp)
  files,   ///< OUT_DIR/ID.out and ID.err per task (ID.I.out of a sweep's element I); a retry appends after a
           ///< line naming its attempt
  none,    ///< nothing is kept
};

inline std::optional<TaskOutput> parse_task_output(std::string_view s) {
  if (s == "stream") return TaskOutput::stream;
  if (s == "files") return TaskOutput::files;
  if (s == "none") return TaskOutput::none;
  return std::nullopt;
}

/// The stem of a task's output files in `--task-output files` mode: `ID`, or `ID.I` for element I of a
/// sweep (no brackets: a file name a shell need not quote).
inline std::string output_file_stem(uint32_t id, uint32_t element) {
  std::string s = std::to_string(id);
  if (element != kNoElement) s += "." + std::to_string(element);
  return s;
}

}  // namespace mpiq::core
