#pragma once
/// The worker rank's event loop: receives batches of tasks from the hub, runs each as a child
/// process bound to the cores and GPUs it was given, enforces timeouts, and reports starts and ends
/// in batches. It owns no durable state: everything it knows the hub can rebuild.

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/local_queue.hpp"
#include "core/resources.hpp"
#include "exec/spawn.hpp"
#include "mpi/transport.hpp"
#include "worker/function_runner.hpp"

namespace mpiq::worker {

struct WorkerOptions {
  std::string run_dir;  ///< absolute path of the run directory (MPIQ_RUN_DIR); "" = none
  std::string out_dir;  ///< absolute path where <id>.out and <id>.err go
  std::string host;     ///< this node's name (MPIQ_HOST)
  bool bind = true;     ///< bind each task to its cores (`--bind core`), or not (`--bind none`)
  double grace_s = 10;  ///< seconds between TERM and KILL for a task that timed out or is stopped
  int hub = 0;          ///< the hub's rank
  /// GPU vendors of the node (Topology::gpu_vendors()): every task gets their visibility variables,
  /// empty when it was given no GPU, so it cannot grab one given to another task.
  std::vector<std::string> gpu_vendors;
  /// The task kinds this rank can run (the embedding API); null = none: a function task then fails.
  std::shared_ptr<const FunctionSettings> functions;
};

class Worker {
 public:
  Worker(transport::Transport& net, core::WorkerShare share, WorkerOptions options);

  /// Says hello, then runs tasks until the hub sends stop and every task has ended and been
  /// reported; says bye last.
  void run();

 private:
  struct Child {
    exec::Child process;
    double wall_start = 0;
  };
  void handle(const transport::Message& m);
  void start_ready_tasks();
  void start(core::LocalQueue::Next next);
  std::vector<std::string> task_environment(const core::TaskOrder& o, const core::Allocation& a) const;
  void wait_for_events(int64_t timeout_ns);
  void reap(core::TaskIndex task);
  void enforce_deadlines();
  void flush_report();
  void collect_functions();

  transport::Transport& net_;
  core::WorkerShare share_;
  WorkerOptions options_;
  core::LocalQueue queue_;
  std::vector<std::string> base_env_;
  std::vector<int> own_binding_;  // this thread's binding, restored after each bound spawn
  std::unordered_map<core::TaskIndex, Child> children_;
  core::Report report_;
  std::unique_ptr<FunctionRunner> functions_;
  std::vector<FunctionRunner::Finished> function_finished_;
  core::FunctionReportWriter function_report_;
  bool stopping_ = false;
  bool interrupt_sent_ = false;
  bool progress_ = false;  // something happened in this turn of the loop
};

}  // namespace mpiq::worker
