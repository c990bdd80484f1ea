#include "hub/inbox.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/task_selector.hpp"
#include "core/task_syntax.hpp"
#include "exec/clock.hpp"
#include "exec/fault.hpp"
#include "mpiq/error.hpp"
#include "store/atomic_file.hpp"
#include "store/journal.hpp"
#include "store/posix_file.hpp"
#include "store/task_file_io.hpp"

namespace mpiq::hub {

namespace {

// A submission larger than a journal record can hold is refused anyway; reading no more than this
// keeps a stray huge file from costing the hub its memory.
constexpr off_t kMaxFileBytes = 64 << 20;

bool is_submission_name(std::string_view name) {
  constexpr std::string_view kExt = ".tasks";
  // No newline: the checkpoint's inbox_taken is one line per name.
  return !name.empty() && name[0] != '.' && name.size() > kExt.size() &&
         name.substr(name.size() - kExt.size()) == kExt && name.find('\n') == std::string_view::npos;
}

bool is_request_name(std::string_view name) {
  constexpr std::string_view kExt = ".cancel";
  return !name.empty() && name[0] != '.' && name.size() > kExt.size() &&
         name.substr(name.size() - kExt.size()) == kExt;
}

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string accepted_line(core::TaskId base, core::TaskId first, core::TaskId last, uint64_t tasks) {
  return "accepted base=" + std::to_string(base) + " first=" + std::to_string(first) +
         " last=" + std::to_string(last) + " tasks=" + std::to_string(tasks) + "\n";
}

std::string describe_ids(core::TaskId base, core::TaskId first, core::TaskId last, uint64_t tasks) {
  return std::to_string(tasks) + " task(s), ids " + std::to_string(first) + "-" + std::to_string(last) +
         " (id = " + std::to_string(base) + " + line)";
}

// The verdict first, then the move, then both directories synced: once the file has left the inbox its
// verdict is there, and a crash of the node cannot bring the file back (see the header).
void write_verdict_and_move(const std::string& inbox, const std::string& done, const std::string& name,
                            const std::string& ext, const std::string& verdict) {
  store::write_file_atomically(done + "/" + name + ext, verdict);
  const std::string from = inbox + "/" + name, to = done + "/" + name;
  if (::rename(from.c_str(), to.c_str()) != 0) store::throw_errno(from, "rename");
  store::fsync_directory(inbox);
  store::fsync_directory(done);
}

void make_done_directory(const std::string& done) {
  if (::mkdir(done.c_str(), 0700) != 0 && errno != EEXIST) store::throw_errno(done, "mkdir");
}

// The tasks (not barriers) that the taken file `t` added to `table`.
uint64_t tasks_of(const store::TakenSubmission& t, const core::TaskTable& table) {
  uint64_t tasks = 0;
  const auto first = table.find(t.first_id);
  for (core::TaskIndex r = first.value_or(0); first && r < first.value() + t.rows && r < table.size(); ++r)
    if (!table.is_barrier(r)) ++tasks;
  return tasks;
}

}  // namespace

Inbox::Inbox(RunDirectory& dir, core::TaskTable& table, Log& log)
    : dir_(dir), table_(table), log_(log), inbox_(dir.path() + "/inbox"), done_(inbox_ + "/done") {
  // What finish_taken could not move either: never taken again, the move retried on each poll.
  for (const store::TakenSubmission& t : dir.unmoved_submissions())
    taken_.emplace(t.file, accepted_line(t.base, t.first_id, t.last_id, tasks_of(t, table)));
}

std::vector<std::string> Inbox::finish_taken(RunDirectory& dir, const core::TaskTable& table) {
  std::vector<std::string> notes;
  const std::string inbox = dir.path() + "/inbox", done = inbox + "/done";
  for (const store::TakenSubmission& t : dir.replayed_submissions()) {
    if (!is_regular_file(inbox + "/" + t.file)) continue;  // moved, as it should have been
    const uint64_t tasks = tasks_of(t, table);
    const std::string what = t.file + " was taken before the last stop (" +
                             describe_ids(t.base, t.first_id, t.last_id, tasks) + ")";
    try {
      make_done_directory(done);
      write_verdict_and_move(inbox, done, t.file, ".accepted", accepted_line(t.base, t.first_id, t.last_id, tasks));
      notes.push_back("inbox: " + what + "; moved to inbox/done");
    } catch (const std::exception& e) {
      // Still not movable: the checkpoints go on naming it, so no hub takes it twice.
      dir.unmoved(t);
      notes.push_back("inbox: " + what + " but cannot be moved to inbox/done (" + e.what() +
                      "); it is not taken again, and the move is retried while the run goes");
    }
  }
  return notes;
}

std::string format_steer_request(const SteerRequest& r) {
  std::string text = "grace " + std::to_string(static_cast<long long>(r.grace_s)) + "\n";
  for (const std::string& t : r.tasks) text += "task " + t + "\n";
  for (core::TaskState st : r.states) text += "state " + std::string(core::to_string(st)) + "\n";
  if (r.drain) text += "drain\n";
  return text;
}

SteerRequest parse_steer_request(std::string_view text, const std::string& name) {
  SteerRequest r;
  uint32_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty()) continue;
    const size_t sp = line.find(' ');
    const std::string_view key = line.substr(0, sp);
    const std::string value(sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1));
    if (key == "grace" && !value.empty() && value.find_first_not_of("0123456789") == std::string::npos &&
        value.size() < 10) {
      r.grace_s = static_cast<double>(std::stoul(value));
    } else if (key == "task" && !value.empty()) {
      r.tasks.push_back(value);
    } else if (key == "state" && core::parse_task_state(value)) {
      r.states.push_back(*core::parse_task_state(value));
    } else if (key == "drain" && value.empty()) {
      r.drain = true;
    } else {
      throw InputError(name, line_no, 1, "not a line of a cancel request: '" + std::string(line) + "'");
    }
  }
  return r;
}

