#pragma once
/// Submissions made from other threads while the hub runs, waiting for the hub's thread to append
/// them to the task table.
///
/// Locking rules (mpiq::Session, embed/session.cpp). run() runs the hub on the calling thread (the
/// hub's thread), and hooks run there too; submit() may come from any thread at any time. One mutex,
/// the session's, guards everything submissions touch: the next id, the names, the resume claims, this
/// queue, the promises, and every change to the table's rows. While the hub runs, only the hub's thread
/// appends rows — other threads push() here and the hub's thread takes() at its next turn — because the
/// hub reads the table without the lock; other threads read only the table's spec columns, under the
/// lock. Every member but size() is called with the session's mutex held.

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "mpiq/task.hpp"

namespace mpiq::embed {

/// A submission's settings besides its kind, payload, name and dependencies.
struct TaskSettings {
  int32_t priority = 0;
  uint32_t cores = 1, gpus = 0, timeout_s = 0, retries = 0;
};

/// A submission that waits for the hub's thread: its id is decided (ids ascend in submission order).
struct PendingTask {
  TaskId id = 0;
  std::string kind, payload, name;
  std::vector<TaskId> deps;  // ascending, each in the table or earlier in the queue
  TaskSettings settings;
};

class SubmissionQueue {
 public:
  void push(PendingTask p) {
    tasks_.push_back(std::move(p));
    size_ = tasks_.size();
  }
  bool empty() const noexcept { return tasks_.empty(); }
  /// The waiting submissions, oldest first.
  const std::vector<PendingTask>& tasks() const noexcept { return tasks_; }
  /// Drops the first `n` (they were appended).
  void drop_front(size_t n) {
    tasks_.erase(tasks_.begin(), tasks_.begin() + static_cast<std::ptrdiff_t>(n));
    size_ = tasks_.size();
  }
  /// How many wait, readable without the lock (Session's keeps_open): a producer's last submit() comes
  /// before its hold's release, so once the holds read 0 its submissions are counted here (both
  /// sequentially consistent).
  size_t size() const noexcept { return size_.load(); }

 private:
  std::vector<PendingTask> tasks_;
  std::atomic<size_t> size_{0};
};

}  // namespace mpiq::embed
