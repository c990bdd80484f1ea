#pragma once
/// Task descendants that leave the task's process group (setsid, setpgid, a daemon's double fork).
///
/// A task's group is ended with the task (SIGKILL to the group when its first process is reaped), but
/// a process that made a session or group of its own escapes that, and would outlive the task, the
/// run and the guard. So `mpiq run` makes itself the subreaper of its descendants
/// (PR_SET_CHILD_SUBREAPER): a process whose parent ends becomes a child of the mpiq process instead
/// of init's. Once a second, and when the worker ends, the worker looks at its children it did not
/// start (/proc/self/task/*/children): each that carries a task's MPIQ_TASK_ID and MPIQ_ATTEMPT is that
/// task's, and when that attempt is no longer running here it is ended with its group (TERM, then KILL
/// after the grace period) and reaped. While it lives it is in the guard's table, so a kill -9 of the
/// worker ends it too. A process that dropped the variables (`env -i`) cannot be told from the
/// embedding program's own children and is left alone; so is everything when mpiq is embedded
/// (mpiq::Session does not make the host program a subreaper).

#include <sys/types.h>

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace mpiq::exec {

/// Makes this process the subreaper of its descendants (`mpiq run` calls it once, before any worker
/// starts). Returns false when the kernel refuses; the worker then finds no orphans.
bool become_subreaper();
bool is_subreaper() noexcept;

/// The task attempt a process belongs to, from its environment (MPIQ_TASK_ID, MPIQ_REPEAT_INDEX,
/// MPIQ_ATTEMPT, and MPIQ_RUN_DIR so that a nested run's tasks are told apart):
/// "RUN_DIR|ID[/ELEMENT]#ATTEMPT", or "" when it has none. `environ_bytes` is what
/// /proc/PID/environ holds (NUL-separated K=V).
std::string task_attempt_key(const std::string& environ_bytes);

/// The same key for a task the worker runs (`run_dir` as in MPIQ_RUN_DIR, "" for none).
std::string task_attempt_key(const std::string& run_dir, uint64_t id, uint32_t element, bool has_element,
                             uint32_t attempt);

/// The orphans one worker process has adopted: only those of its own run's tasks (MPIQ_RUN_DIR is
/// `run_dir`), so the guard, a helper or a nested run's processes are never taken for one.
class Orphans {
 public:
  explicit Orphans(std::string run_dir) : prefix_(std::move(run_dir) + "|") {}
  /// Looks at this process's children: `known` says which it started itself (its tasks);
  /// `running` says whether a task attempt (a key as above) still runs here. An orphan of an attempt
  /// that has ended gets SIGTERM (its group, when it leads one) and SIGKILL `grace_s` later; ended
  /// orphans are reaped, and so is every zombie child outside this process's group that `known` does
  /// not name (what a task left behind and that ended before a sweep saw it). Cheap when there are
  /// none: one read of a small /proc file per thread.
  void sweep(double now, double grace_s, const std::function<bool(pid_t)>& known,
             const std::function<bool(const std::string&)>& running);
  /// Ends every adopted orphan of a task (none of them runs any more): TERM, up to `grace_s` for them
  /// to go, KILL, reap. For the worker's end.
  void end_all(double grace_s, const std::function<bool(pid_t)>& known);
  size_t adopted() const noexcept { return adopted_.size(); }

 private:
  struct Adopted {
    std::string key;
    pid_t group = -1;    // its process group when it leads one (killed whole), else -1
    double kill_at = 0;  // when SIGKILL follows the TERM; 0 = not yet told to end
  };
  void reap_ended();
  void end(pid_t pid, Adopted& a, double now, double grace_s);
  std::string prefix_;  // what the keys of this run's tasks begin with
  std::unordered_map<pid_t, Adopted> adopted_;
};

/// This process's children, from /proc/self/task/*/children (empty where the kernel lacks the file).
std::vector<pid_t> children_of_this_process();

/// Whether every child of this process's first thread and of the calling thread is one that `known`
/// names. After a task has been reaped, that says no process it started lives on: in a subreaper
/// (become_subreaper) what outlives its parent becomes a child of the first thread, and the task was the
/// calling thread's child; so none can hold the task's pipes. False where this process is no subreaper
/// or the files cannot be read. Cheap: a pread of each file, through descriptors the thread keeps.
bool only_known_children(const std::function<bool(pid_t)>& known);

}  // namespace mpiq::exec
