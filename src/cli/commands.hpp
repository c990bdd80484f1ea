#pragma once
/// The `mpiq` subcommands. Each `add_*_command` registers one subcommand on `app`; when that
/// subcommand is chosen, its callback stores the process exit code in `*exit_code`
/// (0/1/2/3 as in docs/design.md §8). Errors of user input are thrown as mpiq::InputError and turned into a
/// message and exit code 2 by main().

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "core/task_table.hpp"
#include "store/checkpoint.hpp"

namespace mpiq::cli {

void add_run_command(CLI::App& app, int* exit_code);
void add_check_command(CLI::App& app, int* exit_code);
void add_topology_command(CLI::App& app, int* exit_code);
void add_status_command(CLI::App& app, int* exit_code);
void add_submit_command(CLI::App& app, int* exit_code);
void add_cat_command(CLI::App& app, int* exit_code);
void add_cancel_command(CLI::App& app, int* exit_code);
void add_report_command(CLI::App& app, int* exit_code);

/// The page of `mpiq report` (cmd_report.cpp) for `table` with its checkpoint `meta` and status
/// document; `refresh_s` > 0 makes it reload itself that often (a live page, `mpiq run --report`).
std::string render_report(const core::TaskTable& table, const store::CheckpointMeta& meta,
                          const nlohmann::json& status, const std::string& run_dir, int refresh_s);

/// Writes `text` into the run's inbox directory `inbox` whole (a temporary name the hub ignores, fsync,
/// rename, fsync of the directory) as `<unix-ns>-<host>-<pid><ext>`, so name order is time order.
/// Returns the name (hub/inbox.hpp has the hub's side).
std::string drop_into_inbox(const std::string& inbox, const std::string& text, const std::string& ext);
/// How the hub answered the file `name` dropped into `run_dir`'s inbox: `text` is the verdict file's
/// contents (accepted, rejected), or nothing when no verdict came within `timeout_s` (waiting) or the
/// hub ended with the file still in the inbox (hub_ended: the next `mpiq run` takes it).
struct InboxVerdict {
  enum class Kind { accepted, rejected, waiting, hub_ended } kind;
  std::string text;
};
/// Waits for it: the hub writes the verdict, then moves the file to inbox/done (hub/inbox.hpp), and the
/// answer counts once both are there, so that on return the inbox no longer holds an answered file.
InboxVerdict await_inbox_verdict(const std::string& run_dir, const std::string& name, double timeout_s);
void add_help_command(CLI::App& app, int* exit_code);

/// The commands with one line each (bare `mpiq`, an unknown command), on `out`.
void print_command_list(const CLI::App& app, std::ostream& out);
/// The command nearest to the mistyped `word`, or "" when none is close.
std::string nearest_command(const CLI::App& app, const std::string& word);

/// Reads the JSON object in the file at `path` (status.json); false when it is missing, not JSON or not
/// an object.
bool read_json_object(const std::string& path, nlohmann::json* out);

/// The table of the run in `dir` as its checkpoint and journal hold it, read without changing either
/// (a live run's too). Throws InputError when `dir` holds no checkpoint.
core::TaskTable load_run_state(const std::string& dir, store::CheckpointMeta* meta);

}  // namespace mpiq::cli
