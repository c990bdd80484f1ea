// `mpiq status RUN_DIR [--json] [--tasks SEL] [--watch [--interval 2s]]`: what a run is doing, or did.
// Reads status.json while a hub holds the run directory; otherwise the checkpoint (with its journal) is
// the truth, and status.json adds the per-worker rows of the last run. --tasks lists tasks by state, id
// or name (core/task_selector.hpp); of a live run the table gives the final states and status.json the
// running and queued tasks. --watch redraws until the run ends and exits with the run's exit code.

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "cli/commands.hpp"
#include "core/task_outcome.hpp"
#include "core/task_selector.hpp"
#include "core/task_syntax.hpp"
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
  for (const char* s : {"failed", "skipped", "cancelled", "running", "assigned", "ready", "waiting"})
    out << " " << s << " " << c.value(s, uint64_t{0});
  out << "\n";
  if (d.contains("rate")) {
    out << "rate           " << d["rate"].dump() << " tasks/s";
    if (d.contains("eta_s") && !d["eta_s"].is_null()) out << "   eta " << d["eta_s"].dump() << " s";
    out << "\n";
  }
  if (d.value("dispatch", std::string("on")) == "draining")
    out << "dispatch       draining: running tasks finish, nothing new starts\n";
  if (d.contains("time_left_s") && d["time_left_s"].is_number())
    out << "time left      " << d["time_left_s"].dump() << " s"
        << (d.value("time_held", 0) > 0 ? "   held back (cannot finish in time) " + d["time_held"].dump()
                                        : "")
        << "\n";
  if (d.contains("hub") && d["hub"].is_object())
    out << "hub            " << d["hub"].value("host", "?") << " pid " << d["hub"].value("pid", 0) << "\n";
  if (d.contains("checkpoint"))
    out << "checkpoint     " << d["checkpoint"].value("created", "?") << ", restarts "
        << d["checkpoint"].value("restarts", 0) << "\n";
  // Memory (mem=) is the node's: what its assigned and running tasks reserve of what it gives them.
  const auto memory = [](const json& n) {
    const uint64_t total = n.value("mem_kb", uint64_t{0});
    return core::format_memory(n.value("mem_reserved_kb", uint64_t{0})) + " of " +
           (total ? core::format_memory(total) : std::string("-"));
  };
  if (d.contains("nodes") && d["nodes"].size() == 1 && d["nodes"][0].contains("mem_kb"))
    out << "memory         " << memory(d["nodes"][0]) << " reserved by mem= (tasks assigned or running)\n";
  if (d.contains("nodes") && d["nodes"].size() > 1) {  // one node says nothing the worker rows do not
    out << "\n"
        << pad("node", 18) << pad("workers", 9) << pad("cores", 7) << pad("gpus", 6) << pad("running", 9)
        << pad("ended", 9) << pad("memory", 16) << "busy\n";
    for (const json& n : d["nodes"]) {
      char busy[16];
      std::snprintf(busy, sizeof busy, "%.0f%%", 100.0 * n.value("busy", 0.0));
      const uint32_t lost = n.value("lost", 0u);
      out << pad(n.value("host", "?"), 18) << pad(std::to_string(n.value("workers", 0)), 9)
          << pad(std::to_string(n.value("cores", 0)), 7) << pad(std::to_string(n.value("gpus", 0)), 6)
          << pad(std::to_string(n.value("running", 0)), 9) << pad(std::to_string(n.value("done", 0)), 9)
          << pad(n.contains("mem_kb") ? memory(n) : "-", 16) << busy
          << (lost ? "   " + std::to_string(lost) + " worker(s) lost" : "") << "\n";
    }
  }
  const json& workers = d["workers"];
  if (!workers.empty()) {
    out << "\n"
        << pad("rank", 6) << pad("host", 18) << pad("cpus", 14) << pad("gpus", 10) << pad("running", 9)
        << pad("ended", 9) << "busy\n";
    for (const json& w : workers) {
      char busy[16];
      std::snprintf(busy, sizeof busy, "%.0f%%", 100.0 * w.value("busy", 0.0));
      std::string gpus = w.value("gpus", "");
      out << pad(std::to_string(w.value("rank", 0)), 6) << pad(w.value("host", "?"), 18)
          << pad(w.value("cpus", ""), 14) << pad(gpus.empty() ? "-" : gpus, 10)
          << pad(std::to_string(w.value("running", 0)), 9) << pad(std::to_string(w.value("done", 0)), 9)
          << busy << (w.value("lost", false) ? "   lost" : "") << "\n";
    }
    out << "(ended: the task attempts that ended on the rank, failed and retried ones included)\n";
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

// The state of each row as well as can be known now: the table's final states; for a live run, whose
// table knows only those, status.json's running and queued tasks; for the rest `waiting` or `ready`
// from the dependencies (what a resume makes of a stopped or killed run's unfinished tasks).
// Running tasks get their rank, attempt and start time from status.json too.
std::vector<core::TaskState> current_states(core::TaskTable& t, bool live, const json& status) {
  std::vector<core::TaskState> st(t.state.begin(), t.state.end());
  std::unordered_map<core::TaskId, std::pair<core::TaskState, const json*>> on_workers;
  for (const auto& [key, state] : {std::pair{"running_tasks", core::TaskState::running},
                                   std::pair{"queued_tasks", core::TaskState::assigned}})
    if (status.contains(key) && status[key].is_array())
      for (const json& row : status[key])
        if (row.is_object() && row.contains("id") && row["id"].is_number_unsigned())
          if (live) on_workers.emplace(row["id"].get<core::TaskId>(), std::pair{state, &row});
  for (size_t i = 0; i < t.size(); ++i) {
    if (core::is_final(st[i])) continue;
    if (auto it = on_workers.find(t.id[i]); it != on_workers.end()) {
      const json& row = *it->second.second;
      st[i] = it->second.first;
      t.worker_rank[i] = row.value("rank", -1);
      if (st[i] == core::TaskState::running) {
        t.attempts[i] = row.value("attempt", t.attempts[i]);
        t.start_time[i] = row.value("started", 0.0);
      }
      continue;
    }
    bool deps_done = true;
    for (uint64_t e = t.dep_offsets[i]; e < t.dep_offsets[i + 1] && deps_done; ++e)
      deps_done = t.state[t.deps[e]] == core::TaskState::done;
    st[i] = deps_done ? core::TaskState::ready : core::TaskState::waiting;
  }
  return st;
}

// The rows `selection` names: comma-separated states (failed, running, ...) and task words (ids,
// ranges, names). Throws InputError for a word that is neither.
std::vector<core::TaskIndex> select_rows(const core::TaskTable& t, const std::vector<core::TaskState>& st,
                                         const std::string& selection, const std::string& dir) {
  std::vector<core::TaskState> states;
  std::vector<std::string> words;
  std::stringstream in(selection);
  for (std::string w; std::getline(in, w, ',');) {
    if (w.empty()) continue;
    if (auto s = core::parse_task_state(w))
      states.push_back(*s);
    else
      words.push_back(w);
  }
  if (states.empty() && words.empty())
    throw InputError("--tasks: give states (failed, running, ...), task ids, ranges A-B or names");
  std::vector<core::TaskIndex> rows = core::resolve_task_words(t, words, dir);
  for (size_t i = 0; i < t.size(); ++i)
    if (!t.is_barrier(static_cast<core::TaskIndex>(i)) &&
        std::find(states.begin(), states.end(), st[i]) != states.end())
      rows.push_back(static_cast<core::TaskIndex>(i));
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

std::string why_of(const core::TaskTable& t, core::TaskIndex row, core::TaskState st) {
  if (st == core::TaskState::failed || st == core::TaskState::skipped || st == core::TaskState::cancelled)
    return core::describe_end(t, row);
  return "";
}

json tasks_json(const core::TaskTable& t, const std::vector<core::TaskState>& st,
                const std::vector<core::TaskIndex>& rows) {
  json out = json::array();
  for (core::TaskIndex i : rows) {
    json r = {{"id", t.id[i]},
              {"name", std::string(t.name[i])},
              {"state", core::to_string(st[i])},
              {"attempts", t.attempts[i]},
              {"exit_code", t.exit_code[i]},
              {"signal", t.signal[i]},
              {"rank", t.worker_rank[i]},
              {"start_time", t.start_time[i]},
              {"end_time", t.end_time[i]},
              {"why", why_of(t, i, st[i])}};
    if (t.is_element(i)) r["task"] = t.label(i);  // a sweep's element: ID[i]
    if (t.crashes[i] > 0) r["crashes"] = t.crashes[i];
    if (st[i] == core::TaskState::failed && !t.is_function(i))
      r["stderr_tail"] = std::string(core::stderr_tail(t, i));
    out.push_back(std::move(r));
  }
  return out;
}

void list_tasks(const core::TaskTable& t, const std::vector<core::TaskState>& st,
                const std::vector<core::TaskIndex>& rows, const std::string& dir, std::ostream& out) {
  out << pad("id", 8) << pad("name", 16) << pad("state", 11) << pad("attempts", 10) << pad("crashes", 9)
      << pad("exit", 6) << pad("signal", 8) << pad("rank", 6) << "why\n";
  for (core::TaskIndex i : rows) {
    const core::TaskIndex row = i;
    // A sweep's element shows as ID[i], with the sweep's name (its join row's, the last of its id).
    const std::string name(t.is_element(row) ? t.name[t.rows_of(t.id[i]).second - 1] : t.name[i]);
    out << pad(t.label(row), 8) << pad(name.empty() ? "-" : name, 16)
        << pad(std::string(core::to_string(st[i])), 11) << pad(std::to_string(t.attempts[i]), 10)
        << pad(std::to_string(t.crashes[i]), 9)
        << pad(t.exit_code[i] >= 0 ? std::to_string(t.exit_code[i]) : "-", 6)
        << pad(t.signal[i] ? std::to_string(t.signal[i]) : "-", 8)
        << pad(t.worker_rank[i] >= 0 ? std::to_string(t.worker_rank[i]) : "-", 6);
    if (t.is_function(i)) {
      // A function task has no log file: its kind, and for a failure the error it threw.
      out << "function " << t.kind_name(i);
      if (st[i] == core::TaskState::failed && i < t.result.size() && !t.result[i].empty())
        out << ": " << t.result[i];
      out << "\n";
    } else if (st[i] == core::TaskState::failed) {
      // Why, and the end of its stderr (indented), as the table kept it.
      // One that never started (no worker could run it) has no stderr to point at, and its reason is
      // said once.
      if (t.attempts[i] == 0) {
        out << core::describe_end(t, i) << "\n";
      } else {
        out << core::describe_end(t, i) << "; mpiq cat " << dir << " " << cat_arg(t, i) << " --stderr\n";
        out << core::indent_lines(core::stderr_tail(t, i), "        | ");
      }
    } else if (st[i] == core::TaskState::skipped || st[i] == core::TaskState::cancelled) {
      out << core::describe_end(t, i) << "\n";
    } else {
      out << "mpiq cat " << dir << " " << cat_arg(t, row) << "\n";
    }
  }
  out << rows.size() << " task(s)\n";
}

struct StatusOptions {
  std::string dir;
  bool json = false;
  std::string tasks;
  bool watch = false;
  std::string interval = "2s";
};

// One look at the run: the text (or JSON) to print, whether a hub still runs it, and its document.
struct Look {
  std::string text;
  bool live = false;
  json doc;
};

Look look(const StatusOptions& o) {
  Look l;
  json last;
  const bool have_status = read_json_object(o.dir + "/status.json", &last);
  l.live = hub::RunDirectory::held_by_live_hub(o.dir);
  std::ostringstream out;
  if (!o.tasks.empty() || !l.live || !have_status) {
    store::CheckpointMeta meta;
    core::TaskTable table = load_run_state(o.dir, &meta);
    l.doc = l.live && have_status ? last : status_from_table(table, meta, have_status ? last : json());
    if (!o.tasks.empty()) {
      const std::vector<core::TaskState> st = current_states(table, l.live && have_status, last);
      const std::vector<core::TaskIndex> rows = select_rows(table, st, o.tasks, o.dir);
      if (o.json)
        out << tasks_json(table, st, rows).dump(o.watch ? -1 : 2, ' ', false, json::error_handler_t::replace)
            << "\n";
      else
        list_tasks(table, st, rows, o.dir, out);
      l.text = out.str();
      return l;
    }
  } else {
    l.doc = last;
  }
  if (o.json)
    out << l.doc.dump(o.watch ? -1 : 2, ' ', false, json::error_handler_t::replace) << "\n";
  else
    render(l.doc, o.dir, out);
  l.text = out.str();
  return l;
}

// The exit code of the run that ended: the hub's own (status.json `exit_code`), else from the counts.
int run_exit_code(const json& doc) {
  if (doc.contains("exit_code") && doc["exit_code"].is_number_integer()) return doc["exit_code"].get<int>();
  if (doc.value("state", std::string()) == "stopped") return 3;
  const json& c = doc.contains("counts") && doc["counts"].is_object() ? doc["counts"] : json::object();
  return c.value("failed", 0) == 0 &&
                 c.value("done", 0) + c.value("cancelled", 0) + c.value("skipped", 0) == doc.value("total", 0)
             ? 0
             : 1;
}

int watch(const StatusOptions& o) {
  const auto every = core::parse_duration(o.interval);
  if (!every || *every == 0)
    throw InputError("--interval: '" + o.interval + "' is not a duration of 1s or more");
  const bool terminal = isatty(STDOUT_FILENO) != 0;
  for (;;) {
    const Look l = look(o);
    // Home and erase on a terminal: the table redraws in place. Elsewhere one frame after another.
    if (terminal && !o.json) std::cout << "\033[H\033[2J";
    std::cout << l.text;
    if (!o.json && l.live)
      std::cout << "\n(every " << *every << " s until the run ends; Ctrl-C to stop watching)\n";
    else if (!terminal && !o.json)
      std::cout << "\n";
    std::cout.flush();
    if (!l.live) return run_exit_code(l.doc);
    std::this_thread::sleep_for(std::chrono::seconds(*every));
  }
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
  if (::access(journal.c_str(), F_OK) == 0)
    store::apply_journal(journal, meta->journal_epoch, table, &meta->earlier_attempts);
  return table;
}

void add_status_command(CLI::App& app, int* exit_code) {
  auto* cmd =
      app.add_subcommand("status", "Show what a run is doing, or did (--watch: redrawn until it ends)");
  auto o = std::make_shared<StatusOptions>();
  cmd->add_option("RUN_DIR", o->dir, "Run directory (e.g. tasks.mpiq)")->required();
  cmd->add_flag("--json", o->json, "Print the status document (or, with --tasks, the tasks) as JSON");
  cmd->add_option("--tasks", o->tasks,
                  "List tasks, by state (failed, running, ...), id, range A-B or name, comma-separated, "
                  "with their exit codes, attempts and why");
  cmd->add_flag("--watch", o->watch, "Redraw until the run ends; exit with the run's exit code");
  cmd->add_option("--interval", o->interval, "Seconds between redraws of --watch (default 2s)");
  cmd->callback([o, exit_code] {
    while (o->dir.size() > 1 && o->dir.back() == '/') o->dir.pop_back();
    if (o->watch) {
      *exit_code = watch(*o);
      return;
    }
    std::cout << look(*o).text;
    *exit_code = 0;
  });
}

}  // namespace mpiq::cli
