// `mpiq cancel RUN_DIR TASK... [--state S] [--grace 10s]` and `mpiq cancel --drain RUN_DIR`: steer a
// run through its inbox (hub/inbox.hpp, docs/design.md §8). The tasks are checked against the run's
// table first (an unknown one is exit 2 and nothing is written), the request is dropped into
// RUN_DIR/inbox/ whole, and the hub's verdict is awaited.

#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.hpp"
#include "core/task_selector.hpp"
#include "core/task_syntax.hpp"
#include "hub/inbox.hpp"
#include "hub/run_directory.hpp"
#include "mpiq/error.hpp"

namespace mpiq::cli {

namespace {

struct CancelOptions {
  std::string run_dir;
  std::vector<std::string> tasks, states;
  std::string grace = "10s";
  bool drain = false, no_wait = false;
  double timeout_s = 30;
};

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// `cancelled waiting=W queued=Q running=R final=F skipped=S` -> the user's sentence.
std::string describe(const std::string& verdict) {
  if (verdict.rfind("drained", 0) == 0)
    return "the run drains: no task starts any more, running tasks finish, then it saves and exits 3";
  std::istringstream in(verdict);
  std::string word, waiting = "0", queued = "0", running = "0", final = "0", skipped = "0";
  while (in >> word) {
    const auto eq = word.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = word.substr(0, eq), value = word.substr(eq + 1);
    if (key == "waiting") waiting = value;
    if (key == "queued") queued = value;
    if (key == "running") running = value;
    if (key == "final") final = value;
    if (key == "skipped") skipped = value;
  }
  std::string s = "cancelled " + waiting + " not started, " + queued + " queued, " + running +
                  " running (TERM, then KILL after the grace period); " + skipped + " dependant(s) skipped";
  if (final != "0") s += "; " + final + " had ended already and keep their state";
  return s;
}

int cancel(CancelOptions o) {
  while (o.run_dir.size() > 1 && o.run_dir.back() == '/') o.run_dir.pop_back();
  struct stat st {};
  if (::stat(o.run_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw InputError(o.run_dir + ": no such run directory");
  if (!exists(o.run_dir + "/checkpoint.h5"))
    throw InputError(o.run_dir +
                     ": not an mpiq run directory (no checkpoint.h5); start the run with mpiq run");
  if (o.drain && (!o.tasks.empty() || !o.states.empty()))
    throw InputError("mpiq cancel: --drain ends dispatch for the whole run: give no TASK or --state with it");
  if (!o.drain && o.tasks.empty() && o.states.empty())
    throw InputError("mpiq cancel: give the tasks to cancel (ids, ranges A-B, names), --state, or --drain");
  hub::SteerRequest r;
  const auto grace = core::parse_duration(o.grace);
  if (!grace) throw InputError("--grace: '" + o.grace + "' is not a duration (examples: 10, 10s, 2m)");
  r.grace_s = *grace;
  r.drain = o.drain;
  r.tasks = o.tasks;
  for (const std::string& s : o.states) r.states.push_back(*core::parse_task_state(s));
  const bool live = hub::RunDirectory::held_by_live_hub(o.run_dir);
  if (o.drain && !live) throw InputError(o.run_dir + ": no hub runs on it now: there is nothing to drain");
  if (!o.tasks.empty()) {
    store::CheckpointMeta meta;
    const core::TaskTable table = load_run_state(o.run_dir, &meta);
    core::resolve_task_words(table, o.tasks, o.run_dir);  // an unknown task: exit 2, nothing written
  }

  const std::string inbox = o.run_dir + "/inbox", done = inbox + "/done";
  const std::string name = drop_into_inbox(inbox, hub::format_steer_request(r), ".cancel");
  const std::string where = inbox + "/" + name;
  if (!live) {
    std::cout << "mpiq: no hub runs on " << o.run_dir << " now; the cancel waits in " << where
              << " and the next `mpiq run` on it applies it before it starts anything\n";
    return 0;
  }
  if (o.no_wait) {
    std::cout << "mpiq: cancel requested as " << where << "; the verdict will be in " << done << "/" << name
              << ".accepted or .rejected\n";
    return 0;
  }
  InboxVerdict v = await_inbox_verdict(o.run_dir, name, o.timeout_s);
  switch (v.kind) {
    case InboxVerdict::Kind::accepted:
      std::cout << "mpiq: " << describe(v.text) << "\n";
      return 0;
    case InboxVerdict::Kind::rejected:
      while (!v.text.empty() && v.text.back() == '\n') v.text.pop_back();
      std::cerr << "mpiq: rejected by the hub: " << v.text << "\n";
      return 2;
    case InboxVerdict::Kind::waiting:
      std::cout << "mpiq: no verdict after " << o.timeout_s << " s; the request waits in " << where << "\n";
      return 0;
    case InboxVerdict::Kind::hub_ended:
      std::cout << "mpiq: the hub ended before taking the request; it waits in " << where
                << " for the next `mpiq run` on " << o.run_dir << "\n";
      return 0;
  }
  return 0;
}

}  // namespace

void add_cancel_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("cancel", "Cancel tasks of a run, or drain it (--drain)");
  cmd->footer(
      "Waiting and queued tasks become cancelled without running, running ones get SIGTERM, then SIGKILL\n"
      "after --grace; their dependants are skipped. Journalled: a cancel the hub accepted survives a crash.\n"
      "Without a live hub the request waits for the next `mpiq run`. --drain instead stops starting tasks\n"
      "and lets the running ones finish (the run then exits 3; rerun to resume).\n"
      "Exit 0: accepted (or waiting, as printed); 2: bad input or rejected, nothing changed.");
  auto o = std::make_shared<CancelOptions>();
  cmd->add_option("RUN_DIR", o->run_dir, "The run's directory")->required();
  cmd->add_option("TASK", o->tasks,
                  "Tasks to cancel: ids (line numbers), ranges A-B, names, sweep elements ID[i]");
  cmd->add_option("--state", o->states, "Cancel every task in this state now (repeatable)")
      ->check(CLI::IsMember({"waiting", "ready", "assigned", "running"}));
  cmd->add_option("--grace", o->grace, "Time between SIGTERM and SIGKILL for running tasks (default 10s)");
  cmd->add_flag("--drain", o->drain,
                "Start no more tasks; running ones finish; then the run saves and exits 3");
  cmd->add_flag("--no-wait", o->no_wait,
                "Return once the request is in the inbox, without the hub's verdict");
  cmd->add_option("--timeout", o->timeout_s, "Seconds to wait for the hub's verdict (default 30)")
      ->check(CLI::PositiveNumber);
  cmd->callback([o, exit_code] { *exit_code = cancel(*o); });
}

}  // namespace mpiq::cli
