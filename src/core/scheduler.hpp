#pragma once
/// The hub's scheduling core: pure logic over a TaskTable, no MPI, no processes, no clock of its own.
///
/// The hub feeds it events (a worker joined, a task started or finished, a worker gave tasks back) and
/// asks it for decisions (which tasks to send to which worker, which worker to steal from). Every
/// per-task operation is O(log n) in the number of ready tasks, so throughput does not fall as the
/// batch grows (PEERS: Flux's 147 -> 33 jobs/s is the failure to avoid).

#include <array>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/attempt_log.hpp"
#include "core/graph.hpp"
#include "core/ready_queue.hpp"
#include "core/task_table.hpp"

namespace mpiq::core {

/// A worker's id: its MPI rank (or any small integer in tests and simulations).
using WorkerId = uint32_t;

/// How a task's attempt ended, as the worker saw it.
struct TaskResult {
  TaskIndex task = 0;
  int32_t exit_code = -1;     ///< exit status when it exited, -1 otherwise
  int32_t signal = 0;         ///< signal that killed it, 0 when it exited
  bool timed_out = false;     ///< killed by the worker for exceeding its timeout
  bool spawn_failed = false;  ///< could not be started (bad directory, missing program, ...)
  bool interrupted = false;   ///< ended by a stop (signal, time limit): the attempt does not count
  double start_time = 0;
  double end_time = 0;
  int64_t max_rss_kb = 0;
  /// Of a function task: its result bytes when it succeeded, its error message when it failed. Of a
  /// command task: the end of its stderr (at most kStderrTailBytes), kept when it fails for good.
  std::string output;
  bool succeeded() const noexcept {
    return exit_code == 0 && signal == 0 && !timed_out && !spawn_failed && !interrupted;
  }
};

/// Tasks to send to one worker in one message.
struct Assignment {
  WorkerId worker = 0;
  std::vector<TaskIndex> tasks;
};

/// Ask `victim` to give back up to `count` tasks it holds but has not started.
struct StealRequest {
  WorkerId victim = 0;
  uint32_t count = 0;
};

struct SchedulerOptions {
  /// Extra cores' worth of tasks a worker may hold beyond what it can run at once (its local queue);
  /// 0 = the default: max(2, cores of the worker), deeper where the worker's command tasks are short
  /// (about kCommandQueueSeconds of them queued per core, at most kMaxPrefetchPerCore per core; tasks
  /// with a memory request are held to max(2, cores), so that one worker's queue does not take its
  /// node's memory budget from the others).
  uint32_t prefetch = 0;
  /// Stop dispatching at the first task that fails for good.
  bool fail_fast = false;
  /// Steal unstarted tasks from loaded workers for idle ones.
  bool steal = true;
  /// Function tasks a worker may hold at once (queued and running); 0 = adaptive: about
  /// kFunctionQueueSeconds of work at the worker's observed task duration, between
  /// kMinFunctionWindow and kMaxFunctionWindow. A no-op function task takes nanoseconds, so a worker
  /// must hold thousands of them to never wait on the hub.
  uint32_t function_window = 0;
  /// A task that was running on a lost worker this many times fails ("its worker was lost N times",
  /// docs/design.md §3); 0 = never (--crash-limit).
  uint32_t crash_limit = 3;
};

/// Seconds of command-task work per core the default prefetch keeps queued on a worker whose tasks are
/// short: a worker must not wait on the hub between two tasks, and a round trip to the hub (its reply
/// and the worker's next look at its messages) takes longer than a task that only starts and exits
/// (20,000 of them, 2 workers: 3.1-3.5 s with 2 queued, 2.3-2.4 s with 32).
inline constexpr double kCommandQueueSeconds = 0.005;
inline constexpr uint32_t kMaxPrefetchPerCore = 64;
/// Seconds of function-task work the adaptive window keeps queued on each worker.
inline constexpr double kFunctionQueueSeconds = 0.05;
inline constexpr uint32_t kMinFunctionWindow = 2;
inline constexpr uint32_t kMaxFunctionWindow = 1u << 16;
/// The window of a worker before any of its function tasks has finished.
inline constexpr uint32_t kInitialFunctionWindow = 8;
/// Done command tasks it takes before their durations judge whether a task fits the time left.
inline constexpr uint64_t kMinDurationSamples = 10;
/// The scheduler's histogram of command tasks' durations: bucket b holds [2^((b-20)/2), 2^((b-19)/2))
/// seconds, 1 ms .. about 3 days; shorter (and 0) in the first, longer in the last.
inline constexpr size_t kDurationBuckets = 64;
/// floor(2 log2 seconds) + 20, clamped to the buckets.
size_t duration_bucket(double seconds);

/// Counters the hub reports in status.json and the summary.
struct SchedulerStats {
  uint64_t assigned_messages = 0;
  uint64_t steal_requests = 0;
  uint64_t tasks_stolen = 0;  ///< tasks given back by a victim and dispatched again
  uint64_t retries = 0;
};

class Scheduler {
 public:
  /// Takes the table's runtime columns as they are: final states stay (a resumed run); every other
  /// task becomes `ready` or `waiting` from its dependencies, and a task that was `running` or
  /// `assigned` when the previous run stopped does not count that attempt. A task left `running`
  /// counts a crash instead (its end was never heard of: its worker was lost); at the crash limit it
  /// fails. The table must outlive
  /// the scheduler; only the scheduler writes its runtime columns while it lives.
  Scheduler(TaskTable& table, SchedulerOptions options);

