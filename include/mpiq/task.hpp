#pragma once
/// What a function task is and what it ends as: ids, options at submission, results, the context a
/// worker object sees. Part of the embedding API (mpiq/mpiq.hpp).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mpiq {

/// A task's id: the line number for a task-file task, the next free id for a submitted one.
using TaskId = uint32_t;

/// The largest payload and the largest result of a function task, in bytes (16 MiB). A larger
/// payload is refused by submit(); a larger result fails its task with a message that says so. The
/// journal's records are at most 64 MiB, so a task's payload and result always fit in one.
inline constexpr size_t kMaxPayloadBytes = size_t{16} << 20;
/// See kMaxPayloadBytes.
inline constexpr size_t kMaxResultBytes = size_t{16} << 20;

/// How a task ended.
enum class TaskStatus : uint8_t {
  done,       ///< work() returned (a command: exited 0)
  failed,     ///< work() threw, timed out, or its result was too large, on its last attempt
  skipped,    ///< a task it depends on failed, was skipped or was cancelled
  cancelled,  ///< `mpiq cancel` ended it
};

/// What a submission may say besides its kind and payload. Every field has the default a task-file
/// line without prefixes gets.
struct TaskOptions {
  std::string name;                      ///< unique in the run; "" = unnamed
  std::vector<TaskId> after;             ///< runs after these tasks (submitted or task-file ids)
  std::vector<std::string> after_names;  ///< and after these named tasks
  int32_t priority = 0;                  ///< larger runs first
  uint32_t cores = 1;                    ///< picks a worker with at least this many cores
  uint32_t gpus = 0;                     ///< picks a worker with at least this many GPUs
  double timeout_s = 0;                  ///< 0 = the session's task_timeout_s; rounded up to seconds
  uint32_t retries = 0;                  ///< extra attempts after a failure
};

/// A task that reached its end, as on_end and futures deliver it.
struct Result {
  TaskId id = 0;
  std::string name;  ///< "" when unnamed
  std::string kind;  ///< the task kind; "" for a task-file command
  TaskStatus status = TaskStatus::done;
  /// work()'s result bytes when done; "" otherwise and for commands.
  std::string bytes;
  /// Why it failed: the exception's what(), "timed out after N s", a too-large result, ...; "" when
  /// done. For a command: "exit code N" or "signal N".
  std::string error;
  uint32_t attempts = 0;         ///< attempts started
  int worker_rank = -1;          ///< rank that ran the last attempt
  double start_time = 0;         ///< Unix time of the last attempt's start
  double end_time = 0;           ///< Unix time of the last attempt's end
  bool from_checkpoint = false;  ///< finished in an earlier run of this run directory, not rerun
  bool ok() const noexcept { return status == TaskStatus::done; }
};

/// A task as the on_send and on_start hooks see it; the views live for the duration of the call.
struct TaskInfo {
  TaskId id = 0;
  std::string_view name;
  std::string_view kind;  ///< "" for a command
  int worker_rank = -1;
  uint32_t attempt = 0;  ///< 1 for the first
};

/// What work() knows about the task it runs. Built by mpiq on the worker.
class TaskContext {
 public:
  TaskContext(TaskId id, uint32_t attempt, std::string_view kind, int rank,
              const std::atomic<bool>* abandoned)
      : id_(id), attempt_(attempt), kind_(kind), rank_(rank), abandoned_(abandoned) {}
  TaskId id() const noexcept { return id_; }
  /// 1 for the first attempt.
  uint32_t attempt() const noexcept { return attempt_; }
  std::string_view kind() const noexcept { return kind_; }
  /// The worker's MPI rank (1 in a one-rank run).
  int rank() const noexcept { return rank_; }
  /// True once mpiq has given up on this call (it timed out, or the run is stopping): a long
  /// work() may poll this and return early; what it returns then is dropped.
  bool abandoned() const noexcept { return abandoned_ && abandoned_->load(std::memory_order_relaxed); }

 private:
  TaskId id_;
  uint32_t attempt_;
  std::string_view kind_;
  int rank_;
  const std::atomic<bool>* abandoned_;
};

}  // namespace mpiq
