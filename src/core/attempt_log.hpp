#pragma once
/// The earlier attempts of tasks: the tries that the task table's one start/end per task no longer
/// holds because the task ran again (a retry after a failure or a timeout, a resume after its worker
/// was lost, a resume after a stop ended it). The report draws each as a bar of its own
/// (docs/design.md §8); the checkpoint keeps them as /attempts and the journal as records of kind 6
/// (store/checkpoint.hpp, store/journal.hpp), so they survive a kill -9 and a resume like the table.
///
/// Bounded: at most kMaxPerTask records of one task (its first ones) and kMaxRecords in all (48 bytes
/// each: 48 MB at the cap, which one earlier attempt of each of 1,000,000 tasks reaches); attempts
/// past either bound are only counted (dropped()), and the report says so.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace mpiq::core {

using TaskIndex = uint32_t;

/// How an earlier attempt ended. The numeric values are the checkpoint's and the journal's: never
/// renumber.
enum class AttemptEnd : uint8_t {
  failed = 0,        ///< exited non-zero or was killed by a signal (exit_code, signal)
  timed_out = 1,     ///< ended by mpiq at its timeout
  start_failed = 2,  ///< could not be started
  stopped = 3,       ///< ended by a stop of the run (a signal, the time limit); not counted
  lost = 4,          ///< its worker was lost while it ran: the end is not known (end_time 0)
};
inline constexpr uint8_t kAttemptEndCount = 5;
inline constexpr const char* kAttemptEndNames[kAttemptEndCount] = {"failed", "timed_out", "start_failed",
                                                                   "stopped", "lost"};

/// One earlier attempt of a task.
struct EarlierAttempt {
  TaskIndex task = 0;        ///< the task's row
  uint32_t attempt = 0;      ///< its MPIQ_ATTEMPT (a stopped or lost try shares it with the next one)
  int32_t worker_rank = -1;  ///< the rank it ran on
  int32_t exit_code = -1;    ///< -1 when it did not exit
  int32_t signal = 0;        ///< the signal that ended it, 0 if none
  AttemptEnd end = AttemptEnd::failed;
  double start_time = 0;   ///< Unix time it started
  double end_time = 0;     ///< Unix time it ended, 0 when not known (lost)
  int64_t max_rss_kb = 0;  ///< its peak resident set, 0 if unknown
  bool operator==(const EarlierAttempt&) const = default;
};

/// The earlier attempts of a run's tasks, in the order they ended (recorded), with the bounds above.
class AttemptLog {
 public:
  static constexpr size_t kMaxRecords = 1'000'000;
  static constexpr uint32_t kMaxPerTask = 32;

  /// Keeps `a` unless a bound is reached; then only counts it. Returns whether it was kept.
  bool add(const EarlierAttempt& a) {
    if (a.task >= per_task_.size()) per_task_.resize(static_cast<size_t>(a.task) + 1, 0);
    if (records_.size() >= kMaxRecords || per_task_[a.task] >= kMaxPerTask) {
      ++dropped_;
      return false;
    }
    ++per_task_[a.task];
    records_.push_back(a);
    return true;
  }
  /// Makes room for `records` records of a table of `rows` rows (a load).
  void reserve(size_t records, size_t rows) {
    records_.reserve(std::min(records, kMaxRecords));
    if (per_task_.size() < rows) per_task_.resize(rows, 0);
  }
  /// Counts `n` attempts that were not kept (a journal record or checkpoint says how many).
  void add_dropped(uint64_t n) noexcept { dropped_ += n; }

  const std::vector<EarlierAttempt>& records() const noexcept { return records_; }
  size_t size() const noexcept { return records_.size(); }
  bool empty() const noexcept { return records_.empty(); }
  /// Attempts that reached a bound and were only counted.
  uint64_t dropped() const noexcept { return dropped_; }
  /// Records kept of row `task`.
  uint32_t kept_of(TaskIndex task) const noexcept { return task < per_task_.size() ? per_task_[task] : 0; }

  /// Keeps only the records whose row `new_row[task]` is not `kNoRow`, renumbered to it (a resume with
  /// an edited task file moves rows, core/task_edit.hpp); those of removed or changed tasks are dropped
  /// without being counted (the tasks they tried are no longer the run's).
  static constexpr TaskIndex kNoRow = 0xFFFFFFFFu;
  void remap(const std::vector<TaskIndex>& new_row) {
    std::vector<EarlierAttempt> old;
    old.swap(records_);
    per_task_.clear();
    for (EarlierAttempt a : old)
      if (a.task < new_row.size() && new_row[a.task] != kNoRow) {
        a.task = new_row[a.task];
        add(a);
      }
  }

  /// The first record that does not fit a table of `rows` rows (a row out of range, an unknown end),
  /// as a message; "" when every one does.
  std::string find_problem(size_t rows) const {
    for (size_t k = 0; k < records_.size(); ++k) {
      const EarlierAttempt& a = records_[k];
      if (a.task >= rows)
        return "earlier attempt " + std::to_string(k) + " is of row " + std::to_string(a.task) +
               ", but the table has " + std::to_string(rows) + " rows";
      if (static_cast<uint8_t>(a.end) >= kAttemptEndCount)
        return "earlier attempt " + std::to_string(k) + " has an unknown end " +
               std::to_string(static_cast<unsigned>(a.end));
    }
    return "";
  }

 private:
  std::vector<EarlierAttempt> records_;
  std::vector<uint8_t> per_task_;  // records kept of each row (at most kMaxPerTask, < 256)
  uint64_t dropped_ = 0;
};
static_assert(AttemptLog::kMaxPerTask < 256);

}  // namespace mpiq::core