  /// A worker with `cores` cores and `gpus` GPUs has joined, and is ready for work when `open`. A
  /// closed worker counts for what fits (unplaceable) but is given nothing until open_worker (its
  /// node's `#MPIQ pernode start` command has not ended yet).
  void add_worker(WorkerId worker, uint32_t cores, uint32_t gpus, bool open = true);
  /// Puts `worker` on node `node` (a small integer; workers with the same one share the node) whose
  /// tasks may together ask for `mem_kb` of memory (`mem=`; 0 = no limit known). Memory is the node's,
  /// not a worker's (docs/design.md §2): the scheduler reserves a task's mem= from its node's budget
  /// when it assigns the task (queued counts, not only running) and frees it when the task ends or is
  /// given back, so no steal, prefetch or retry can make the node's tasks ask for more than it has.
  /// The last budget given for a node holds. A worker never placed has no memory limit.
  void set_worker_node(WorkerId worker, uint32_t node, uint64_t mem_kb);
  /// The memory budget of `node` and what its assigned and running tasks reserve now, KiB.
  struct NodeMemory {
    uint64_t budget_kb = 0;
    uint64_t reserved_kb = 0;
  };
  NodeMemory node_memory(uint32_t node) const;
  void open_worker(WorkerId worker);
  /// Takes a closed worker out of the run for good (its node's start command failed): it gets
  /// nothing and no longer counts for what fits. A worker that holds tasks is left as it is.
  void remove_worker(WorkerId worker);
  /// Fails every task not yet final and not on a worker that no remaining worker can run (after
  /// remove_worker), skipping its dependants; returns them. A function task's message is `why`.
  std::vector<TaskIndex> fail_unplaceable(std::string_view why);
  /// The tasks no joined worker can ever run (their request exceeds every worker), at most `limit`.
  std::vector<TaskIndex> unplaceable(size_t limit) const;

  /// Rows [first_row, table.size()) were just appended to the table (spec columns filled; their
  /// dependencies point only at earlier rows): they join the graph. Costs O(new rows + their edges):
  /// each new row's critical path counts only itself, and the rows it depends on are raised to cover
  /// it, but not their own ancestors. A new task whose dependency already failed or was skipped is
  /// skipped; one that no joined worker can run fails at once (message in `result`).
  void add_tasks(TaskIndex first_row);

