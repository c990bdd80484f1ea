// `mpiq status RUN_DIR [--json] [--tasks STATE]`: what a run is doing, or did. Reads status.json
// while a hub holds the run directory; otherwise the checkpoint (with its journal) is the truth, and
// status.json adds the per-worker rows of the last run.

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.hpp"
#include "core/task_outcome.hpp"
#include "core/task_table.hpp"
#include "hub/run_directory.hpp"
#include "mpiq/error.hpp"
#include "store/checkpoint.hpp"
#include "store/journal.hpp"

namespace mpiq::cli {

namespace {

using nlohmann::json;

json status_from_table(const core::TaskTable& t, const store::CheckpointMeta& meta, const json& last) {
  json counts = json::object();
  uint64_t c[core::kTaskStateCount] = {};
  uint64_t total = 0;
  for (size_t i = 0; i < t.size(); ++i)
    if (!t.is_barrier(static_cast<core::TaskIndex>(i))) {
      ++c[static_cast<size_t>(t.state[i])];
      ++total;
    }
  for (size_t s = 0; s < core::kTaskStateCount; ++s) counts[std::string(core::kTaskStateNames[s])] = c[s];
  json doc = last.is_object() ? last : json::object();
  doc["state"] =
      doc.value("state", std::string("stopped")) == "running" ? "stopped" : doc.value("state", "stopped");
  doc["total"] = total;
  doc["counts"] = counts;
  doc["checkpoint"] = {{"created", meta.created}, {"restarts", meta.restarts}, {"task_file", meta.task_file}};
  if (!doc.contains("workers")) doc["workers"] = json::array();
  if (!doc.contains("recent_failures")) doc["recent_failures"] = json::array();
  return doc;
}

std::string pad(std::string s, size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

void render(const json& d, const std::string& dir, std::ostream& out) {
  out << "run directory  " << dir << "\n";
  out << "state          " << d.value("state", "?") << "   updated " << d.value("updated", "?") << "\n";
  const uint64_t total = d.value("total", uint64_t{0});
  const json& c = d["counts"];
  const uint64_t done = c.value("done", uint64_t{0});
  out << "tasks          " << total << "   done " << done;
  if (total > 0) {
    char pct[16];
    std::snprintf(pct, sizeof pct, " (%.1f%%)",
                  100.0 * static_cast<double>(done) / static_cast<double>(total));
    out << pct;
  }
  out << "\n              ";
  for (const char* s : {"failed", "skipped", "running", "assigned", "ready", "waiting"})
    out << " " << s << " " << c.value(s, uint64_t{0});
  out << "\n";
  if (d.contains("rate")) {
    out << "rate           " << d["rate"].dump() << " tasks/s";
    if (d.contains("eta_s") && !d["eta_s"].is_null()) out << "   eta " << d["eta_s"].dump() << " s";
    out << "\n";
  }
  if (d.contains("hub") && d["hub"].is_object())
    out << "hub            " << d["hub"].value("host", "?") << " pid " << d["hub"].value("pid", 0) << "\n";
  if (d.contains("checkpoint"))
    out << "checkpoint     " << d["checkpoint"].value("created", "?") << ", restarts "
        << d["checkpoint"].value("restarts", 0) << "\n";
  if (d.contains("nodes") && d["nodes"].size() > 1) {  // one node says nothing the worker rows do not
    out << "\n"
        << pad("node", 18) << pad("workers", 9) << pad("cores", 7) << pad("gpus", 6) << pad("running", 9)
        << pad("done", 9) << "busy\n";
    for (const json& n : d["nodes"]) {
      char busy[16];
      std::snprintf(busy, sizeof busy, "%.0f%%", 100.0 * n.value("busy", 0.0));
      const uint32_t lost = n.value("lost", 0u);
      out << pad(n.value("host", "?"), 18) << pad(std::to_string(n.value("workers", 0)), 9)
          << pad(std::to_string(n.value("cores", 0)), 7) << pad(std::to_string(n.value("gpus", 0)), 6)
          << pad(std::to_string(n.value("running", 0)), 9) << pad(std::to_string(n.value("done", 0)), 9)
          << busy << (lost ? "   " + std::to_string(lost) + " worker(s) lost" : "") << "\n";
    }
  }
  const json& workers = d["workers"];
  if (!workers.empty()) {
    out << "\n"
        << pad("rank", 6) << pad("host", 18) << pad("cpus", 14) << pad("gpus", 10) << pad("running", 9)
        << pad("done", 9) << "busy\n";
    for (const json& w : workers) {
      char busy[16];
      std::snprintf(busy, sizeof busy, "%.0f%%", 100.0 * w.value("busy", 0.0));
      std::string gpus = w.value("gpus", "");
      out << pad(std::to_string(w.value("rank", 0)), 6) << pad(w.value("host", "?"), 18)
          << pad(w.value("cpus", ""), 14) << pad(gpus.empty() ? "-" : gpus, 10)
          << pad(std::to_string(w.value("running", 0)), 9) << pad(std::to_string(w.value("done", 0)), 9)
          << busy << (w.value("lost", false) ? "   lost" : "") << "\n";
    }
  }
  const json& fails = d["recent_failures"];
  if (!fails.empty()) {
    out << "\nrecent failures\n";
    for (const json& f : fails) {
      out << "  task " << f.value("id", 0);
      if (!f.value("name", "").empty()) out << " (" << f.value("name", "") << ")";
      if (f.value("signal", 0) != 0)
        out << ": signal " << f.value("signal", 0);
      else
        out << ": exit code " << f.value("exit_code", -1);
      out << ", log " << f.value("stderr", "") << "\n";
    }
  }
}

// A task as `mpiq cat` takes it on a shell's command line: `5`, or `'5[3]'` (quoted: a glob otherwise).
std::string cat_arg(const core::TaskTable& t, core::TaskIndex row) {
  return t.is_element(row) ? "'" + t.label(row) + "'" : t.label(row);
}

void list_tasks(const core::TaskTable& t, core::TaskState want, const std::string& dir, std::ostream& out) {
  out << pad("id", 8) << pad("name", 16) << pad("attempts", 10) << pad("crashes", 9) << pad("exit", 6)
      << pad("signal", 8) << pad("rank", 6) << "why\n";
  size_t n = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t.state[i] != want || t.is_barrier(static_cast<core::TaskIndex>(i))) continue;
    ++n;
    const auto row = static_cast<core::TaskIndex>(i);
    // A sweep's element shows as ID[i], with the sweep's name (its join row's, the last of its id).
    const std::string name(t.is_element(row) ? t.name[t.rows_of(t.id[i]).second - 1] : t.name[i]);
    out << pad(t.label(row), 8) << pad(name.empty() ? "-" : name, 16)
        << pad(std::to_string(t.attempts[i]), 10) << pad(std::to_string(t.crashes[i]), 9)
        << pad(t.exit_code[i] >= 0 ? std::to_string(t.exit_code[i]) : "-", 6)
        << pad(t.signal[i] ? std::to_string(t.signal[i]) : "-", 8)
        << pad(t.worker_rank[i] >= 0 ? std::to_string(t.worker_rank[i]) : "-", 6);
    if (t.is_function(static_cast<core::TaskIndex>(i))) {
      // A function task has no log file: its kind, and for a failure the error it threw.
      out << "function " << t.kind_name(static_cast<core::TaskIndex>(i));
      if (t.state[i] == core::TaskState::failed && i < t.result.size() && !t.result[i].empty())
        out << ": " << t.result[i];
      out << "\n";
    } else if (t.state[i] == core::TaskState::failed) {
      // Why, and the end of its stderr (indented), as the table kept it.
      out << core::describe_end(t, row) << "; mpiq cat " << dir << " " << cat_arg(t, row) << " --stderr\n";
      out << core::indent_lines(core::stderr_tail(t, row), "        | ");
    } else if (t.state[i] == core::TaskState::skipped) {
      out << core::describe_end(t, static_cast<core::TaskIndex>(i)) << "\n";
    } else {
      out << "mpiq cat " << dir << " " << cat_arg(t, row) << "\n";
    }
  }
  out << n << " task(s) " << core::to_string(want) << "\n";
}

}  // namespace