std::vector<std::string> Inbox::waiting(bool requests) const {
  std::vector<std::string> names;
  DIR* d = ::opendir(inbox_.c_str());
  if (d == nullptr) return names;  // no inbox (yet): nothing waits
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (!is_submission_name(name) && !(requests && is_request_name(name))) continue;
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
    std::string n(name);
    if (given_up_.count(n)) continue;
    names.push_back(std::move(n));
  }
  ::closedir(d);
  // `mpiq submit` names files `<unix-ns>-<host>-<pid>.tasks`: name order is submission order.
  std::sort(names.begin(), names.end());
  return names;
}

bool Inbox::keeps_open() const {
  // Files this hub journalled but could not move are not waiting: they must not hold the run open.
  const std::vector<std::string> names = waiting(true);
  waiting_seen_ =
      std::any_of(names.begin(), names.end(), [&](const std::string& n) { return !taken_.count(n); });
  return waiting_seen_;
}

void Inbox::poll(Hub& hub) {
  const double now = exec::mono_now();
  if (now < next_poll_ && !waiting_seen_) return;
  next_poll_ = now + kPollInterval;
  waiting_seen_ = false;
  const auto fits = [&hub](uint32_t cores, uint32_t gpus, uint64_t mem_kb) {
    for (const WorkerRow& w : hub.workers())
      if (w.joined && !w.left && w.cores >= cores && w.gpu_count >= gpus &&
          (w.mem_kb == 0 || w.mem_kb >= mem_kb))
        return true;
    return false;
  };
  const auto steer = [&hub, this](const SteerRequest& r) -> std::string {
    if (r.drain) {
      hub.drain("mpiq cancel --drain");
      return "drained\n";
    }
    std::vector<core::TaskIndex> rows = core::resolve_task_words(table_, r.tasks, "the run");
    for (core::TaskIndex t = 0; t < table_.size() && !r.states.empty(); ++t)
      if (std::find(r.states.begin(), r.states.end(), table_.state[t]) != r.states.end() &&
          !table_.is_barrier(t))
        rows.push_back(t);
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    const CancelSummary c = hub.cancel(rows, r.grace_s);
    return "cancelled waiting=" + std::to_string(c.waiting) + " queued=" + std::to_string(c.queued) +
           " running=" + std::to_string(c.running) + " final=" + std::to_string(c.final) +
           " skipped=" + std::to_string(c.skipped) + "\n";
  };
  take_waiting([&hub](core::TaskIndex first_row) { hub.add_tasks(first_row); }, fits, steer);
}

size_t Inbox::take_waiting(const std::function<void(core::TaskIndex)>& add, const Fits& fits,
                           const Steer& steer) {
  const std::vector<std::string> names = waiting(static_cast<bool>(steer));
  for (const std::string& name : names) {
    if (is_request_name(name)) {
      take_request(name, steer);
      continue;
    }
    if (auto t = taken_.find(name); t != taken_.end()) {
      // Journalled earlier by this hub: only the move is left to do.
      if (finish(name, ".accepted", t->second)) {
        taken_.erase(t);
        dir_.moved(name);  // the next snapshot need not name it
      }
      continue;
    }
    take(name, add, fits);
  }
  return names.size();
}