  /// `worker` started `task` at `time` (the worker's clock).
  void on_started(WorkerId worker, TaskIndex task, double time);
  /// `worker` finished an attempt. A failure with retries left goes back to `ready`; a final failure
  /// skips everything downstream (and stops dispatch under fail_fast).
  /// A function task's output moves into `table.result` when the task ends for good.
  void on_finished(WorkerId worker, TaskResult result);
  /// `worker` gave back tasks it had not started (a steal, or a stop). They become `ready` again.
  void on_returned(WorkerId worker, std::span<const TaskIndex> tasks);

  /// Decides what to send now: replaces `assignments` with one Assignment per worker that gets tasks
  /// (reusing the task lists of those it held: pass the same vector each time, and no task list is
  /// allocated once the run is under way), and appends steal requests for idle workers when nothing
  /// is ready. Call after every batch of events.
  void dispatch(std::vector<Assignment>& assignments, std::vector<StealRequest>& steals);

  /// Rows whose runtime columns the journal must hold at once although they are not final: command
  /// tasks that started, that go back to `ready` (a retry, a stop's interruption), and at load those
  /// charged a crash. Journalling starts is what counts crashes (docs/design.md §3): a task that the
  /// durable state leaves `running` was running when its run ended without hearing of its end, so
  /// its worker (or the whole job) was lost. A launcher may kill the hub as soon as a worker dies
  /// (Open MPI does, when the hub next writes to it), so only a start made durable before anything
  /// else is sent survives to be counted.
  std::vector<TaskIndex> take_changed();
  /// The tries since the last call that the table's row no longer holds once the task runs again
  /// (core/attempt_log.hpp): a failure or timeout with retries left, a try a stop ended, and at load a
  /// try whose worker was lost (end unknown). Taken with take_changed(), whose rows they belong to,
  /// so that both reach the journal together.
  std::vector<EarlierAttempt> take_earlier_attempts();

  /// Every task still assigned to a worker goes back to `ready`: the workers have left, having
  /// dropped the queues they had not started (a stop). Call once every worker has said bye.
  void recall_unstarted();

  /// Cancels row `t` (`mpiq cancel`): a task not yet final becomes `cancelled` at once and its
  /// dependants are skipped. A task assigned to or running on a worker stays held there (its cores are
  /// not given away) until that worker reports it ended or gave it back; the worker is returned so
  /// that the caller tells it to drop or end the task. Returns nullopt for a task that was not on a
  /// worker, or was already final (nothing changes then).
  std::optional<WorkerId> cancel(TaskIndex t);

  /// Seconds left before the run stops (the time limit, the Slurm job's end); the default is no
  /// limit. From then on dispatch does not start a task whose timeout is longer than that, nor one
  /// whose expected duration clearly is (the 10th percentile of the command tasks done so far, once
  /// kMinDurationSamples are): such a task stays `ready` for the next run.
  void set_time_left(double seconds) noexcept { time_left_ = seconds; }
  /// Ready tasks that dispatch held back because they would not fit in the time left.
  size_t time_held() const;
  /// Nothing is on any worker, and every ready task is held back for time: nothing more can happen
  /// before the time limit, so the run may stop now.
  bool only_time_held() const;

  /// No more dispatch (a signal, a time limit, fail-fast). Tasks in flight still report.
  void stop_dispatch() noexcept { stopped_ = true; }
  bool dispatch_stopped() const noexcept { return stopped_; }
  /// Every task is in a final state.
  bool all_final() const noexcept { return final_count_ == table_.size(); }
  /// Nothing is assigned to or running on any worker.
  bool idle() const noexcept { return in_flight_ == 0; }
  /// The run is over: all final, or dispatch stopped with nothing in flight.
  bool finished() const noexcept { return all_final() || (stopped_ && idle()); }

  /// Command tasks per state (barrier rows are not counted).
  const std::array<uint64_t, kTaskStateCount>& counts() const noexcept { return counts_; }
  uint64_t task_count() const noexcept { return command_tasks_; }
  const SchedulerStats& stats() const noexcept { return stats_; }
  /// Rows whose state changed to a final state since the last call, in order (for the journal).
  std::vector<TaskIndex> take_finalized();
  /// Tasks held by `worker` (assigned or running), for status rows.
  uint32_t held_tasks(WorkerId worker) const;
  uint32_t running_tasks(WorkerId worker) const;
  /// The function tasks `worker` may hold now (its adaptive or fixed window).
  uint32_t function_window(WorkerId worker) const;

