#pragma once
/// Runs a worker rank's function tasks (the embedding API) on a task thread of their own, one at a
/// time, with one worker object per kind kept across tasks.
///
/// Why a thread: a timeout must be enforceable on a call that never returns, and a thread cannot be
/// killed. So the worker's loop thread watches the task thread's deadline, and when it passes it
/// *abandons* the thread: the task is reported failed (timed out), the thread is detached with the
/// object it was using (that object is never called again: it is poisoned), and a fresh thread with
/// fresh objects (constructor, pre_work) takes over the queue. If the abandoned call ever returns, its
/// thread drops the result, calls post_work on its objects, destroys them and ends; if it never
/// returns, the thread and whatever it holds stay until the process exits.
///
/// Handing tasks over costs one uncontended lock per task; the loop thread is woken (an eventfd)
/// only when the queue runs dry or a few thousand results wait, so reports stay large.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/messages.hpp"
#include "mpiq/worker.hpp"

namespace mpiq::worker {

/// A registered task kind.
struct FunctionKind {
  std::string name;
  std::function<std::unique_ptr<TaskWorker>()> make;
  uint32_t recycle_after = 0;  ///< 0 = FunctionSettings::recycle_after
};

/// What every worker rank of one program knows about function tasks.
struct FunctionSettings {
  std::vector<FunctionKind> kinds;
  uint32_t recycle_after = 0;  ///< rebuild an object after this many tasks; 0 = never
  size_t max_result_bytes = kMaxResultBytes;
};

/// How a function task's attempt ended, as the report carries it.
enum class FunctionOutcome : uint8_t { done = 0, failed = 1, timed_out = 2, interrupted = 3 };

class FunctionRunner {
 public:
  struct Finished {
    core::TaskIndex task = 0;
    FunctionOutcome outcome = FunctionOutcome::done;
    double start_time = 0, end_time = 0;
    std::string output;  ///< result bytes, or the failure's message
  };

  FunctionRunner(std::shared_ptr<const FunctionSettings> settings, int rank);
  /// Lets the task thread finish its current task, then post_work and destroy its objects. Unstarted
  /// tasks are dropped (the hub recalls them). A thread that was abandoned is not waited for.
  ~FunctionRunner();
  FunctionRunner(const FunctionRunner&) = delete;
  FunctionRunner& operator=(const FunctionRunner&) = delete;

  /// Queues a batch from the hub.
  void push(core::FunctionBatch batch);
  /// Moves the ended tasks (and the starts, when the hub asked for them) out; true if there were any.
  bool collect(std::vector<Finished>& finished, std::vector<core::Report::Started>& started);
  /// Abandons the running call if it is past its deadline (or past the stop's grace): its failure
  /// (or interruption) is then ready for collect(). `now` is CLOCK_MONOTONIC seconds.
  void enforce(double now);
  /// Removes up to `count` unstarted tasks, newest first (a steal).
  std::vector<core::TaskIndex> give_back(uint32_t count);
  /// Removes every unstarted task (a stop).
  void drop_queue();
  /// A stop that ends running tasks: the running call is abandoned at `at` (monotonic) unless it
  /// has returned by then; it is reported interrupted (the attempt does not count).
  void interrupt_running(double at);
  /// Nothing queued, running, or waiting to be collected.
  bool idle();
  /// Readable when results wait for collect() (an eventfd; -1 if none could be made).
  int wake_fd() const noexcept { return wake_fd_; }

  struct Lane;  ///< one task thread's shared state

 private:
  void start_lane();
  void abandon(FunctionOutcome outcome, const std::string& message);

  std::shared_ptr<const FunctionSettings> settings_;
  int rank_;
  int wake_fd_ = -1;
  std::shared_ptr<Lane> lane_;
  std::thread thread_;
  double interrupt_at_ = 0;
  std::vector<Finished> abandoned_results_;  // produced by the loop thread itself
};

}  // namespace mpiq::worker
