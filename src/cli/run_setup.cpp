#include "cli/run_setup.hpp"

#include <unistd.h>

#include <filesystem>

#include "core/requests.hpp"
#include "core/task_syntax.hpp"
#include "exec/task_command.hpp"
#include "launch/launch.hpp"
#include "mpiq/error.hpp"
#include "store/task_file_io.hpp"

namespace mpiq::cli {

namespace fs = std::filesystem;

void register_run_options(CLI::App& cmd, RunOptions& o) {
  cmd.add_option("FILE", o.task_file, "Task file (one command per line; see README)")->required();
  cmd.add_option("--run-dir", o.run_dir, "Run directory (default: FILE's name without extension + .mpiq)");
  cmd.add_option("--output", o.output, "Directory for task stdout/stderr (default: RUN_DIR/out)");
  cmd.add_option("--task-output", o.task_output,
                 "stream (default: a few files per worker, read with mpiq cat), files (ID.out and ID.err "
                 "per task) or none")
      ->check(CLI::IsMember({"stream", "files", "none"}));
  cmd.add_flag("--fresh", o.fresh, "Start over, keeping the previous state as *.prev");
  cmd.add_flag("--retry-failed", o.retry_failed, "Give failed and skipped tasks another go on resume");
  cmd.add_flag("--fail-fast", o.fail_fast, "Stop dispatching at the first task that fails for good");
  cmd.add_flag("--report", o.report,
               "Keep RUN_DIR/report.html (mpiq report) current: rewritten every 30 s, a page that reloads "
               "itself, and once more at the end");
  cmd.add_flag("--no-steal", o.no_steal, "Never take queued tasks back from busy workers");
  cmd.add_flag("--drain", o.drain,
               "On SIGTERM, SIGINT, SIGUSR1 or SIGHUP start no more tasks but let the running ones finish, "
               "then save and exit 3 (a second signal ends them, a third kills them at once; the time limit "
               "still ends them)");
  cmd.add_option(
      "--prefetch", o.prefetch,
      "Extra cores' worth of tasks each worker queues beyond what it runs (default: max(2, cores), and for "
      "short tasks about 5 ms of them per core, at most 64 per core)");
  cmd.add_option("--crash-limit", o.crash_limit,
                 "Fail a task that was running on a lost worker or node this many times (default 3; 0 = "
                 "never)");
  cmd.add_option("--bind", o.bind, "Bind each task to its cores: core (default) or none")
      ->check(CLI::IsMember({"core", "none"}));
  cmd.add_option("--log-level", o.log_level, "error, warn, info (default) or debug")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}));
  cmd.add_option(
      "--grace", o.grace,
      "Time between SIGTERM and SIGKILL for a task that is ended (default 10s; after a stop signal, "
      "a second one skips what is left of it)");
  cmd.add_option("--status-interval", o.status_interval, "How often status.json is rewritten (default 1s)");
  cmd.add_option("--progress-interval", o.progress_interval,
                 "How often a progress line is printed when stderr is not a terminal (mpirun, srun, a "
                 "Slurm .out file; default 30s; on a terminal the line is redrawn every second)");
  cmd.add_option("--checkpoint-interval", o.checkpoint_interval,
                 "How often checkpoint.h5 is written (default 60s)");
  cmd.add_option("--time-limit", o.time_limit,
                 "Stop, save and exit 3 after this long (e.g. 2h, 1h30m); near it, a task that cannot "
                 "finish in the time left (its timeout, or the durations seen so far) is not started");
  cmd.add_option("--stop-margin", o.stop_margin,
                 "Stop this long before --time-limit or the Slurm job's end (default 2m)");
  cmd.add_option("--worker-cores", o.worker_cores, "Cores each worker uses (default: its whole share)")
      ->check(CLI::PositiveNumber);
  cmd.add_option("--worker-gpus", o.worker_gpus, "GPUs each worker uses (default: its whole share)")
      ->each([&o](const std::string&) { o.worker_gpus_set = true; });
  cmd.add_option("--topology-xml", o.topology_xml, "Use this hwloc XML instead of the machine's topology");
  cmd.add_option("--format", o.format,
                 "Task file format: mpiq (default), pylauncher (CORES,COMMAND lines) or disbatch (disBatch's "
                 "#DISBATCH directives)")
      ->check(CLI::IsMember({"mpiq", "pylauncher", "disbatch"}));
  cmd.add_option("--shell", o.shell,
                 "Shell for commands with shell syntax (default: /bin/bash where it exists, else /bin/sh)");
}

