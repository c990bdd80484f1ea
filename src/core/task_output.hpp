#pragma once
/// Where task output goes (`mpiq run --task-output`).

#include <optional>
#include <string_view>

namespace mpiq::core {

enum class TaskOutput {
  stream,  ///< each worker rank appends framed records to OUT_DIR/rank-R.stream (store/output_stream.hpp)
  files,   ///< OUT_DIR/ID.out and ID.err per task; a retry appends after a line naming its attempt
  none,    ///< nothing is kept
};

inline std::optional<TaskOutput> parse_task_output(std::string_view s) {
  if (s == "stream") return TaskOutput::stream;
  if (s == "files") return TaskOutput::files;
  if (s == "none") return TaskOutput::none;
  return std::nullopt;
}

}  // namespace mpiq::core
