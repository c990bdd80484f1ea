// `mpiq submit RUN_DIR FILE [--no-wait] [--timeout S]`: adds the tasks of FILE to the run in RUN_DIR
// (docs/design.md §4). Checks FILE first, drops it into RUN_DIR/inbox/ whole (temporary name, fsync, rename),
// and waits for the hub's verdict (hub/inbox.hpp has the hub's side and the file layout).

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/commands.hpp"
#include "core/submission.hpp"
#include "exec/clock.hpp"
#include "exec/host.hpp"
#include "hub/run_directory.hpp"
#include "mpiq/error.hpp"
#include "store/checkpoint.hpp"
#include "store/journal.hpp"
#include "store/posix_file.hpp"
#include "store/task_file_io.hpp"

namespace mpiq::cli {

namespace {

struct SubmitOptions {
  std::string run_dir, file;
  bool no_wait = false;
  double timeout_s = 30;
};

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The run's table as its checkpoint and journal hold it, read without changing either. A hub may be
// replacing both meanwhile (a snapshot renames the new checkpoint into place, then empties the
// journal), which a reader can see as a journal newer than its checkpoint: a failure is read again a
// few times before it counts as damage. Throws InputError naming the damaged file then: a file
// submitted to a run whose state cannot be read would wait for a hub that refuses to start.
core::TaskTable read_run(const std::string& dir) {
  for (int attempt = 1;; ++attempt) {
    try {
      store::CheckpointMeta meta;
      core::TaskTable table = store::read_checkpoint(dir + "/checkpoint.h5", &meta);
      if (exists(dir + "/journal")) store::apply_journal(dir + "/journal", meta.journal_epoch, table);
      return table;
    } catch (const InputError& e) {
      if (attempt == 5)
        throw InputError(std::string(e.what()) +
                         "; nothing was submitted (restore the file, or start the run over with mpiq run "
                         "--fresh)");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

// Checks FILE as far as can be done here: everything but what the run's live state decides. Throws
// InputError for bad input.
void check_file(const SubmitOptions& o, const std::string& text, const core::TaskTable& run) {
  core::RunContext unknown;  // the run's names unknown: names from outside the file are listed
  const core::Submission alone = core::parse_submission(text, o.file, unknown);
  bool defines_names = false;
  for (core::TaskIndex r = 0; r < alone.tasks.size() && !defines_names; ++r)
    defines_names = !alone.tasks.name[r].empty();
  if (alone.outside_names.empty() && !defines_names) return;
  core::parse_submission(text, o.file, core::run_context(run));  // unknown or duplicate names
}

}  // namespace

std::string drop_into_inbox(const std::string& inbox, const std::string& text, const std::string& ext) {
  if (::mkdir(inbox.c_str(), 0700) != 0 && errno != EEXIST) store::throw_errno(inbox, "mkdir");
  const auto ns = static_cast<long long>(exec::wall_now() * 1e9);
  const std::string name =
      std::to_string(ns) + "-" + exec::host_name() + "-" + std::to_string(getpid()) + ext;
  const std::string tmp = inbox + "/." + name + ".tmp", final_path = inbox + "/" + name;
  store::FileDescriptor fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) store::throw_errno(tmp, "open");
  try {
    store::write_all(fd.get(), text.data(), text.size(), tmp);
    store::fsync_fd(fd.get(), tmp);
    fd.close(tmp);
    if (::rename(tmp.c_str(), final_path.c_str()) != 0) store::throw_errno(tmp, "rename");
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  store::fsync_directory(inbox);
  return name;
}

InboxVerdict await_inbox_verdict(const std::string& run_dir, const std::string& name, double timeout_s) {
  const std::string where = run_dir + "/inbox/" + name, done = run_dir + "/inbox/done/" + name;
  const double give_up = exec::mono_now() + timeout_s;
  double next_lock_check = exec::mono_now() + 1;
  for (;;) {
    if (!exists(where)) {  // still there: not taken yet, or the verdict is written and the move follows
      if (auto v = read_small_file(done + ".accepted")) return {InboxVerdict::Kind::accepted, std::move(*v)};
      if (auto v = read_small_file(done + ".rejected")) return {InboxVerdict::Kind::rejected, std::move(*v)};
    }
    const double now = exec::mono_now();
    if (now >= give_up) return {InboxVerdict::Kind::waiting, {}};
    // The hub may end (its tasks all ended) without taking the file: it then waits for the next run.
    if (now >= next_lock_check) {
      next_lock_check = now + 1;
      if (!hub::RunDirectory::held_by_live_hub(run_dir) && exists(where)) return {InboxVerdict::Kind::hub_ended, {}};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

namespace {

// `accepted base=B first=F last=L tasks=N` -> the user's sentence.
std::string describe_accepted(const std::string& verdict, const std::string& file) {
  std::istringstream in(verdict);
  std::string word, base, first, last, tasks;
  while (in >> word) {
    const auto eq = word.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = word.substr(0, eq), value = word.substr(eq + 1);
    if (key == "base") base = value;
    if (key == "first") first = value;
    if (key == "last") last = value;
    if (key == "tasks") tasks = value;
  }
  return tasks + " task(s), ids " + first + "-" + last + " (id = " + base + " + line of " + file + ")";
}

int submit(const SubmitOptions& o) {
  struct stat st {};
  if (::stat(o.run_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw InputError(o.run_dir + ": no such run directory");
  if (!exists(o.run_dir + "/checkpoint.h5"))
    throw InputError(o.run_dir +
                     ": not an mpiq run directory (no checkpoint.h5); start the run with mpiq run");
  if (::stat(o.file.c_str(), &st) == 0 && st.st_size > (64 << 20))
    throw InputError(o.file + ": too large for one submission (at most 64 MiB): split it into several files");
  const std::string text = store::read_task_file(o.file);
  const core::TaskTable run = read_run(o.run_dir);  // damaged state is refused before the inbox changes
  check_file(o, text, run);

  const std::string inbox = o.run_dir + "/inbox", done = inbox + "/done";
  const std::string name = drop_into_inbox(inbox, text, ".tasks");
  const std::string where = inbox + "/" + name;
  if (!hub::RunDirectory::held_by_live_hub(o.run_dir)) {
    std::cout << "mpiq: " << o.file << " waits in " << where << ": no hub runs on " << o.run_dir
              << " now; the next `mpiq run` on it takes it\n";
    return 0;
  }
  if (o.no_wait) {
    std::cout << "mpiq: " << o.file << " submitted as " << where << "; the verdict will be in " << done << "/"
              << name << ".accepted or .rejected\n";
    return 0;
  }

  InboxVerdict v = await_inbox_verdict(o.run_dir, name, o.timeout_s);
  switch (v.kind) {
    case InboxVerdict::Kind::accepted:
      std::cout << "mpiq: " << o.file << " accepted: " << describe_accepted(v.text, o.file) << "\n";
      return 0;
    case InboxVerdict::Kind::rejected:
      // The hub names the file by its inbox name: say the user's instead.
      if (v.text.compare(0, name.size(), name) == 0) v.text = o.file + v.text.substr(name.size());
      while (!v.text.empty() && v.text.back() == '\n') v.text.pop_back();
      std::cerr << "mpiq: rejected by the hub: " << v.text << "\n";
      return 2;
    case InboxVerdict::Kind::waiting:
      std::cout << "mpiq: no verdict after " << o.timeout_s << " s; " << o.file << " waits in " << where
                << " and the verdict will be in " << done << "/" << name << ".accepted or .rejected\n";
      return 0;
    case InboxVerdict::Kind::hub_ended:
      std::cout << "mpiq: the hub ended before taking " << o.file << "; it waits in " << where
                << " for the next `mpiq run` on " << o.run_dir << "\n";
      return 0;
  }
  return 0;
}

}  // namespace

void add_submit_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("submit", "Add the tasks of a task file to a run, running or not");
  cmd->footer(
      "The file is checked, dropped into RUN_DIR/inbox/ and taken by the hub, which gives its tasks the\n"
      "ids base + line (base: the run's last id rounded up to a multiple of 1000, printed). Numeric and\n"
      "relative dependencies refer to lines of FILE; a name to a task of FILE or to any named task already\n"
      "in the run. Without a live hub, the file waits for the next `mpiq run` on RUN_DIR. Works from inside\n"
      "a task: mpiq submit \"$MPIQ_RUN_DIR\" more.tasks.\n"
      "Exit 0: accepted (or waiting, as printed); 2: bad input or rejected by the hub, nothing added.");
  auto o = std::make_shared<SubmitOptions>();
  cmd->add_option("RUN_DIR", o->run_dir,
                  "The run's directory (--run-dir of mpiq run; tasks.mpiq/ for tasks.txt)")
      ->required();
  cmd->add_option("FILE", o->file, "Task file to add (the task-file language of mpiq run)")->required();
  cmd->add_flag("--no-wait", o->no_wait, "Return once the file is in the inbox, without the hub's verdict");
  cmd->add_option("--timeout", o->timeout_s, "Seconds to wait for the hub's verdict (default 30)")
      ->check(CLI::PositiveNumber);
  cmd->callback([o, exit_code] { *exit_code = submit(*o); });
}

}  // namespace mpiq::cli
