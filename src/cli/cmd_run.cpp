// `mpiq run FILE`: the hub on rank 0 and workers on every other rank, or both in one process when
// there is one rank (no launcher): the hub's loop on the main thread, one worker on a second thread,
// talking over the in-process transport. Same loops, same messages, either way.

#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "cli/commands.hpp"
#include "cli/run_setup.hpp"
#include "store/task_file_io.hpp"
#include "exec/clock.hpp"
#include "exec/guard.hpp"
#include "exec/signals.hpp"
#include "exec/spawn.hpp"
#include "hub/hub.hpp"
#include "hub/inbox.hpp"
#include "hub/run_directory.hpp"
#include "hw/binding.hpp"
#include "hw/cpu_list.hpp"
#include "mpi/mpi_transport.hpp"
#include "store/sha256.hpp"
#include "worker/worker.hpp"

namespace mpiq::cli {

namespace {

std::string host_name() {
  char buf[HOST_NAME_MAX + 1] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

// The Slurm job's end time as Unix time, from `squeue -h -j JOB -o %e` (Slurm 22.05 exports no
// variable with it); nullopt without a limit or when squeue does not answer.
std::optional<double> slurm_end_time(const char* job) {
  auto out = exec::capture_output({"squeue", "-h", "-j", job, "-o", "%e"}, 10.0);
  if (!out) return std::nullopt;
  std::tm tm{};
  tm.tm_isdst = -1;
  if (!strptime(out->c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return std::nullopt;  // "N/A", "Unknown"
  return static_cast<double>(std::mktime(&tm));
}

// Tells every worker to leave and waits until each has: the way out when the hub cannot start (bad
// input found on rank 0), so that every rank exits cleanly with the same code.
void dismiss_workers(transport::Transport& net) {
  for (int r = 1; r < net.size(); ++r) net.send(r, core::MessageKind::stop, core::encode(core::Stop{true}));
  int left = net.size() - 1;
  while (left > 0) {
    transport::Message m;
    if (net.poll(m)) {
      if (m.kind == core::MessageKind::bye) --left;
    } else {
      usleep(200);
    }
  }
  while (!net.progress()) usleep(100);
}

// The hub's side of a run. Returns the exit code.
int run_hub(transport::Transport& net, const RunSettings& s) {
  std::unique_ptr<hub::RunDirectory> dir;
  core::TaskTable table;
  std::vector<std::string> inbox_notes;
  try {
    table = store::load_task_file(s.task_file);
    dir = std::make_unique<hub::RunDirectory>(s.run_dir, s.resume);
    dir->set_task_file(s.task_file, store::sha256_file(s.task_file));
    if (dir->resuming()) table = std::move(dir->restored());
    // Before start(), whose snapshot empties the journal that says which inbox files were taken.
    inbox_notes = hub::Inbox::finish_taken(s.run_dir, dir->replayed_submissions(), table);
    dir->start(table);
    std::error_code ec;
    std::filesystem::create_directories(s.out_dir, ec);
    if (ec) throw InputError("--output " + s.out_dir + ": cannot create the directory: " + ec.message());
  } catch (const InputError& e) {
    std::cerr << "mpiq: " << e.what() << "\n";
    dismiss_workers(net);
    return 2;
  }
  hub::Log log(s.log_level, true);
  if (!log.open_file(s.run_dir + "/hub.log")) std::cerr << "mpiq: cannot open " << s.run_dir << "/hub.log\n";
  log.info("mpiq run " + s.task_file + ": " + std::to_string(table.size()) + " rows, " +
           std::to_string(net.size() - 1) + " worker(s), run directory " + s.run_dir);
  for (const std::string& note : dir->notes()) log.info(note);
  for (const std::string& note : inbox_notes) log.info(note);

  hub::HubOptions ho = s.hub;
  ho.progress = isatty(STDERR_FILENO) != 0;
  log.set_progress_line(ho.progress);
  ho.out_dir = s.out_dir;
  ho.host = host_name();
  ho.slurm_job_ids = dir->slurm_job_ids();
  if (const char* nodes = std::getenv("SLURM_JOB_NODELIST")) ho.slurm_nodelist = nodes;
  if (const char* job = std::getenv("SLURM_JOB_ID")) {
    log.info(std::string("Slurm job ") + job + " on " + ho.slurm_nodelist + ", " +
             (std::getenv("SLURM_CPUS_ON_NODE") ? std::getenv("SLURM_CPUS_ON_NODE") : "?") +
             " CPUs on this node");
    // Stop before Slurm's end time, so the state is saved and the job can be resumed (DESIGN §8).
    if (auto end = slurm_end_time(job)) {
      const double left = *end - exec::wall_now();
      const double at = stop_deadline(left, s.stop_margin_s);
      if (ho.deadline == 0 || at < ho.deadline) ho.deadline = at;
      log.info("the job ends in " + std::to_string(static_cast<long>(left)) + " s; mpiq stops " +
               std::to_string(static_cast<long>(left - (at - exec::mono_now()))) + " s before");
    }
  }
  hub::Hub hub(net, table, ho, log, dir.get());
  hub::Inbox inbox(*dir, table, log);  // task files from `mpiq submit`
  hub.set_observer(&inbox);
  const int code = hub.run();
  dir->close();
  std::cout << hub.summary();
  if (code == 3) std::cout << "  stopped early: run the same command again to resume\n";
  return code;
}

void run_worker(transport::Transport& net, const RunSettings& s, const WorkerSetup& setup) {
  worker::WorkerOptions wo;
  wo.gpu_vendors = setup.gpu_vendors;
  wo.run_dir = s.run_dir;
  wo.out_dir = s.out_dir;
  wo.host = host_name();
  wo.bind = s.bind;
  wo.grace_s = s.grace_s;
  worker::Worker(net, setup.share, wo).run();
}

// Starts the guard that ends this process's tasks if it dies (exec/guard.hpp).
void guard_tasks(const RunSettings& s) {
  std::string error;
  if (!exec::enable_process_guard(s.grace_s, &error))
    std::cerr << "mpiq: warning: tasks may outlive this process if it is killed: " << error << "\n";
}

// One rank: the hub also works, on every core this process may use, as a second thread.
int run_alone(const RunSettings& s) {
  const WorkerSetup setup = worker_setup_for(s, 0, 1);
  guard_tasks(s);
  transport::LocalNetwork network(2);
  auto hub_end = network.endpoint(0);
  auto worker_end = network.endpoint(1);
  std::thread worker([&] { run_worker(*worker_end, s, setup); });
  const int code = run_hub(*hub_end, s);
  worker.join();
  return code;
}

int run_command(const RunSettings& s) {
  exec::install_stop_handlers();
  if (!transport::launched_by_mpi()) return run_alone(s);

  // Open MPI starts each rank in a process group of its own, so a kill of mpirun (even -9) would leave
  // the ranks running on, unseen. A rank ends with its launcher instead: SIGTERM, the same graceful
  // stop as a forwarded signal.
  const pid_t launcher = getppid();
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != launcher) raise(SIGTERM);  // the launcher died before the line above
  static int argc = 0;
  static char** argv = nullptr;
  transport::MpiSession mpi(&argc, &argv);
  try {
    transport::MpiTransport net;
    if (mpi.world_size() == 1) return run_alone(s);  // a launcher with one rank: the same as none
    // Every rank of a node says how the launcher bound it (one collective, before any loop starts).
    const auto bindings = mpi.node_allgather(hw::cpu_list(hw::this_thread_binding()));
    // Every rank exits with the hub's code: mpirun and srun report the first or highest rank's code,
    // and a worker's 0 must not hide (or race with) the hub's 1, 2 or 3.
    if (mpi.world_rank() == 0) return mpi.broadcast_from_hub(run_hub(net, s));
    // The hub has no share of its node: the workers on its node split it among themselves.
    const int skip = mpi.hub_on_node() ? 1 : 0;
    std::vector<std::vector<int>> worker_bindings;
    for (size_t i = static_cast<size_t>(skip); i < bindings.size(); ++i)
      worker_bindings.push_back(hw::parse_cpu_list(bindings[i]));
    WorkerSetup setup;
    try {
      setup = worker_setup_for(s, mpi.local_rank() - skip, mpi.local_size() - skip, worker_bindings);
    } catch (const InputError& e) {
      std::cerr << "mpiq: rank " << mpi.world_rank() << ": " << e.what() << "\n";
      mpi.abort(2);
    }
    guard_tasks(s);
    run_worker(net, s, setup);
    return mpi.broadcast_from_hub(0);
  } catch (const std::exception& e) {
    std::cerr << "mpiq: rank " << mpi.world_rank() << ": " << e.what() << "\n";
    mpi.abort(1);
  }
}

}  // namespace

void add_run_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("run", "Run a task file: rank 0 is the hub, every other rank a worker");
  auto opts = std::make_shared<RunOptions>();
  register_run_options(*cmd, *opts);
  cmd->callback([opts, exit_code] { *exit_code = run_command(resolve_run_options(*opts)); });
}

}  // namespace mpiq::cli
