#pragma once
/// The worker rank's event loop: receives batches of tasks from the hub, runs each as a child
/// process bound to the cores and GPUs it was given, enforces timeouts, and reports starts and ends
/// in batches. It owns no durable state: everything it knows the hub can rebuild.

#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/local_queue.hpp"
#include "core/resources.hpp"
#include "core/task_output.hpp"
#include "exec/orphans.hpp"
#include "exec/spawn.hpp"
#include "mpi/transport.hpp"
#include "store/output_stream.hpp"
#include "worker/function_runner.hpp"

namespace mpiq::worker {

struct WorkerOptions {
  std::string run_dir;  ///< absolute path of the run directory (MPIQ_RUN_DIR); "" = none
  std::string out_dir;  ///< absolute path of the task output: this rank's stream, or <id>.out and <id>.err
  core::TaskOutput output = core::TaskOutput::stream;  ///< --task-output
  uint32_t run_number = 0;  ///< the run directory's restart count, in each output record
  std::string host;         ///< this node's name (MPIQ_HOST)
  bool bind = true;         ///< bind each task to its cores (`--bind core`), or not (`--bind none`)
  double grace_s = 10;      ///< seconds between TERM and KILL for a task that timed out or is stopped
  /// --drain: the first stop signal lets running tasks finish, so it takes one more to hurry a stop.
  bool drain_on_signal = false;
  int hub = 0;  ///< the hub's rank
  /// The shell for commands with shell syntax (exec::resolve_shell: `--shell`, else bash where it
  /// exists, else /bin/sh); "" = /bin/sh.
  std::string shell;
  /// GPU vendors of the node (Topology::gpu_vendors()): every task gets their visibility variables,
  /// empty when it was given no GPU, so it cannot grab one given to another task.
  std::vector<std::string> gpu_vendors;
  /// With no word from the hub for this long, start no new task until it speaks again (docs/design.md
  /// §12): a dead hub would not record what they do. The hub sends a heartbeat every half second.
  double hub_silence_s = 3;
  /// Send the hub a heartbeat this often, so that it can tell this worker from a lost one.
  double heartbeat_interval_s = 1;
  /// This worker samples its node's CPU and memory use (the node's first worker): a line every
  /// kNodeSampleInterval seconds in `run_dir`/node-HOST.usage (none without a run directory), which
  /// `mpiq report` draws. Not in out/, which holds a few files per rank and no more.
  bool sample_node = false;
  /// Its node's memory budget for tasks' mem= (hw::node_memory), KiB, told to the hub; 0 = unknown.
  uint64_t node_mem_kb = 0;
  /// The task kinds this rank can run (the embedding API); null = none: a function task then fails.
  std::shared_ptr<const FunctionSettings> functions;
};

/// Seconds between two samples of a node's use. Each reads /proc/stat and /proc/meminfo and appends
/// one line (tens of microseconds).
inline constexpr double kNodeSampleInterval = 2;

/// A worker keeps its own copies of a task's pipes, to pass the pair on to a later task, while it runs
/// fewer tasks than this (a kept pair is four descriptors a task, not two).
inline constexpr size_t kKeptPipesUpTo = 64;
/// Pipe pairs of ended tasks a worker keeps for its next ones.
inline constexpr size_t kSparePipes = 16;

class Worker {
 public:
  Worker(transport::Transport& net, core::WorkerShare share, WorkerOptions options);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Says hello, then runs tasks until the hub sends stop and every task has ended and been
  /// reported; says bye last.
  void run();

