#include "launch/launch.hpp"

#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>

#include "exec/clock.hpp"
#include "exec/guard.hpp"
#include "exec/host.hpp"
#include "exec/signals.hpp"
#include "exec/spawn.hpp"
#include "exec/task_command.hpp"
#include "hub/inbox.hpp"
#include "hub/observer_list.hpp"
#include "hw/memory.hpp"
#include "hw/shares.hpp"
#include "hw/topology.hpp"
#include "mpiq/error.hpp"
#include "store/output_stream.hpp"
#include "worker/worker.hpp"

namespace mpiq::launch {

namespace {

/// What a worker rank owns and needs to know of its node.
struct WorkerSetup {
  core::WorkerShare share;
  std::vector<std::string> gpu_vendors;  // of the whole node, for the tasks' visibility variables
  uint64_t node_mem_kb = 0;              // what the node's tasks may ask for together (mem=)
};

// This worker's share of its node: the launcher's binding if there is one, else an equal part of the
// node, trimmed by --worker-cores/--worker-gpus. Throws InputError when those ask for too much.
WorkerSetup worker_setup(const WorkerConfig& c, const NodePlace& place) {
  hw::ShareOverrides overrides;
  if (c.cores > 0) overrides.cores = c.cores;
  if (c.gpus >= 0) overrides.gpus = static_cast<uint32_t>(c.gpus);
  const hw::Topology topo = hw::Topology::load(c.topology_xml);
  core::WorkerShare share = hw::worker_share(topo, place.index, place.count, overrides, place.bindings);
  if (share.cores.empty()) {
    // More worker ranks than PUs on this node (an oversubscribed test or laptop run): ranks share
    // PUs round-robin rather than sit idle. Their tasks then compete for those PUs, as they asked.
    const int slots = static_cast<int>(std::max<size_t>(1, topo.pu_count()));
    share = hw::trim_share(hw::split_node(topo, slots)[static_cast<size_t>(place.index % slots)], overrides);
  }
  return {std::move(share), topo.gpu_vendors(), hw::node_memory(topo).kb};
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

// What the hub tells the workers of the run: where its files are, and its restart count.
struct Plan {
  std::string run_dir, out_dir;
  uint32_t run_number = 0;
};
// "ok\n" RUN_NUMBER "\n" RUN_DIR "\n" OUT_DIR; "" = the run does not start (bad input), kDiskFullPlan =
// it does not start for lack of room (a stop: exit 3).
constexpr const char* kDiskFullPlan = "disk full";
std::string encode_plan(const Plan& p) {
  return "ok\n" + std::to_string(p.run_number) + "\n" + p.run_dir + "\n" + p.out_dir;
}
bool decode_plan(const std::string& text, Plan& p) {
  if (text.rfind("ok\n", 0) != 0) return false;
  const size_t a = text.find('\n', 3), b = text.find('\n', a + 1);
  p.run_number = static_cast<uint32_t>(std::stoul(text.substr(3, a - 3)));
  p.run_dir = text.substr(a + 1, b - a - 1);
  p.out_dir = text.substr(b + 1);
  return true;
}

// --fresh: the previous run's task output is kept beside the new one, as its state is (*.prev): the
// run directory's own out/ as out.prev (an older out.prev goes), or, in a directory given with
// --output that may hold other files, each output stream as rank-R.stream.prev.
void keep_previous_output(const std::string& run_dir, const std::string& out_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::path(out_dir) == fs::path(run_dir) / "out") {
    if (!fs::exists(out_dir, ec)) return;
    fs::remove_all(out_dir + ".prev", ec);
    fs::rename(out_dir, out_dir + ".prev", ec);
  } else {
    for (const std::string& p : store::output_stream_paths(out_dir)) fs::rename(p, p + ".prev", ec);
  }
  if (ec)
    throw InputError("--fresh: cannot keep the previous task output (" + out_dir + "): " + ec.message());
}

// Starts the prepared run's directory (layout, lock, first snapshot) after finishing a crashed hub's
// half-taken inbox files, and makes the output directory. Returns notes for hub.log.
std::vector<std::string> start_run_directory(HubRun& run) {
  std::vector<std::string> notes;
  if (run.dir) {
    // Before start(), whose snapshot empties the journal that says which inbox files were taken.
    std::vector<std::string> taken = hub::Inbox::finish_taken(*run.dir, *run.table);
    if (run.out_dir.empty()) run.out_dir = run.dir->path() + "/out";
    if (run.dir->fresh()) keep_previous_output(run.dir->path(), run.out_dir);
    run.dir->start(*run.table);
    notes = run.dir->notes();  // start()'s own included
    notes.insert(notes.end(), std::make_move_iterator(taken.begin()), std::make_move_iterator(taken.end()));
  }
  if (run.out_dir.empty()) run.out_dir = std::filesystem::current_path().string();
  std::error_code ec;
  const bool made = std::filesystem::create_directories(run.out_dir, ec);
  if (ec) throw InputError("--output " + run.out_dir + ": cannot create the directory: " + ec.message());
  if (run.dir) {
    std::vector<std::string> said;
    hub::make_private(run.out_dir, &said);
    if (!made) notes.insert(notes.end(), said.begin(), said.end());  // one mpiq made needs no note
  }
  return notes;
}

// The inbox, taken under the embedding session's lock when it has one.
class GuardedInbox final : public hub::HubObserver {
 public:
  GuardedInbox(hub::Inbox& inbox, std::function<void(const std::function<void()>&)> guard)
      : inbox_(inbox), guard_(std::move(guard)) {}
  void poll(hub::Hub& h) override {
    if (guard_)
      guard_([&] { inbox_.poll(h); });
    else
      inbox_.poll(h);
  }
  bool keeps_open() const override { return inbox_.keeps_open(); }

