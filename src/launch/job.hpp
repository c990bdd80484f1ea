#pragma once
/// The ranks of one run and the few collectives its start needs, over MPI or in one process
/// (Caliper's machine_mpi / machine_serial twins). Everything that starts a run — `mpiq run` and
/// mpiq::Session alike — goes through launch::run (launch/launch.hpp) on a Job; nothing else builds
/// the single-process run or calls MPI's collectives.
///
///   MpiJob (job_mpi.cpp): one process per rank; rank 0 is the hub, every other rank a worker.
///   SerialJob (job_serial.cpp): no launcher (or a launcher with one rank): the hub on the calling
///     thread and one worker on a second thread, talking over the in-process network, with every core
///     the process may use.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mpi/transport.hpp"

namespace mpiq::launch {

/// Where a worker rank sits among the worker ranks of its node, which split the node between them.
struct NodePlace {
  int index = 0;  ///< this worker's index among its node's workers
  int count = 1;  ///< worker ranks on the node (the hub is not one)
  /// Each of the node's workers' launcher binding (PU numbers), by index; may be empty.
  std::vector<std::vector<int>> bindings;
};

class Job {
 public:
  virtual ~Job() = default;
  /// This process's rank: 0 is the hub. A serial job is rank 0 of 1 (its worker is a thread).
  virtual int rank() const noexcept = 0;
  virtual int size() const noexcept = 0;
  /// This rank's place on its node, from how the launcher bound each rank of the node (a collective
  /// over the node: every rank calls it, the hub too).
  virtual NodePlace node_place() = 0;
  /// True on every rank when `ok` is true on every rank (a collective).
  virtual bool all_agree(bool ok) = 0;
  /// Every rank's `value`, by rank, on the hub; empty on the other ranks (a collective).
  virtual std::vector<uint64_t> gather_to_hub(uint64_t value) = 0;
  /// The hub's `value`, on every rank (a collective; waiting ranks do not spin).
  virtual std::string broadcast(const std::string& value) = 0;
  /// Runs the event loops: `hub` on the hub rank and `worker` on every worker rank, each over the job's
  /// network. Returns on every rank what `hub` returned (mpirun and srun report one rank's code, and a
  /// worker's 0 must not hide the hub's 1, 2 or 3). An exception from `hub` ends the worker loops first
  /// and is rethrown in a serial job; in an MPI job it is printed and the job aborts with exit 1.
  virtual int run_loops(const std::function<int(transport::Transport&)>& hub,
                        const std::function<void(transport::Transport&)>& worker) = 0;
  /// Ends the whole job at once with `code`, every rank (MPI_Abort; std::exit in a serial job).
  [[noreturn]] virtual void abort(int code) = 0;
};

/// The job this process is part of: an MpiJob when a launcher started it with more than one rank
/// (MPI initialised here, with argc/argv), else a SerialJob. Under a launcher the process also ends
/// with its launcher: a kill of mpirun (even -9) stops it with SIGTERM instead of leaving it running.
std::unique_ptr<Job> make_job(int& argc, char**& argv);

/// The single-process job; it keeps `keep_alive` (an MPI session started by a launcher with one rank)
/// until it is destroyed.
std::unique_ptr<Job> make_serial_job(std::shared_ptr<void> keep_alive = nullptr);

}  // namespace mpiq::launch