 private:
  struct Child {
    exec::Child process;
    double wall_start = 0;
    core::TaskId id = 0;
    uint32_t element = core::kNoElement;  // of a sweep's element, else kNoElement
    uint32_t attempt = 0;
    uint32_t timeout_s = 0;
    int out = -1, err = -1;  // read ends of the task's stdout and stderr pipes, -1 when closed
    std::string err_tail;    // the end of what it wrote to stderr (core::kStderrTailBytes)
    // The pipes' write ends, kept by the worker so that the pair can serve its next task (reap()
    // says when it may); -1 when the worker closed its copies after the start.
    int out_w = -1, err_w = -1;
  };
  /// A task's stdout and stderr pipes (streams): [0] the read end, non-blocking for the worker's loop,
  /// [1] the write end; every end close-on-exec (the child gets its copies through dup2).
  struct TaskPipes {
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    bool open(std::string* error);
    static void close_pipe(int (&p)[2]);
    void close_write_ends();
    void close_all();
  };
  void handle(const transport::Message& m);
  void start_ready_tasks();
  /// Whether tasks may start now: no stop, no stop signal, and the hub heard from lately.
  bool may_start(double now);
  /// Starts `next`, whose start at `wall` (Unix time) is already reported.
  void start(core::LocalQueue::Next next, double wall);
  /// The variables mpiq sets for the task `o` on `a` (its id, cores, GPUs, ...): what follows base_env_.
  std::vector<std::string> task_environment(const core::TaskOrder& o, const core::Allocation& a) const;
  void wait_for_events(int64_t timeout_ns);
  void reap(core::TaskIndex task);
  void hurry_on_another_signal(double now);
  /// Whether `pid` is the process of a task this worker runs (other than `except`).
  bool runs_task(pid_t pid, core::TaskIndex except = std::numeric_limits<core::TaskIndex>::max()) const;
  void enforce_deadlines();
  void flush_report();
  /// Moves what the task's pipe `fd` holds (at most `budget` bytes; 0 = until it is empty) into this
  /// rank's stream; closes it at end of file and sets it to -1.
  void drain(Child& c, int& fd, store::OutputChannel channel, size_t budget);
  /// Writes `line` into the task's stderr, wherever its output goes (a start failure's reason).
  void task_stderr(core::TaskId id, uint32_t element, uint32_t attempt, const std::string& line);
  store::OutputStream& stream();
  /// Appends to the output stream, unless the disk was found full (then nothing is written any more).
  void append_output(core::TaskId id, uint32_t element, uint32_t attempt, store::OutputChannel channel,
                     std::string_view data);
  /// A write of the stream found the disk full: tells the hub (which stops the run), once.
  void on_output_failed(const std::string& what, bool disk_full);
  void collect_functions();
  /// Ends the processes that left the group of a task that has ended (exec/orphans.hpp); `last`: all.
  void end_orphans(double now, bool last = false);
  /// Appends a sample of the node's use when one is due (or `last`, at the end).
  void sample_node(double now, bool last = false);

  transport::Transport& net_;
  core::WorkerShare share_;
  WorkerOptions options_;
  core::LocalQueue queue_;
  // What every task inherits of the worker's environment (exec/task_environment.hpp), shared by all of
  // them (SpawnRequest::inherited), without the variables set per task. PWD is one of those: the task's
  // directory where it has one, else the worker's own (inherited_pwd_: its PWD, else its directory).
  std::vector<std::string> base_env_;
  std::string inherited_pwd_;
  std::string cwd_;  // the directory mpiq started in: a relative `[@ dir @]` is under it (for PWD)
  std::vector<int> own_binding_;  // this thread's binding, restored after each bound spawn
  std::unordered_map<core::TaskIndex, Child> children_;
  // Pipe pairs of ended tasks that nothing else holds, for the next tasks: a pair made anew and closed
  // after each task cost 40 us of its start here (bench/why.md).
  std::vector<TaskPipes> spare_pipes_;
  exec::Orphans orphans_;
  std::unique_ptr<store::OutputStream> stream_;  // opened at the first byte of output
  core::Report report_;
  std::unique_ptr<FunctionRunner> functions_;
  std::vector<FunctionRunner::Finished> function_finished_;
  core::FunctionReportWriter function_report_;
  bool stopping_ = false;
  bool killing_ = false;        // a stop that ends the running tasks came
  bool hurried_ = false;        // and another stop signal of this rank's own killed them at once
  int signals_seen_ = 0;        // this process's stop signals at the last look
  double last_signal_at_ = -1;  // monotonic time of that look
  std::optional<core::TaskOrder> node_stop_;  // the node's pernode stop command, run before bye
  /// Process groups of this node's pernode start command, left running when it succeeded (a service
  /// it started); ended when the worker ends.
  std::vector<exec::Child> node_services_;
  void end_node_services();
  double last_hub_ = 0;  // CLOCK_MONOTONIC time of the hub's last message
  double next_heartbeat_ = 0;
  bool hub_silent_ = false;  // said so on stderr; cleared when the hub speaks again
  bool interrupt_sent_ = false;
  // Set when a stream write failed (the disk full, or another error: EIO, EROFS, ...). From then on no
  // output is written, and every task that ends is reported interrupted: its output is not whole, so
  // it runs again on resume.
  std::string output_failed_;
  bool progress_ = false;   // something happened in this turn of the loop
  double next_sample_ = 0;  // of the node's use (options_.sample_node)
  uint64_t last_cpu_total_ = 0, last_cpu_idle_ = 0;
};

}  // namespace mpiq::worker
