#pragma once
/// One start for every run: `mpiq run` (cli/cmd_run.cpp) and an embedding program (mpiq::Session)
/// describe their run in a RunSpec and call launch::run on their Job. What a run does around the hub
/// and its workers is written here once: stop signals, the guard of command tasks, each worker's
/// share of its node, the run directory's start, hub.log, the Slurm job's end time, the inbox, the
/// exit code on every rank.
///
/// Order, on every rank of the job:
///   1. stop handlers; each worker rank works out its share of its node (--worker-cores etc.);
///   2. every rank agrees that every worker could (else every rank returns 2: a bad setting);
///   3. the hub rank prepares the run (RunSpec::prepare: read the task file, open the run directory)
///      and starts its run directory; an InputError there is printed and every rank returns 2, with
///      nothing changed on disk; otherwise the hub tells every rank where the run's files are;
///   4. the guard starts on worker ranks; the loops run (Job::run_loops); every rank returns the hub's
///      code (docs/design.md §8: 0 done, 1 failed or skipped, 2 bad input, 3 stopped early).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/requests.hpp"
#include "core/task_output.hpp"
#include "core/task_table.hpp"
#include "hub/hub.hpp"
#include "hub/log.hpp"
#include "hub/run_directory.hpp"
#include "launch/job.hpp"
#include "mpiq/exit_code.hpp"
#include "worker/function_runner.hpp"

namespace mpiq::launch {

/// What every worker rank needs; the same on every rank.
struct WorkerConfig {
  std::string topology_xml;  ///< "" = this machine's topology
  uint32_t cores = 0;        ///< cores each worker uses; 0 = its whole share (--worker-cores)
  int gpus = -1;             ///< GPUs each worker uses; -1 = its whole share (--worker-gpus)
  bool bind = true;          ///< bind each task to its cores (--bind)
  std::string shell;         ///< the shell for shell syntax, resolved (exec::resolve_shell); "" = /bin/sh
  double grace_s = 10;       ///< TERM-to-KILL time of commands
  bool drain_on_signal = false;  ///< --drain (a stop is hurried by the third signal, not the second)
  core::TaskOutput output = core::TaskOutput::stream;         ///< where task output goes (--task-output)
  std::shared_ptr<const worker::FunctionSettings> functions;  ///< task kinds of an embedding program
};

/// The run as the hub rank has prepared it (RunSpec::prepare).
struct HubRun {
  core::TaskTable* table = nullptr;      ///< the tasks; the hub's thread owns it while the run lasts
  hub::RunDirectory* dir = nullptr;      ///< null: no run directory (an embedded run without one)
  std::string out_dir;                   ///< task output; "" = `dir`/out
  std::string what;                      ///< for hub.log's first line: "mpiq run tasks.txt", a program name
  hub::HubObserver* observer = nullptr;  ///< watches the hub besides the inbox (the embedding session)
  core::NodeCommands pernode;            ///< the task file's `#MPIQ pernode` commands
  /// Wraps each taking of inbox files (Inbox::poll), on the hub's thread: an embedding session takes
  /// its lock around it, since other threads read the table. Null: called as it is.
  std::function<void(const std::function<void()>& take)> inbox_guard;
  /// Told the hub before it runs and nullptr after (an embedding session's submit() on the hub's
  /// thread adds tasks to it).
  std::function<void(hub::Hub*)> attach;
};

/// The hub's side of a run.
struct HubConfig {
  hub::HubOptions options;  ///< out_dir, host, Slurm fields and the progress flag are filled in here
  hub::LogLevel log_level = hub::LogLevel::info;
  double stop_margin_s = 120;  ///< stop this long before the Slurm job's end
  bool summary = false;        ///< print the end-of-run summary on stdout (`mpiq run`)
};

struct RunSpec {
  WorkerConfig worker;
  HubConfig hub;
  /// On the hub rank only, before any loop starts: read the tasks, check them against `workers` (what
  /// each worker rank can give one task: core::find_unmet_request), open the run directory (not
  /// start() it; launch does). Throw InputError for bad input. The objects it points to must live
  /// until run() returns.
  std::function<HubRun(const std::vector<core::WorkerCapacity>& workers)> prepare;
};

/// A launch mistake (docs/design.md §12): Slurm says the step has more tasks (SLURM_NTASKS, or
/// SLURM_NPROCS) than MPI has ranks (`world_size`), which is what srun without PMI does (it starts
/// every task as an MPI job of one rank: as many hubs as tasks, racing for one run directory) and
/// what `mpiq run` without srun in a job of several tasks does. Returns the message with the hint, or
/// "" when the launch is right. `env` reads a variable (nullptr when unset). A command that a task of
/// mpiq runs (MPIQ_TASK_ID set) is never a mistake: it inherits its job's variables.
std::string launch_mistake(int world_size, const std::function<const char*(const char*)>& env);

/// Runs `spec` on `job`: see the order above. Returns the run's exit code on every rank.
ExitCode run(Job& job, const RunSpec& spec);

/// The CLOCK_MONOTONIC time at which to stop when `seconds_left` remain before a hard end: `margin`
/// before it, but never more than half the time left (a 1-minute job with the 2-minute default margin
/// still gets 30 s of work).
double stop_deadline(double seconds_left, double margin);

}  // namespace mpiq::launch
