#pragma once
/// The hub rank's event loop: owns the task table and the scheduler, talks to every worker in
/// batches, and tells a RunRecorder what to make durable. One loop, no blocking calls: messages are
/// polled and the loop sleeps with a back-off capped at 1 ms.

#include <functional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/scheduler.hpp"
#include "core/task_file.hpp"
#include "core/task_output.hpp"
#include "hub/log.hpp"
#include "mpi/transport.hpp"

namespace mpiq::hub {

/// Where the hub's state goes: the journal, the snapshot and status.json of a run directory (the run
/// command's RunDirectory), or nowhere (tests).
class RunRecorder {
 public:
  virtual ~RunRecorder() = default;
  /// Rows that reached a final state since the last call (for the journal).
  virtual void finalized(const core::TaskTable& table, std::span<const core::TaskIndex> rows) = 0;
  /// A full snapshot is due: the checkpoint timer, SIGUSR1, a stop, the end of the run.
  virtual void snapshot(const core::TaskTable& table) = 0;
  /// The live status document (status.json), rewritten on a timer and at the end.
  virtual void status(const std::string& json) = 0;
  /// Rows [first_row, table.size()) were added during the run (for the journal). A recorder that
  /// never sees added tasks may ignore it.
  virtual void appended(const core::TaskTable& table, core::TaskIndex first_row) {
    (void)table;
    (void)first_row;
  }
  /// Rows not in a final state whose runtime columns must be durable now (for the journal): tasks that
  /// started, went back to `ready`, or counted a crash at load (docs/design.md §3). A recorder that
  /// never resumes may ignore it.
  virtual void changed(const core::TaskTable& table, std::span<const core::TaskIndex> rows) {
    (void)table;
    (void)rows;
  }
  /// Tries that the table's rows no longer hold (core::Scheduler::take_earlier_attempts), to keep for
  /// the report (journal and snapshot). The hub calls changed() right after (with no rows when none
  /// changed), which may write them together with the rows. A recorder that keeps no report may
  /// ignore them.
  virtual void earlier_attempts(std::span<const core::EarlierAttempt> attempts) { (void)attempts; }
};

class Hub;

/// Watches the run from the hub's thread and feeds it tasks that arrive during it (the embedding
/// API's hooks and submissions from other threads; the run directory's inbox). Every call happens on
/// the thread that runs Hub::run, between two turns of its loop; an observer may call Hub::add_tasks.
class HubObserver {
 public:
  virtual ~HubObserver() = default;
  /// `tasks` were sent to `worker` in one message.
  virtual void sent(int worker, std::span<const core::TaskIndex> tasks) {
    (void)worker;
    (void)tasks;
  }
  /// `task` started on `worker` (only reported for function tasks when wants_starts()).
  virtual void started(core::TaskIndex task, int worker) {
    (void)task;
    (void)worker;
  }
  /// These rows reached a final state (after the recorder has journalled them).
  virtual void finalized(std::span<const core::TaskIndex> rows) { (void)rows; }
  /// Whether workers should report the start of each function task (it costs a message entry each).
  virtual bool wants_starts() const { return false; }
  /// Once per turn of the loop, before dispatch: append the tasks that arrived since the last turn to
  /// the table and pass them to hub.add_tasks.
  virtual void poll(Hub& hub) { (void)hub; }
  /// While true, the run does not end when every task has ended: more may still arrive.
  virtual bool keeps_open() const { return false; }
};

/// Running tasks (and, apart, queued tasks) that status.json lists one by one; past this many only
/// its counts say how many there are.
inline constexpr size_t kStatusTaskRows = 1000;

struct HubOptions {
  core::SchedulerOptions scheduler;
  /// Seconds between status.json rewrites (docs/design.md §8); 0 = only at the end.
  double status_interval_s = 1;
  double checkpoint_interval_s = 60;
  /// Stop (save, exit 3) at this CLOCK_MONOTONIC time; 0 = no limit. The run command derives it
  /// from --time-limit or Slurm's end time minus --stop-margin.
  double deadline = 0;
  std::string out_dir;  ///< where task output is, for messages and status.json
  std::string run_dir;  ///< the run directory, for messages ("" = none)
  core::TaskOutput task_output = core::TaskOutput::stream;  ///< how task output is kept
  std::string host;                                         ///< the hub's host, for status.json
  size_t summary_failures = 5;                              ///< failed tasks listed in the summary
  /// Slurm jobs that have worked on this run, oldest first (status.json `slurm.job_ids`); empty
  /// outside Slurm.
  std::vector<std::string> slurm_job_ids;
  std::string slurm_nodelist;  ///< SLURM_JOB_NODELIST of this job
  /// Report progress on stderr: a line redrawn in place every second when `progress_redraw` (a
  /// terminal), else one plain line every `progress_interval_s` (mpirun's and srun's pipes, Slurm
  /// .out files), docs/design.md §8.
  bool progress = false;
  /// The hub sends every worker a heartbeat this often (docs/design.md §12).
  double heartbeat_interval_s = 0.5;
  /// A worker the hub has not heard from for this long is lost: the run stops (exit 3) and its running
  /// tasks count a crash on resume. Generous: a worker stuck that long in a slow file system's sync
  /// is not lost, and stopping the run for it costs a resume (a launcher usually ends the job first).
  double worker_silence_s = 30;
  bool progress_redraw = false;
  double progress_interval_s = 30;
  /// The task file's `#MPIQ pernode` commands (docs/design.md §2), run by the first worker of every
  /// node: start before the node's workers get a task, stop after their last.
  core::NodeCommands pernode;
  /// A node's stop command, run during a stop (a signal, the time limit), is ended after this long.
  uint32_t pernode_stop_timeout_s = 60;
  /// A stop signal drains the run (`mpiq run --drain`): no task starts any more, running ones
  /// finish, then the state is saved (exit 3). A second signal, or the time limit, ends them.
  bool drain_on_signal = false;
};

/// What Hub::cancel did, by the state each task was in.
struct CancelSummary {
  uint64_t waiting = 0;  ///< not on a worker yet (waiting or ready): cancelled without running
  uint64_t queued = 0;   ///< in a worker's queue: dropped there
  uint64_t running = 0;  ///< running: TERM now, KILL after the grace period
  uint64_t final = 0;    ///< already done, failed, skipped or cancelled: left as they were
  uint64_t skipped = 0;  ///< dependants skipped because of the cancel
};

/// What one worker told the hub, and what the hub counted of it.
struct WorkerRow {
  int rank = 0;
  bool joined = false, left = false;
  bool lost = false;      ///< silent for longer than HubOptions::worker_silence_s
  double last_heard = 0;  ///< CLOCK_MONOTONIC time of its last message
  uint8_t owed_stop = 0;  ///< a stop it was too quiet to be sent: 1 let tasks finish, 2 end them
  std::string host, cpus, gpus;
  uint32_t cores = 0, gpu_count = 0;
  uint64_t mem_kb = 0;  ///< its node's memory budget, KiB (0 = unknown)
  uint32_t node = 0;    ///< its node's number in the scheduler (Scheduler::set_worker_node)
  uint64_t done = 0;  ///< attempts that ended on it (any outcome)
  double busy_s = 0;  ///< seconds its tasks ran, summed
};

/// A node that has workers, and where its `#MPIQ pernode` commands are (docs/design.md §2).
struct NodeState {
  enum class Step : uint8_t { none, running, done, failed };
  std::string host;
  std::vector<int> ranks;  ///< its workers, ascending; the first one runs the node's commands
  Step start = Step::none, stop = Step::none;
  std::string start_why, stop_why;  ///< how a command that did not succeed ended
};
std::string_view to_string(NodeState::Step s);

class Hub {
 public:
  Hub(transport::Transport& net, core::TaskTable& table, HubOptions options, Log& log, RunRecorder* recorder);

