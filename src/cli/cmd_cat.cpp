// `mpiq cat RUN_DIR TASK [--stderr] [--attempt N]` and `mpiq cat RUN_DIR --failed`: a task's output,
// from the run's streams (store/output_stream.hpp) or per-task files, while the run goes or after it.

#include <unistd.h>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/task_outcome.hpp"
#include "core/task_output.hpp"
#include "core/task_ref.hpp"
#include "core/task_selector.hpp"
#include "mpiq/error.hpp"
#include "store/output_stream.hpp"
#include "store/posix_file.hpp"

namespace mpiq::cli {

namespace {

using json = nlohmann::json;

struct CatOptions {
  std::string run_dir, task;
  bool err = false, failed = false;
  uint32_t attempt = 0;  // 0 = the last one that wrote
};

// Where the run keeps task output and how: status.json says (it follows --output); else the default.
std::pair<std::string, std::string> output_place(const std::string& run_dir) {
  const std::pair<std::string, std::string> defaults{"stream", run_dir + "/out"};
  json d;
  if (!read_json_object(run_dir + "/status.json", &d) || !d.contains("output") || !d["output"].is_object())
    return defaults;  // no status yet, or a damaged one
  try {
    return {d["output"].value("mode", defaults.first), d["output"].value("dir", defaults.second)};
  } catch (const json::exception&) {
    return defaults;  // `mode` or `dir` of another type
  }
}

// Every task's records, by task id, in the order the streams hold them.
class Streams {
 public:
  explicit Streams(const std::string& out_dir) {
    for (const std::string& path : store::output_stream_paths(out_dir))
      files_.push_back(store::read_output_stream(path));
  }
  /// The data of `task`'s (of a sweep: its element `element`'s) `channel` in `attempt` (0 = its last
  /// attempt that wrote anything), as the latest run that ran that attempt wrote it (a task running at a
  /// kill runs again, same attempt). Only runs before `before` count: a task whose line moved in an
  /// edit has its output under its old id, which a later task may have since.
  std::string text(uint32_t task, uint32_t element, store::OutputChannel channel, uint32_t attempt,
                   uint32_t before = UINT32_MAX) const {
    const auto [a, latest] = last(task, element, attempt, before);
    std::string out;
    for (const auto& f : files_)
      for (const auto& r : f.records)
        if (r.task == task && r.element == element && r.attempt == a && r.run == latest &&
            r.channel == channel)
          out.append(r.data);
    return out;
  }

 private:
  // The attempt to show (the given one, or the highest) and the latest run before `before` that wrote it.
  std::pair<uint32_t, uint32_t> last(uint32_t task, uint32_t element, uint32_t attempt,
                                     uint32_t before) const {
    uint32_t a = attempt, run = 0;
    const auto mine = [&](const store::OutputRecord& r) {
      return r.task == task && r.element == element && r.run < before;
    };
    for (const auto& f : files_)
      for (const auto& r : f.records)
        if (mine(r) && attempt == 0 && r.attempt > a) a = r.attempt;
    for (const auto& f : files_)
      for (const auto& r : f.records)
        if (mine(r) && r.attempt == a) run = std::max(run, r.run);
    return {a, run};
  }

