#pragma once
/// Binding the calling thread to CPUs: a worker binds itself to its share once, at its start. A task
/// binds itself in its child, between the clone and the exec (exec::SpawnRequest::cpus), so the worker's
/// thread is never rebound per task. Plain sched_setaffinity/sched_getaffinity: no hwloc call.

#include <string>
#include <vector>

namespace mpiq::hw {

/// Binds the calling thread to `pus` (OS indices). Throws Error (with errno's text) when the kernel
/// refuses, e.g. a PU outside the process's cgroup, or when `pus` is empty.
void bind_this_thread(const std::vector<int>& pus);

/// The PUs (OS indices, ascending) the calling thread may run on.
std::vector<int> this_thread_binding();

/// Binds the calling thread to a set of PUs for the lifetime of the object, then restores the
/// binding it had (the unit tests bind their thread with it). Not copyable or movable: it belongs to a
/// scope.
class ScopedThreadBinding {
 public:
  /// Binds to `pus`, remembering `restore_to` (the worker's own binding, read once at start-up so
  /// that each task costs two system calls, not three).
  ScopedThreadBinding(const std::vector<int>& pus, std::vector<int> restore_to);
  ScopedThreadBinding(const ScopedThreadBinding&) = delete;
  ScopedThreadBinding& operator=(const ScopedThreadBinding&) = delete;
  /// Restores the saved binding; a failure is written to stderr, never thrown.
  ~ScopedThreadBinding();

 private:
  std::vector<int> restore_to_;
};

}  // namespace mpiq::hw