  /// Sets the observer (may be null); call before run().
  void set_observer(HubObserver* observer) noexcept { observer_ = observer; }
  /// Rows [first_row, table.size()) were just appended to the table: they join the run (and the
  /// journal). Call before run() or from the hub's thread during it (an observer's callback).
  void add_tasks(core::TaskIndex first_row);

  /// Cancels `rows` (`mpiq cancel`, docs/design.md §8): each becomes `cancelled` and its dependants
  /// `skipped`, journalled before this returns; the workers that hold some are told to drop or end
  /// them (TERM, KILL after `grace_s`). Call from the hub's thread (an observer's poll).
  CancelSummary cancel(std::span<const core::TaskIndex> rows, double grace_s);
  /// Starts no more tasks; running ones finish; then the run saves its state and exits 3 (0 or 1
  /// when every task has ended by then). `why` goes to the log.
  void drain(std::string_view why);
  bool draining() const noexcept { return drained_; }
  /// Whether a write found the disk full during the run (which then stops with exit 3).
  bool disk_full() const noexcept { return disk_full_; }
  /// Whether a worker could not write its task output for another reason (the run stops, exit 3).
  bool output_failed() const noexcept { return output_failed_; }

  /// Runs the batch to its end and returns the exit code of docs/design.md §8: 0 all done, 1 some failed or
  /// skipped (or never ran after --fail-fast), 2 a task fits no worker (nothing ran), 3 stopped early.
  int run();