  std::vector<store::OutputStreamFile> files_;
};

// A per-task file (--task-output files): "" when the task has written none (it has not run).
std::string read_file(const std::string& path) {
  if (::access(path.c_str(), F_OK) != 0) return "";
  return store::read_whole_file(path);
}

// The row of TASK: an id, a name, or a sweep's element ID[i] / NAME[i]. Throws InputError for a task the
// run does not have.
core::TaskIndex find_task(const core::TaskTable& table, const std::string& task, const std::string& run_dir) {
  std::string why;
  if (const auto row = core::find_task_ref(table, task, &why)) return *row;
  throw InputError(run_dir + ": " + why);
}

// `start@NODE` / `stop@NODE` (NODE a host or a node index): the id and element its node's pernode command
// wrote its output under (the directive's line, the node's index), from status.json; nullopt for a
// TASK of another form.
std::optional<std::pair<uint32_t, uint32_t>> find_node_command(const std::string& task,
                                                               const std::string& run_dir) {
  const size_t at = task.find('@');
  if (at == std::string::npos) return std::nullopt;
  const std::string which = task.substr(0, at), node = task.substr(at + 1);
  if (which != "start" && which != "stop")
    throw InputError(run_dir + ": '" + task + "': a node's command is start@NODE or stop@NODE");
  json d;
  if (!read_json_object(run_dir + "/status.json", &d)) d = json::object();
  const json pernode = d.value("pernode", json::object());
  if (!pernode.is_object() || !pernode.contains(which) || !pernode[which].is_object())
    throw InputError(run_dir + ": the run has no '#MPIQ pernode " + which + "' command");
  const auto line = pernode[which].value("line", 0u);
  std::string hosts;
  for (const json& n : d.value("nodes", json::array())) {
    if (!n.is_object() || !n.contains("index")) continue;
    const std::string host = n.value("host", "");
    const auto index = n.value("index", 0u);
    if (host == node || std::to_string(index) == node) return std::pair{line, index};
    hosts += (hosts.empty() ? "" : ", ") + host;
  }
  throw InputError(run_dir + ": the run has no node '" + node + "'" +
                   (hosts.empty() ? std::string() : " (its nodes: " + hosts + ")"));
}

// The last `bytes` of `text`, from a line start where one is near.
std::string tail(const std::string& text, size_t bytes) {
  if (text.size() <= bytes) return text;
  size_t from = text.size() - bytes;
  const size_t nl = text.find('\n', from);
  if (nl != std::string::npos && nl + 1 < text.size()) from = nl + 1;
  return "...\n" + text.substr(from);
}

int cat(const CatOptions& o) {
  store::CheckpointMeta meta;
  const core::TaskTable table = load_run_state(o.run_dir, &meta);
  const auto [mode, out_dir] = output_place(o.run_dir);
  if (mode == "none") throw InputError(o.run_dir + ": the run keeps no task output (--task-output none)");
  const bool files = mode == "files";
  std::optional<Streams> streams;
  if (!files) streams.emplace(out_dir);
  const auto text = [&](core::TaskIndex t, bool err, uint32_t attempt) {
    if (files)
      return read_file(out_dir + "/" + core::output_file_stem(table.id[t], table.element[t]) +
                       (err ? ".err" : ".out"));
    const auto channel = err ? store::OutputChannel::err : store::OutputChannel::out;
    // A task kept by an edit of the task file after it ended has its output under its old id.
    if (table.output_id[t] != 0)
      return streams->text(table.output_id[t], table.element[t], channel, attempt, table.output_run[t]);
    return streams->text(table.id[t], table.element[t], channel, attempt);
  };

  if (o.failed) {
    for (core::TaskIndex t = 0; t < table.size(); ++t) {
      if (table.state[t] != core::TaskState::failed) continue;
      std::cout << "== task " << table.label(t);
      if (!table.name[t].empty()) std::cout << " (" << table.name[t] << ")";
      std::cout << ": " << core::describe_end(table, t) << ", attempt " << table.attempts[t] << "\n";
      std::string err = tail(text(t, true, 0), 2000);
      if (!err.empty() && err.back() != '\n') err.push_back('\n');
      std::cout << err;
    }
    return 0;
  }
  if (files && o.attempt != 0)
    throw InputError(
        "--attempt: the run keeps per-task files (--task-output files), which hold every attempt");
  if (const auto node = find_node_command(o.task, o.run_dir)) {
    const auto [id, element] = *node;
    std::string out;
    if (files)
      out = read_file(out_dir + "/" + core::output_file_stem(id, element) + (o.err ? ".err" : ".out"));
    else
      out = streams->text(id, element, o.err ? store::OutputChannel::err : store::OutputChannel::out, o.attempt);
    std::cout.write(out.data(), static_cast<std::streamsize>(out.size()));
    return 0;
  }
  const core::TaskIndex t = find_task(table, o.task, o.run_dir);
  const std::string out = text(t, o.err, o.attempt);
  std::cout.write(out.data(), static_cast<std::streamsize>(out.size()));
  return 0;
}

}  // namespace

void add_cat_command(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<CatOptions>();
  auto* cmd =
      app.add_subcommand("cat", "Print a task's output (stdout, or --stderr), while the run goes or after");
  cmd->add_option("RUN_DIR", o->run_dir, "Run directory")->required();
  cmd->add_option("TASK", o->task,
                  "Task id (its line number) or name; ID[i] or NAME[i] for a sweep's element; "
                  "start@NODE or stop@NODE for a node's pernode command (NODE: host or index)");
  cmd->add_flag("--stderr", o->err, "Print the task's stderr instead of its stdout");
  cmd->add_option("--attempt", o->attempt, "Print this attempt's output (default: the last)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--failed", o->failed, "Print every failed task's reason and the end of its stderr");
  cmd->callback([o, exit_code] {
    if (o->failed == !o->task.empty()) throw InputError("mpiq cat: give a TASK or --failed (one of them)");
    *exit_code = cat(*o);
  });
}

}  // namespace mpiq::cli
