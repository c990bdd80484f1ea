#pragma once
/// The options of `mpiq run`, as typed (RunOptions) and as resolved and checked (RunSettings). Every
/// rank resolves the same argv, so every rank agrees on the settings without a message.

#include <CLI/CLI.hpp>
#include <string>

#include "core/pylauncher.hpp"
#include "core/requests.hpp"
#include "core/task_output.hpp"
#include "hub/hub.hpp"
#include "hub/log.hpp"
#include "hub/run_directory.hpp"

namespace mpiq::cli {

struct RunOptions {
  std::string task_file;
  std::string run_dir;
  std::string output;
  std::string task_output = "stream";
  bool fresh = false;
  bool retry_failed = false;
  bool fail_fast = false;
  bool no_steal = false;
  bool drain = false;
  bool report = false;
  uint32_t prefetch = 0;
  uint32_t crash_limit = 3;
  std::string bind = "core";
  std::string log_level = "info";
  std::string grace = "10s";
  std::string status_interval = "1s";
  std::string progress_interval = "30s";
  std::string checkpoint_interval = "60s";
  std::string time_limit;
  std::string stop_margin = "2m";
  uint32_t worker_cores = 0;
  uint32_t worker_gpus = 0;
  bool worker_gpus_set = false;
  std::string topology_xml;
  std::string shell;
  std::string format = "mpiq";
};

struct RunSettings {
  std::string task_file;
  std::string run_dir;  ///< absolute
  std::string out_dir;  ///< absolute
  hub::ResumeMode resume;
  hub::LogLevel log_level = hub::LogLevel::info;
  hub::HubOptions hub;
  bool bind = true;
  core::TaskOutput task_output = core::TaskOutput::stream;
  double grace_s = 10;
  double stop_margin_s = 120;  ///< stop this long before the time limit or the Slurm job's end
  bool report = false;         ///< keep RUN_DIR/report.html current (--report)
  uint32_t worker_cores = 0;   ///< 0 = the whole share
  int worker_gpus = -1;        ///< -1 = the whole share
  std::string topology_xml;
  std::string shell;  ///< resolved: --shell, else /bin/bash where it exists, else /bin/sh
  core::TaskFileFormat format = core::TaskFileFormat::mpiq;  ///< --format
};

/// Adds the run options to `cmd`, bound to `o`.
void register_run_options(CLI::App& cmd, RunOptions& o);
/// Checks and resolves the options; throws InputError naming the option for a bad value.
RunSettings resolve_run_options(const RunOptions& o);

/// Throws InputError `FILE:LINE:COL: task ID asks for ...` at the first task of `table` (read from the
/// task file `path`) that no worker of `workers` can run, pointing at its `cores=` or `gpus=` setting
/// (docs/design.md §11). Reads the file again only to place the column of an error.
void check_requests(const core::TaskTable& table, const std::vector<core::WorkerCapacity>& workers,
                    const std::string& path);
}  // namespace mpiq::cli