 private:
  hub::Inbox& inbox_;
  std::function<void(const std::function<void()>&)> guard_;
};

// The hub's loop over `net`, with everything around it: hub.log, the Slurm job's end time, the inbox,
// the summary. Returns the exit code.
// Under Open MPI's mpirun (whose ranks have OMPI_MCA_orte_hnp_uri), what mpirun makes of mpiq's exit
// code, said in mpiq's last lines: mpirun's banner says "aborted" for a run that ended as designed,
// and a signal to mpirun itself turns a saved stop into exit 1. srun passes the code through, silently.
std::string launcher_note(int code, const std::string& stop_reason) {
  if (code == 0 || !std::getenv("OMPI_MCA_orte_hnp_uri")) return "";
  if (code == 3 && stop_reason.find("SIGTERM") != std::string::npos)
    return "  under mpirun: a SIGINT or SIGTERM to mpirun reaches mpiq as SIGTERM and makes mpirun exit 1 "
           "whatever mpiq saved; SIGUSR1 to mpirun stops the run the same way and keeps exit code 3 (srun "
           "passes 3 through)\n";
  return "  under mpirun: mpirun exits " + std::to_string(code) +
         " too, after a banner that says the job was aborted because a process returned a non-zero exit "
         "code; mpiq ended as designed (mpirun -q leaves the banner out)\n";
}

int run_hub(transport::Transport& net, const HubConfig& config, HubRun& run,
            const std::vector<std::string>& notes) {
  hub::HubOptions ho = config.options;
  // In place on a terminal; plain lines on a pipe or file (mpirun, srun, a Slurm .out file).
  ho.progress_redraw = isatty(STDERR_FILENO) != 0;
  hub::Log log(config.log_level, true);
  log.set_progress_line(ho.progress && ho.progress_redraw);
  // After the run directory's start(), which creates it.
  if (run.dir && !log.open_file(run.dir->path() + "/hub.log"))
    std::cerr << "mpiq: cannot open " << run.dir->path() << "/hub.log\n";
  size_t barriers = 0, joins = 0;  // `#MPIQ barrier` lines; a sweep's join row is no barrier of the file's
  for (core::TaskIndex r = 0; r < run.table->size(); ++r)
    if (run.table->is_barrier(r)) ++(run.table->is_sweep_join(r) ? joins : barriers);
  log.info(run.what + ": " + std::to_string(run.table->size() - barriers - joins) + " task(s)" +
           (barriers ? ", " + std::to_string(barriers) + " barrier(s)" : std::string()) + ", " +
           std::to_string(net.size() - 1) + " worker(s), run directory " +
           (run.dir ? run.dir->path() : std::string("none")));
  for (const std::string& note : notes) log.info(note);

  ho.out_dir = run.out_dir;
  ho.pernode = run.pernode;
  if (run.dir) ho.run_dir = run.dir->path();
  ho.host = exec::host_name();
  if (run.dir) ho.slurm_job_ids = run.dir->slurm_job_ids();
  if (const char* nodes = std::getenv("SLURM_JOB_NODELIST")) ho.slurm_nodelist = nodes;
  if (const char* job = std::getenv("SLURM_JOB_ID")) {
    const char* cpus = std::getenv("SLURM_CPUS_ON_NODE");
    log.info(std::string("Slurm job ") + job + " on " + ho.slurm_nodelist + ", " + (cpus ? cpus : "?") +
             " CPUs on this node");
    // Stop before Slurm's end time, so the state is saved and the job can be resumed (docs/design.md §8).
    if (auto end = slurm_end_time(job)) {
      const double left = *end - exec::wall_now();
      const double at = stop_deadline(left, config.stop_margin_s);
      if (ho.deadline == 0 || at < ho.deadline) ho.deadline = at;
      log.info("the job ends in " + std::to_string(static_cast<long>(left)) + " s; mpiq stops " +
               std::to_string(static_cast<long>(left - (at - exec::mono_now()))) + " s before");
    }
  }

  hub::Hub h(net, *run.table, ho, log, run.dir);
  hub::ObserverList observers;
  observers.add(run.observer);  // first: an embedding session appends what other threads submitted
  std::optional<hub::Inbox> inbox;
  std::optional<GuardedInbox> guarded;
  if (run.dir) {
    inbox.emplace(*run.dir, *run.table, log);  // task files from `mpiq submit`
    guarded.emplace(*inbox, run.inbox_guard);
    observers.add(&*guarded);
  }
  h.set_observer(&observers);
  struct Attached {
    const HubRun& run;
    Attached(const HubRun& r, hub::Hub* h) : run(r) {
      if (run.attach) run.attach(h);
    }
    ~Attached() {
      if (run.attach) run.attach(nullptr);
    }
  } attached(run, &h);
  int code = h.run();
  if (run.dir) try {
      run.dir->close();  // the journal's last sync
    } catch (const DiskFull& e) {
      // What the journal could not write is lost: those tasks run again on resume.
      if (!h.disk_full()) log.error(std::string("the disk is full: ") + e.what());
      if (code != 2) code = 3;
    }
  if (config.summary) {
    std::cout << h.summary();
    if (code == 3 && h.disk_full())  // the line that named the file said what to do
      std::cout << "  stopped early (no space left, see above): the state is saved; make room, then run "
                   "the same command again to resume\n";
    else if (code == 3 && h.output_failed())
      std::cout << "  stopped early (task output could not be written, see above): the state is saved; fix "
                   "that, then run the same command again to resume\n";
    else if (code == 3)
      std::cout << "  stopped early (" << (h.stop_reason().empty() ? "a stop" : h.stop_reason())
                << "): the state is saved; run the same command again to resume\n";
    std::cout << launcher_note(code, h.stop_reason());
  }
  return code;
}

}  // namespace

std::string launch_mistake(int world_size, const std::function<const char*(const char*)>& env) {
  if (!env("SLURM_JOB_ID") || env("MPIQ_TASK_ID")) return "";
  for (const char* name : {"SLURM_NTASKS", "SLURM_NPROCS"}) {
    const char* value = env(name);
    if (!value) continue;
    char* end = nullptr;
    const long tasks = std::strtol(value, &end, 10);
    if (end == value || *end != '\0' || tasks <= world_size) continue;
    const std::string n = std::to_string(tasks), w = std::to_string(world_size);
    return std::string(name) + "=" + n + " but MPI sees " + w + (world_size == 1 ? " rank" : " ranks") +
           (world_size == 1 ? ": srun gave mpiq no PMI (every task would be a hub of its own, racing for one "
                              "run directory), or mpiq was started without srun in a job of " +
                                  n + " tasks"
                            : ": the launcher started fewer ranks than Slurm gave the step") +
           ". Start it with `srun --mpi=pmix -n " + n +
           " mpiq run ...` (`srun --mpi=list` shows what your Slurm has; use the PMI your MPI was built "
           "with)";
  }
  return "";
}

double stop_deadline(double seconds_left, double margin) {
  return exec::mono_now() + seconds_left - std::min(margin, seconds_left / 2);
}

ExitCode run(Job& job, const RunSpec& spec) {
  // 0. A job started the wrong way runs nothing and touches nothing. Without PMI every copy is a
  // rank 0 of its own: only Slurm's first task says so.
  if (const std::string mistake = launch_mistake(job.size(), [](const char* n) { return std::getenv(n); });
      !mistake.empty()) {
    const char* procid = std::getenv("SLURM_PROCID");
    if (!procid || std::string_view(procid) == "0") std::cerr << "mpiq: " << mistake << "\n";
    return ExitCode::bad_input;
  }
  exec::install_stop_handlers();
  const bool is_hub = job.rank() == 0;
  const bool works = job.size() == 1 || !is_hub;  // a serial job's hub process runs the worker too

  // 1-2. Every worker's share of its node, before anything is written.
  const NodePlace place = job.node_place();
  std::optional<WorkerSetup> setup;
  std::string setup_error;
  if (works) try {
      setup = worker_setup(spec.worker, place);
    } catch (const InputError& e) {
      setup_error = e.what();
    }
  if (!setup_error.empty())
    std::cerr << "mpiq: " << (job.size() > 1 ? "rank " + std::to_string(job.rank()) + ": " : "")
              << setup_error << "\n";
  // Every topology this process needs is loaded: nothing of the run (a task, a hook) inherits the
  // plugin list the mpiq command set for its own start.
  hw::restore_hwloc_plugins();
  if (!job.all_agree(setup_error.empty())) return ExitCode::bad_input;
  // What each worker can give one task, at the hub: a request none can meet is bad input found before
  // the run directory is touched (docs/design.md §11). Packed as cores << 32 | gpus; the hub of an MPI
  // job is no worker.
  const uint64_t mine = setup ? uint64_t{static_cast<uint32_t>(setup->share.cores.size())} << 32 |
                                    static_cast<uint32_t>(setup->share.gpus.size())
                              : 0;
  const std::vector<uint64_t> gathered = job.gather_to_hub(mine);
  // And each worker's node memory budget (every worker of a node finds the same one).
  const std::vector<uint64_t> memory = job.gather_to_hub(setup ? setup->node_mem_kb : 0);
  std::vector<core::WorkerCapacity> workers;
  for (size_t r = job.size() == 1 ? 0 : 1; r < gathered.size(); ++r)
    workers.push_back(
        {static_cast<uint32_t>(gathered[r] >> 32), static_cast<uint32_t>(gathered[r]), memory[r]});

  // 3. The hub prepares the run; the workers learn where its files are.
  HubRun prepared;
  std::vector<std::string> notes;
  std::string plan;
  if (is_hub) {
    try {
      prepared = spec.prepare(workers);
      notes = start_run_directory(prepared);
      plan = encode_plan({prepared.dir ? prepared.dir->path() : "", prepared.out_dir,
                          prepared.dir ? prepared.dir->meta().restarts : 0});
    } catch (const InputError& e) {
      std::cerr << "mpiq: " << e.what() << "\n";
    } catch (const DiskFull& e) {
      // No room for the first snapshot: nothing ran, and the state on disk is the last run's.
      std::cerr << "mpiq: the disk is full: " << e.what()
                << " (make room, then run the same command again)\n";
      plan = kDiskFullPlan;
    } catch (const std::exception& e) {
      if (job.size() == 1) throw;
      std::cerr << "mpiq: rank 0: " << e.what() << "\n";
      job.abort(1);  // the workers wait in the broadcast below
    }
  }
  plan = job.broadcast(plan);
  Plan told;
  if (!decode_plan(plan, told)) return plan == kDiskFullPlan ? ExitCode::stopped : ExitCode::bad_input;

  // 4. The loops.
  if (works) {
    // Command tasks never outlive this worker process (exec/guard.hpp).
    std::string error;
    if (!exec::enable_process_guard(spec.worker.grace_s, &error))
      std::cerr << "mpiq: warning: tasks may outlive this process if it is killed: " << error << "\n";
  }
  const auto worker_loop = [&](transport::Transport& net) {
    worker::WorkerOptions wo;
    wo.gpu_vendors = setup->gpu_vendors;
    wo.run_dir = told.run_dir;
    wo.out_dir = told.out_dir;
    wo.run_number = told.run_number;
    wo.host = exec::host_name();
    wo.bind = spec.worker.bind;
    // An embedding program that names no shell gets the default that `mpiq run` gets.
    wo.shell =
        spec.worker.shell.empty()
            ? *exec::resolve_shell("", [](const std::string& p) { return ::access(p.c_str(), X_OK) == 0; })
            : spec.worker.shell;
    wo.grace_s = spec.worker.grace_s;
    wo.drain_on_signal = spec.worker.drain_on_signal;
    wo.output = spec.worker.output;
    wo.functions = spec.worker.functions;
    wo.sample_node = place.index == 0;
    wo.node_mem_kb = setup->node_mem_kb;  // one worker per node samples its use (mpiq report)
    worker::Worker(net, setup->share, std::move(wo)).run();
  };
  HubConfig hub_config = spec.hub;
  hub_config.options.task_output = spec.worker.output;  // for the hub's words on where output is
  return static_cast<ExitCode>(job.run_loops(
      [&](transport::Transport& net) { return run_hub(net, hub_config, prepared, notes); }, worker_loop));
}

}  // namespace mpiq::launch