  const TaskTable& table() const noexcept { return table_; }

 private:
  struct Worker {
    bool joined = false;
    bool open = false;  // given work (add_worker, open_worker)
    uint32_t cores = 0, gpus = 0;
    uint32_t held_cores = 0, held_gpus = 0;    // requests of tasks assigned or running there
    uint32_t held = 0, running = 0;            // tasks assigned or running there / running
    uint32_t held_functions = 0;               // function tasks among `held`
    uint32_t window = kInitialFunctionWindow;  // function tasks it may hold
    double task_seconds = -1;                  // moving average of its function tasks' run time
    double command_seconds = -1;               // moving average of its command tasks' run time
    uint32_t deep_prefetch = 0;                // the prefetch its short command tasks ask for
    bool steal_pending = false;                // a steal request is unanswered
    bool hungry = false;                       // in hungry_ (has room for more)
    uint32_t hungry_gen = 0;                   // which lane entries are current (HungryEntry)
    uint32_t node = kNoNode;                   // index into nodes_ (set_worker_node)
  };
  static constexpr uint32_t kNoNode = UINT32_MAX;
  struct Node {
    uint64_t budget_kb = 0;    // 0 = no limit
    uint64_t reserved_kb = 0;  // mem= of the tasks assigned to or running on its workers
    std::vector<WorkerId> workers;
  };
  /// Ready-queue key: priority, then critical path, then file order (smaller row first).
  struct ReadyEntry {
    int32_t priority;
    uint32_t critical_path;
    TaskIndex task;
    bool operator<(const ReadyEntry& o) const noexcept {  // max-heap: "less urgent than"
      if (priority != o.priority) return priority < o.priority;
      if (critical_path != o.critical_path) return critical_path < o.critical_path;
      return task > o.task;
    }
  };

  void set_state(TaskIndex t, TaskState s);
  void make_ready(TaskIndex t);
  void release_dependants(TaskIndex t);
  /// Skips what waits for `t` (which ended without success), transitively. A kAfterAny barrier is not
  /// skipped by a task: that task's end counts as the barrier's dependency met, when `t` ended just now
  /// (`release`: false for an end the constructor found already counted) or was skipped by this call.
  void skip_dependants(TaskIndex t, bool release = true);
  /// Whether row t's dependency `d`, which ended in state `ds`, still holds t back (the count in
  /// deps_left_) or blocks it for good (`blocked`: t is skipped).
  void count_dependency(TaskIndex t, TaskIndex d, bool& blocked);
  void finalize(TaskIndex t, TaskState s);
  bool has_room(const Worker& w, TaskIndex t) const;
  bool memory_free(const Worker& w, TaskIndex t) const;
  bool memory_fits(const Worker& w, TaskIndex t) const;
  bool commands_full(const Worker& w) const;
  bool functions_full(const Worker& w) const;
  bool full(const Worker& w) const;
  bool no_more_for(const Worker& w) const;
  bool fits_some_worker(TaskIndex t) const;
  void learn_duration(Worker& w, TaskIndex t, const TaskResult& r);
  void add_dependant(TaskIndex of, TaskIndex dependant);
  template <class F>
  void for_each_dependant(TaskIndex t, F&& f) const;
  uint32_t prefetch(const Worker& w) const;  // the most: for tasks without a memory request
  uint32_t base_prefetch(const Worker& w) const;
  void unhold(WorkerId w, TaskIndex t);
  void mark_hungry(WorkerId w, bool front = false);
  bool pop_hungry(WorkerId* id);
  // Inline: called several times per task (callgrind: 26 instructions a call out of line).
  Worker& worker(WorkerId w) { return w < workers_.size() ? workers_[w] : add_worker_slot(w); }
  Worker& add_worker_slot(WorkerId w);
  void plan_steals(std::vector<StealRequest>& steals);
  bool fits_time(TaskIndex t);
  void learn_command_duration(double seconds);
  void release_cancelled(WorkerId w, TaskIndex t);

