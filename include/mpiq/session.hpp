#pragma once
/// The embedding API's entry point: one Session per process, on every rank of the MPI job (or alone,
/// with no launcher). Rank 0 is the hub: it submits tasks and gets results. Every other rank is a
/// worker that runs them. With one rank the hub and one worker share the process.

#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mpiq/exit_code.hpp"
#include "mpiq/task.hpp"
#include "mpiq/worker.hpp"

namespace mpiq {

/// Settings of a session; the command-line options Session takes out of argv override them.
struct SessionOptions {
  /// Run directory (checkpoint.h5, journal, status.json, out/, hub.log): what makes the run durable
  /// and resumable. "" = none, unless a task file is loaded: then `<file stem>.mpiq`. (`--run-dir`)
  std::string run_dir;
  /// Start over in an existing run directory, keeping its state as *.prev. (`--fresh`)
  bool fresh = false;
  /// Rebuild a worker object after this many tasks (post_work, destructor, constructor, pre_work);
  /// 0 = never. A kind's own setting overrides it. (`--recycle-after N`)
  uint32_t recycle_after = 0;
  /// Seconds a function task may run; 0 = no limit. A task's own timeout overrides it. (`--task-timeout`)
  double task_timeout_s = 0;
  /// Function tasks a worker holds at once; 0 = adaptive (about 50 ms of work). (`--function-window`)
  uint32_t function_window = 0;
  /// Stop dispatching at the first task that fails for good. (`--fail-fast`)
  bool fail_fast = false;
  double checkpoint_interval_s = 60;  ///< seconds between snapshots
  double status_interval_s = 1;       ///< seconds between status.json rewrites
  double grace_s = 10;                ///< TERM-to-KILL time of commands; stop-to-abandon time of functions
  std::string log_level = "warn";     ///< error, warn, info or debug (`--log-level`)
};

/// Options of a task kind.
struct KindOptions {
  /// Rebuild the object after this many tasks; 0 = the session's recycle_after.
  uint32_t recycle_after = 0;
};

class Session {
  struct Impl;

 public:
  /// Starts MPI when the program was started by a launcher (mpirun, srun), and takes mpiq's options
  /// out of argv (`--run-dir DIR`, `--fresh`, `--recycle-after N`, `--task-timeout SECONDS`,
  /// `--function-window N`, `--fail-fast`, `--log-level L`). Throws mpiq::InputError for a bad value.
  Session(int& argc, char**& argv, SessionOptions options = {});
  /// Without a command line.
  explicit Session(SessionOptions options = {});
  /// Ends MPI if the session started it. A worker object whose call was abandoned is left as it is.
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// True on the rank that submits and gets results (rank 0).
  bool is_hub() const noexcept;
  /// This process's MPI rank (0 without a launcher) and the job's size.
  int rank() const noexcept;
  int size() const noexcept;

  /// Registers task kind `name` on this rank: `make` builds its worker object. Every rank must
  /// register the kinds it may be sent; registering the same kinds everywhere is simplest.
  void register_kind(std::string name, std::function<std::unique_ptr<TaskWorker>()> make,
                     KindOptions options = {});
  /// Registers `W` (default-constructible, derived from TaskWorker) as kind `name`.
  template <class W>
  void register_kind(std::string name, KindOptions options = {}) {
    register_kind(
        std::move(name), [] { return std::unique_ptr<TaskWorker>(new W()); }, options);
  }
  /// Registers a stateless kind: a function of (context, payload) returning the result bytes.
  void register_function(std::string name, std::function<std::string(TaskContext&, std::string_view)> fn,
                         KindOptions options = {});

  // --- Hub only (rank 0): each throws mpiq::Error on a worker rank. ---

  /// Adds the command tasks of a task file (docs/design.md §2) to the run. At most one, before any submit().
  /// Function tasks may then depend on its tasks by line number or name. Throws mpiq::InputError.
  void load_task_file(const std::string& path);
  /// Adds a function task of `kind` with `payload` (at most kMaxPayloadBytes) and returns its id.
  /// Thread-safe: callable before run() and during it, from a hook (on the hub's thread) or from any
  /// other thread of rank 0's process; a task submitted from another thread joins the run at the hub's
  /// next turn (within a few milliseconds). A thread that submits during the run should hold() the
  /// session, or the run may end before its submissions arrive. Throws mpiq::InputError for a payload
  /// too large, an unknown dependency or a duplicate name, and mpiq::Error once run() has returned.
  TaskId submit(std::string_view kind, std::string_view payload, const TaskOptions& options = {});
  /// Optional: makes room for `tasks` more submissions, so that submitting millions of tasks one at a
  /// time does not copy the task table as it grows (about 40% of submit()'s time for 2,000,000).
  void reserve(size_t tasks);
  /// submit(), and a future that gets the task's Result when it ends.
  std::future<Result> submit_future(std::string_view kind, std::string_view payload,
                                    const TaskOptions& options = {});
  /// The id of the task named `name`, if there is one. Thread-safe.
  std::optional<TaskId> find(std::string_view name) const;
  /// The result of task `id` once it has ended (this run or, resumed, an earlier one). During run(),
  /// only on the hub's thread (in a hook); other threads use submit_future. Throws mpiq::Error otherwise.
  std::optional<Result> result(TaskId id) const;

  /// While a Hold lives, run() does not end when every task submitted so far has ended: it waits
  /// for more. For a producer thread that submits during the run: take the hold before run() starts
  /// (or before the last task can end), destroy it or call release() when the thread is done.
  class Hold {
   public:
    Hold(Hold&& other) noexcept;
    Hold& operator=(Hold&& other) noexcept;
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    ~Hold();
    /// Lets the run end (once every other hold is released too and every task has ended).
    void release() noexcept;

   private:
    friend class Session;
    explicit Hold(Impl* impl);
    Impl* impl_ = nullptr;
  };
  /// A hold on the run (hub only; thread-safe).
  Hold hold();

  /// Hooks, called on the hub's thread: when a task is sent to a worker, when it starts there (this
  /// asks workers for a start report per function task, which costs throughput), when it ends. A hook
  /// may submit() more tasks. Set them before run().
  void on_send(std::function<void(const TaskInfo&)> hook);
  void on_start(std::function<void(const TaskInfo&)> hook);
  void on_end(std::function<void(const Result&)> hook);

  /// Runs until every task has ended (hub) or the hub lets this rank go (workers). Returns, on every
  /// rank, how the run ended (docs/design.md §8): done, failed (some tasks failed or were skipped),
  /// bad_input (nothing ran), stopped (a signal or the Slurm job's end; the state is saved: run the
  /// program again to resume). Call once.
  ExitCode run();

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mpiq