  /// The status document as JSON text (docs/design.md §8); `state` is running, finished or stopped.
  /// `exit_code` is the run's once it has ended (-1 while it runs).
  std::string status_json(std::string_view state, int exit_code = -1) const;
  /// The end-of-run summary for people: counts, wall time, rate, the first failures.
  std::string summary() const;
  /// Why the run began to stop ("the hub received SIGTERM", the job's time limit, a drain); "" when
  /// it did not stop early.
  const std::string& stop_reason() const noexcept { return stop_reason_; }
  const core::Scheduler& scheduler() const noexcept { return scheduler_; }
  const std::vector<WorkerRow>& workers() const noexcept { return workers_; }
  /// The nodes in the order of their first worker's rank (known once every worker said hello).
  const std::vector<NodeState>& nodes() const noexcept { return nodes_; }

 private:
  bool wait_for_workers();
  /// Groups the workers by node and sends each node's first worker its pernode start command.
  void start_nodes();
  /// The end of a node's pernode start or stop command (a report row kNodeStartTask/kNodeStopTask).
  void on_node_command(int rank, const core::TaskResult& f);
  /// The index of `rank`'s node in nodes_, or nodes_.size().
  size_t node_of(int rank) const;
  core::TaskOrder node_order(size_t node, bool start, bool in_stop) const;
  /// The stop message for `rank`: with its node's stop command when it runs the node's commands.
  core::Stop stop_for(size_t rank, bool kill_running) const;
  void handle(const transport::Message& m);
  void on_report(int rank, const core::Report& r);
  void on_finished(int rank, core::TaskResult f);
  void send_dispatch();
  void record_finalized();
  void begin_stop(bool kill_running, std::string_view why);
  /// Runs `write` (a call of the recorder, or of the observer, which may journal); a DiskFull it throws
  /// becomes a stop (on_disk_full). Other errors pass.
  template <class Write>
  void recording(Write&& write);
  /// A write found the disk full (`what`: the path and errno's text): the run stops as for a signal,
  /// running tasks are ended and count as interrupted, and the state is saved as far as there is room
  /// (the journal keeps unwritten records and tries them again). Said once.
  void on_disk_full(std::string_view what);
  void on_stop_signal(int sig, std::string_view who);
  int exit_code() const;
  void timers(double now);
  void heartbeats(double now);
  /// Not heard from for longer than its heartbeat interval allows: possibly dead, not written to.
  bool quiet(const WorkerRow& w, double now) const;
  static constexpr double kQuietAfter = 1.5;
  void record_changed();
  void draw_progress(double now, bool last);
  /// Where a user finds row t's stdout (or stderr): a file, or the `mpiq cat` command that prints it.
  std::string output_of(core::TaskIndex t, bool err) const;

  transport::Transport& net_;
  core::TaskTable& table_;
  HubOptions options_;
  Log& log_;
  RunRecorder* recorder_;
  HubObserver* observer_ = nullptr;
  core::Scheduler scheduler_;
  std::vector<WorkerRow> workers_;  // indexed by rank; rank 0 (the hub) unused
  std::vector<NodeState> nodes_;
  /// The scheduler's node numbers by host, in the order hosts said hello: workers of one host share
  /// its memory budget (docs/design.md §2).
  std::unordered_map<std::string, uint32_t> memory_nodes_;
  size_t byes_ = 0;
  size_t lost_ = 0;  // workers lost and not heard from again
  double next_heartbeat_ = 0, last_turn_ = 0;
  bool stop_sent_ = false;
  bool interrupted_ = false;               // a signal, an interrupt message or the deadline
  bool drained_ = false;                   // drain(): dispatch ended, running tasks finish
  std::string stop_reason_;                // why the run began to stop (the first reason), "" if not
  bool disk_full_ = false;                 // a write found the disk full: the run stops
  bool output_failed_ = false;             // a worker's output stream failed otherwise: the run stops
  std::vector<core::TaskIndex> failures_;  // final failures in order, for status and the summary
  uint64_t finished_this_run_ = 0;
  double start_wall_ = 0, start_mono_ = 0;
  double next_status_ = 0, next_checkpoint_ = 0, next_progress_ = 0, next_time_check_ = 0;
  int signals_seen_ = 0;  // stop signals this process had received at the last look
  std::vector<core::Assignment> assignments_;
  std::vector<core::StealRequest> steals_;
};

}  // namespace mpiq::hub
