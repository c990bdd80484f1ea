#pragma once
/// A worker's own bookkeeping, pure: the tasks it holds but has not started (its prefetch queue),
/// the tasks it runs with the resources each was given, and their deadlines. The worker loop feeds it
/// a clock; tests feed it a fake one.

#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/messages.hpp"
#include "core/resource_pool.hpp"
#include "core/resources.hpp"

namespace mpiq::core {

/// What the worker must do to a task that ran past its timeout.
enum class KillStep { terminate, kill };

class LocalQueue {
 public:
  /// A task that was started: its order, what it was given, and its deadlines (0 = none).
  struct Running {
    TaskOrder order;
    Allocation allocation;
    double started = 0;
    double deadline = 0;  ///< when it times out
    double kill_at = 0;   ///< after a TERM: when to KILL
    bool timed_out = false;
    bool cancelled = false;  ///< ended by `mpiq cancel` (terminate)
  };

  /// `grace_s`: seconds between TERM and KILL of a task that timed out.
  LocalQueue(const WorkerShare& share, double grace_s) : pool_(share), grace_s_(grace_s) {}

  void push(TaskOrder order) { queue_.push_back(std::move(order)); }

  /// Takes the oldest queued task that fits the free resources now and gives it resources; the
  /// caller then starts it and calls `started`. A task that cannot run on this worker at all (the hub
  /// checks this, so only a bug gets here) is returned with an empty allocation and `fits == false`.
  struct Next {
    TaskOrder order;
    Allocation allocation;
    bool fits = true;
  };
  std::optional<Next> next();

  /// Records that `next` was started at `now`; `key` identifies it from now on (the task index).
  void started(Next next, double now);
  /// The task ended (or failed to start): frees its resources and returns its record.
  Running finished(TaskIndex task);

  /// Removes up to `count` unstarted tasks, newest first, and returns their indices.
  std::vector<TaskIndex> give_back(uint32_t count);
  /// Removes every unstarted task (a stop).
  std::vector<TaskIndex> drop_queue();

  /// Removes the unstarted task `task` (a cancel); false when it is not queued here.
  bool remove_queued(TaskIndex task);
  /// Marks the running task `task` cancelled and due for KILL `grace_s` after `now`; the caller sends
  /// TERM now. False when it is not running here or is already on its way out.
  bool terminate(TaskIndex task, double now, double grace_s);

  /// Timeout steps due at `now`: TERM for tasks past their deadline, KILL for those past
  /// deadline + grace. Each step is returned once.
  std::vector<std::pair<TaskIndex, KillStep>> due(double now);
  /// Sends TERM now to every running task (a stop with kill_running): returns them; KILL follows
  /// after the grace period through `due`.
  std::vector<TaskIndex> terminate_all(double now);
  /// A stop in a hurry: every running task not KILLed yet, to KILL now (TERM'd or not).
  std::vector<TaskIndex> kill_all_now();

  size_t queued() const noexcept { return queue_.size(); }
  size_t running() const noexcept { return running_.size(); }
  bool empty() const noexcept { return queue_.empty() && running_.empty(); }
  const Running* find(TaskIndex task) const;
  const ResourcePool& pool() const noexcept { return pool_; }

 private:
  ResourcePool pool_;
  double grace_s_;
  std::deque<TaskOrder> queue_;
  std::unordered_map<TaskIndex, Running> running_;
};

}  // namespace mpiq::core