namespace {
double duration_option(const std::string& name, const std::string& value) {
  auto d = core::parse_duration(value);
  if (!d) throw InputError(name + ": '" + value + "' is not a duration (examples: 90, 90s, 30m, 2h, 1h30m)");
  return static_cast<double>(*d);
}

std::string default_run_dir(const std::string& task_file) {
  fs::path p(task_file);
  return (fs::current_path() / (p.stem().string() + ".mpiq")).string();
}
}  // namespace

RunSettings resolve_run_options(const RunOptions& o) {
  RunSettings s;
  s.task_file = o.task_file;
  s.run_dir =
      fs::absolute(o.run_dir.empty() ? default_run_dir(o.task_file) : o.run_dir).lexically_normal().string();
  while (s.run_dir.size() > 1 && s.run_dir.back() == '/') s.run_dir.pop_back();
  s.out_dir = o.output.empty() ? s.run_dir + "/out" : fs::absolute(o.output).lexically_normal().string();
  s.resume.fresh = o.fresh;
  s.resume.retry_failed = o.retry_failed;
  hub::parse_log_level(o.log_level, &s.log_level);
  s.bind = o.bind != "none";
  s.task_output = *core::parse_task_output(o.task_output);
  s.grace_s = duration_option("--grace", o.grace);
  s.worker_cores = o.worker_cores;
  s.worker_gpus = o.worker_gpus_set ? static_cast<int>(o.worker_gpus) : -1;
  s.topology_xml = o.topology_xml;
  const auto shell =
      exec::resolve_shell(o.shell, [](const std::string& path) { return ::access(path.c_str(), X_OK) == 0; });
  if (!shell) throw InputError("--shell: '" + o.shell + "' is not an executable file");
  s.shell = *shell;
  s.format = o.format == "pylauncher" ? core::TaskFileFormat::pylauncher
             : o.format == "disbatch" ? core::TaskFileFormat::disbatch
                                      : core::TaskFileFormat::mpiq;

  s.hub.scheduler.fail_fast = o.fail_fast;
  s.hub.drain_on_signal = o.drain;
  s.report = o.report;
  s.hub.scheduler.steal = !o.no_steal;
  s.hub.scheduler.prefetch = o.prefetch;
  s.hub.scheduler.crash_limit = o.crash_limit;
  s.hub.status_interval_s = duration_option("--status-interval", o.status_interval);
  s.hub.checkpoint_interval_s = duration_option("--checkpoint-interval", o.checkpoint_interval);
  s.hub.progress_interval_s = duration_option("--progress-interval", o.progress_interval);
  if (s.hub.progress_interval_s <= 0) throw InputError("--progress-interval: must be at least 1s");
  const double margin = duration_option("--stop-margin", o.stop_margin);
  s.stop_margin_s = margin;
  if (!o.time_limit.empty()) {
    const double limit = duration_option("--time-limit", o.time_limit);
    s.hub.deadline = launch::stop_deadline(limit, margin);
  }
  return s;
}

void check_requests(const core::TaskTable& table, const std::vector<core::WorkerCapacity>& workers,
                    const std::string& path) {
  const auto unmet = core::find_unmet_request(table, workers);
  if (!unmet) return;
  const core::TaskId id = table.id[unmet->row];
  // The task's first line, for the column of the setting (the file was read a moment ago).
  const std::string text = store::read_task_file(path);
  size_t begin = 0;
  for (core::TaskId line = 1; line < id && begin != std::string::npos; ++line) {
    begin = text.find('\n', begin);
    if (begin != std::string::npos) ++begin;
  }
  std::string_view line;
  if (begin != std::string::npos) line = std::string_view(text).substr(begin, text.find('\n', begin) - begin);
  if (begin == 0 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);  // as the parser does
  throw InputError(path, id, static_cast<uint32_t>(core::setting_column(line, unmet->setting)),
                   "task " + std::to_string(id) + " " + unmet->message);
}

}  // namespace mpiq::cli
