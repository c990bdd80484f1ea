// `mpiq run FILE`: the run of a task file, started through the launch layer (launch/launch.hpp) like
// every run: the hub on rank 0 and workers on every other rank, or both in one process when there is
// one rank. This file only turns the command line into a launch::RunSpec.

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "cli/run_setup.hpp"
#include "core/task_edit.hpp"
#include "exec/clock.hpp"
#include "exec/orphans.hpp"
#include "hub/run_directory.hpp"
#include "launch/launch.hpp"
#include "store/atomic_file.hpp"
#include "store/sha256.hpp"
#include "store/task_file_io.hpp"

namespace mpiq::cli {

namespace {

// --report: RUN_DIR/report.html rewritten on the hub's thread every kEvery seconds, from the table in
// memory (the hub's own status document for the worker rows), as a page that reloads itself.
class LiveReport final : public hub::HubObserver {
 public:
  static constexpr double kEvery = 30;
  LiveReport(const core::TaskTable& table, const hub::RunDirectory& dir) : table_(table), dir_(dir) {}
  void poll(hub::Hub& h) override {
    const double now = exec::mono_now();
    if (now < next_) return;
    next_ = now + kEvery;
    try {
      const nlohmann::json status = nlohmann::json::parse(h.status_json("running"));
      store::write_file_for_readers(
          dir_.path() + "/report.html",
          render_report(table_, dir_.meta(), status, dir_.path(), static_cast<int>(kEvery)));
    } catch (const std::exception& e) {
      if (!warned_) std::cerr << "mpiq: cannot write " << dir_.path() << "/report.html: " << e.what() << "\n";
      warned_ = true;
    }
  }

 private:
  const core::TaskTable& table_;
  const hub::RunDirectory& dir_;
  double next_ = 0;
  bool warned_ = false;
};

int run_command(const RunSettings& s) {
  // The hub's state: read by prepare() on the hub rank, alive until launch::run returns.
  core::TaskTable table;
  std::unique_ptr<hub::RunDirectory> dir;
  std::unique_ptr<LiveReport> live_report;

  launch::RunSpec spec;
  spec.worker.topology_xml = s.topology_xml;
  spec.worker.cores = s.worker_cores;
  spec.worker.gpus = s.worker_gpus;
  spec.worker.bind = s.bind;
  spec.worker.shell = s.shell;
  spec.worker.grace_s = s.grace_s;
  spec.worker.drain_on_signal = s.hub.drain_on_signal;
  spec.worker.output = s.task_output;
  spec.hub.options = s.hub;
  spec.hub.options.progress = true;  // on a terminal
  spec.hub.log_level = s.log_level;
  spec.hub.stop_margin_s = s.stop_margin_s;
  spec.hub.summary = true;
  spec.prepare = [&](const std::vector<core::WorkerCapacity>& workers) {
    core::NodeCommands pernode;
    table = store::load_task_file(s.task_file, s.format, &pernode);
    check_requests(table, workers, s.task_file);
    dir = std::make_unique<hub::RunDirectory>(s.run_dir, s.resume);
    const std::string sha256 = store::sha256_file(s.task_file);
    if (dir->task_file_changed(sha256)) {
      // An edited file is applied (docs/design.md §7): tasks matched by content keep their state.
      core::TaskEditSummary edit;
      std::vector<core::TaskIndex> new_row;
      core::TaskTable edited =
          core::apply_task_edit(dir->restored(), std::move(table), dir->meta().restarts, &edit, &new_row);
      dir->apply_edit(s.task_file, sha256, std::move(edited), edit.describe(),
                      s.task_output == core::TaskOutput::files, new_row);
    } else {
      dir->set_task_file(s.task_file, sha256);
    }
    if (dir->resuming()) table = std::move(dir->restored());
    launch::HubRun run;
    run.table = &table;
    run.dir = dir.get();
    run.out_dir = s.out_dir;
    run.what = "mpiq run " + s.task_file;
    run.pernode = pernode;
    if (s.report) {
      live_report = std::make_unique<LiveReport>(table, *dir);
      run.observer = live_report.get();
    }
    return run;
  };
  static int argc = 0;
  static char** argv = nullptr;
  const std::unique_ptr<launch::Job> job = launch::make_job(argc, argv);
  // A task's process that leaves its group (setsid) becomes this process's child when its parent
  // ends, so the worker can end it with the task (exec/orphans.hpp). Not in an embedding program,
  // whose own descendants are its business.
  if (!exec::become_subreaper())
    std::cerr << "mpiq: warning: processes that leave a task's process group may outlive the task: "
                 "prctl(PR_SET_CHILD_SUBREAPER): "
              << std::strerror(errno) << "\n";
  const ExitCode code = launch::run(*job, spec);
  if (live_report) {
    // The last page, from what the run left on disk, without the reload.
    nlohmann::json status;
    if (!read_json_object(s.run_dir + "/status.json", &status)) status = nlohmann::json::object();
    try {
      store::write_file_for_readers(s.run_dir + "/report.html",
                                    render_report(table, dir->meta(), status, s.run_dir, 0));
    } catch (const std::exception& e) {
      std::cerr << "mpiq: cannot write " << s.run_dir << "/report.html: " << e.what() << "\n";
    }
  }
  return exit_status(code);
}

}  // namespace

void add_run_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("run", "Run a task file: rank 0 is the hub, every other rank a worker");
  auto opts = std::make_shared<RunOptions>();
  register_run_options(*cmd, *opts);
  cmd->callback([opts, exit_code] { *exit_code = run_command(resolve_run_options(*opts)); });
}

}  // namespace mpiq::cli