  TaskTable& table_;
  SchedulerOptions options_;
  Csr dependants_;  // of the rows the scheduler was built with
  // Dependants added by add_tasks, as linked lists in arrays: late_head_[row] is the first edge of
  // the row's list (kNoEdge when empty), late_next_ chains them, late_to_ is the dependant.
  static constexpr uint32_t kNoEdge = UINT32_MAX;
  std::vector<uint32_t> late_head_;
  std::vector<uint32_t> late_next_;
  std::vector<TaskIndex> late_to_;
  std::vector<uint32_t> critical_path_;
  std::vector<uint32_t> deps_left_;      // dependencies not yet done
  std::vector<uint8_t> on_worker_;       // 1 while assigned or running somewhere
  std::vector<TaskIndex> changed_;       // see take_changed()
  std::vector<EarlierAttempt> earlier_;  // see take_earlier_attempts()
  // Empty task lists of earlier assignments, kept with their capacity for the next ones (dispatch):
  // a list allocated and freed per assignment was about a ninth of a decision's instructions.
  std::vector<std::vector<TaskIndex>> spare_lists_;
  ReadyQueue<ReadyEntry> ready_;
  std::vector<Worker> workers_;  // indexed by WorkerId
  std::vector<Node> nodes_;      // indexed by Worker::node
  // Workers with room, in the order they got it. An entry is current while its worker is hungry and
  // its generation is the worker's; others are stale and skipped when they surface.
  struct HungryEntry {
    WorkerId id;
    uint32_t gen;
  };
  bool current(const HungryEntry& e) const noexcept {
    return workers_[e.id].hungry && workers_[e.id].hungry_gen == e.gen;
  }
  std::deque<HungryEntry> hungry_;
  // The hungry workers that hold nothing, in the order they became idle: after a steal reply the
  // returned tasks go to them first. Entries are also in hungry_; a lane of its own costs O(1) per
  // worker where re-partitioning hungry_ at each steal reply cost O(workers) (docs/design.md §4).
  std::deque<HungryEntry> idle_lane_;
  bool idle_first_ = false;       // serve idle_lane_ first (tasks came back from a steal)
  std::vector<WorkerId> parked_;  // room, but no ready task fitted them at the last look
  uint64_t ready_pushes_ = 0;     // tasks made ready so far
  uint64_t parked_at_ = 0;        // ready_pushes_ when a worker was last parked
  size_t pending_steals_ = 0;     // steal requests not yet answered
  size_t idle_workers_ = 0;       // joined workers that hold no task
  size_t hungry_workers_ = 0;     // workers with room, waiting in a lane for a dispatch
  // (unstarted tasks, worker), pushed when a worker's count grows; stale entries checked on pop.
  std::priority_queue<std::pair<uint32_t, WorkerId>> victims_;
  std::vector<TaskIndex> finalized_;
  std::array<uint64_t, kTaskStateCount> counts_{};
  uint64_t command_tasks_ = 0;
  uint64_t function_rows_ = 0;    // rows that are function tasks
  uint64_t ready_functions_ = 0;  // function tasks in state ready
  uint64_t ready_commands_ = 0;   // command tasks in state ready
  size_t final_count_ = 0;        // rows (barriers included) in a final state
  size_t in_flight_ = 0;
  bool stopped_ = false;
  SchedulerStats stats_;
  // Time-aware dispatch: the time left, the ready tasks held back for it, and a histogram of done
  // command tasks' durations in half-octave buckets from 1 ms (one increment per finished task).
  double time_left_ = std::numeric_limits<double>::infinity();
  std::vector<TaskIndex> time_held_;
  std::array<uint64_t, kDurationBuckets> duration_buckets_{};
  uint64_t duration_samples_ = 0;
  double longest_duration_ = 0;
  double expected_floor_ = 0;  // the 10th percentile, recomputed when durations_dirty_
  bool durations_dirty_ = false;
};

}  // namespace mpiq::core