bool read_json_object(const std::string& path, nlohmann::json* out) {
  std::ifstream in(path);
  if (!in) return false;
  try {
    *out = nlohmann::json::parse(in);
    return out->is_object();
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

core::TaskTable load_run_state(const std::string& dir, store::CheckpointMeta* meta) {
  const std::string cp = dir + "/checkpoint.h5";
  if (::access(cp.c_str(), F_OK) != 0)
    throw InputError(dir + ": no checkpoint.h5: not an mpiq run directory, or the run has not started");
  core::TaskTable table = store::read_checkpoint(cp, meta);
  const std::string journal = dir + "/journal";
  if (::access(journal.c_str(), F_OK) == 0) store::apply_journal(journal, meta->journal_epoch, table);
  return table;
}

void add_status_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("status", "Show what a run is doing, or did");
  auto dir = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  auto tasks = std::make_shared<std::string>();
  cmd->add_option("RUN_DIR", *dir, "Run directory (e.g. tasks.mpiq)")->required();
  cmd->add_flag("--json", *as_json, "Print the status document as JSON");
  cmd->add_option("--tasks", *tasks, "List the tasks in this state (e.g. failed) with exit codes and logs")
      ->check(CLI::IsMember({"waiting", "ready", "assigned", "running", "done", "failed", "skipped"}));
  cmd->callback([dir, as_json, tasks, exit_code] {
    std::string d = *dir;
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    json last;
    const bool have_status = read_json_object(d + "/status.json", &last);
    const bool live = hub::RunDirectory::held_by_live_hub(d);
    json doc;
    if (!tasks->empty() || !live || !have_status) {
      store::CheckpointMeta meta;
      const core::TaskTable table = load_run_state(d, &meta);
      if (!tasks->empty()) {
        list_tasks(table, *core::parse_task_state(*tasks), d, std::cout);
        *exit_code = 0;
        return;
      }
      doc = live ? last : status_from_table(table, meta, have_status ? last : json());
    } else {
      doc = last;
    }
    if (*as_json)
      std::cout << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    else
      render(doc, d, std::cout);
    *exit_code = 0;
  });
}

}  // namespace mpiq::cli