core::RunContext Inbox::context() {
  for (; indexed_rows_ < table_.size(); ++indexed_rows_)
    if (!table_.name[indexed_rows_].empty() &&
        names_.find(table_.name[indexed_rows_]) == core::NameIndex::kNotFound)
      names_.insert(indexed_rows_);
  core::RunContext c;
  c.rows = static_cast<core::TaskIndex>(table_.size());
  c.last_id = table_.id.empty() ? 0 : table_.id.back();
  c.find_name = [this](std::string_view name) -> std::optional<core::RunTask> {
    const core::TaskIndex row = names_.find(name);
    if (row == core::NameIndex::kNotFound) return std::nullopt;
    return core::RunTask{row, table_.id[row]};
  };
  return c;
}

void Inbox::take(const std::string& name, const std::function<void(core::TaskIndex)>& add, const Fits& fits) {
  const std::string path = inbox_ + "/" + name;
  core::Submission s;
  try {
    if (!is_regular_file(path)) throw InputError(name, 0, 0, "not a regular file");
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && st.st_size > kMaxFileBytes)
      throw InputError(name, 0, 0,
                       "too large for one submission (" + std::to_string(st.st_size >> 20) +
                           " MiB, at most 64): split it into several files");
    s = core::parse_submission(store::read_task_file(path), name, context());
    for (core::TaskIndex r = 0; r < s.tasks.size(); ++r)
      if (!s.tasks.is_barrier(r) && !fits(s.tasks.cores[r], s.tasks.gpus[r], s.tasks.mem_kb[r]))
        throw InputError(
            name, s.tasks.id[r] - s.base, 1,
            "the task asks for " + core::plural(s.tasks.cores[r], "core") + " and " +
                core::plural(s.tasks.gpus[r], "GPU") +
                (s.tasks.mem_kb[r]
                     ? " on a node with " + core::format_memory(s.tasks.mem_kb[r]) + " of memory for tasks"
                     : std::string()) +
                ", which no worker of this run has");
    if (!store::submission_fits_journal(s.tasks, name))
      throw InputError(name, 0, 0, "too many tasks for one submission: split it into several files");
  } catch (const std::exception& e) {
    // InputError above all; anything else (a read error, memory) rejects the file the same way.
    reject(name, e.what());
    return;
  }

  const auto first_row = static_cast<core::TaskIndex>(table_.size());
  for (core::TaskIndex r = 0; r < s.tasks.size(); ++r) table_.append(s.tasks.spec(r));
  table_.init_runtime_columns();
  dir_.expect_submission(name, s.base);
  add(first_row);  // journals the rows and the file's name in one synced record: the file is taken
  exec::fault_point("inbox-journalled");  // taken, not yet moved: the next run must not add it again
  uint64_t tasks = 0;
  for (core::TaskIndex r = 0; r < s.tasks.size(); ++r)
    if (!s.tasks.is_barrier(r)) ++tasks;
  const core::TaskId first = s.tasks.id.front(), last = s.tasks.id.back();
  log_.info("inbox: took " + name + ": " + describe_ids(s.base, first, last, tasks));
  const std::string verdict = accepted_line(s.base, first, last, tasks);
  if (!finish(name, ".accepted", verdict)) {
    taken_.emplace(name, verdict);
    // Named by every snapshot until it moves: a snapshot empties the journal that names it now.
    dir_.unmoved({name, s.base, first, last, static_cast<uint32_t>(s.tasks.size())});
  }
}

void Inbox::take_request(const std::string& name, const Steer& steer) {
  const std::string path = inbox_ + "/" + name;
  std::string verdict;
  try {
    if (!is_regular_file(path)) throw InputError(name, 0, 0, "not a regular file");
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && st.st_size > kMaxFileBytes)
      throw InputError(name, 0, 0, "too large for a cancel request");
    verdict = steer(parse_steer_request(store::read_whole_file(path), name));
  } catch (const std::exception& e) {
    reject(name, e.what());
    return;
  }
  log_.info("inbox: took " + name + ": " + verdict.substr(0, verdict.size() - 1));
  finish(name, ".accepted", verdict);  // on failure the next poll takes it again, which changes nothing
}

void Inbox::reject(const std::string& name, const std::string& message) {
  log_.warn("inbox: rejected " + message);
  if (!finish(name, ".rejected", message + "\n")) given_up_.insert(name);
}

bool Inbox::finish(const std::string& name, const std::string& verdict_ext, const std::string& verdict) {
  try {
    make_done_directory(done_);
    write_verdict_and_move(inbox_, done_, name, verdict_ext, verdict);
    return true;
  } catch (const std::exception& e) {
    log_.error("inbox: cannot move " + name +
               " to inbox/done (it stays where it is, and is not taken twice "
               "by this hub): " +
               e.what());
    return false;
  }
}

}  // namespace mpiq::hub
