#include "hub/run_directory.hpp"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "core/task_outcome.hpp"
#include "exec/clock.hpp"
#include "exec/host.hpp"
#include "mpiq/error.hpp"
#include "mpiq/version.hpp"
#include "store/atomic_file.hpp"

namespace mpiq::hub {

namespace fs = std::filesystem;

namespace {
// What marks a directory as a run directory (docs/design.md §6): the marker, written first, or (made by
// a version before the marker) a checkpoint. A non-empty directory with neither is someone else's,
// whatever else it holds (an out/, a hub.log, a status.json), and mpiq writes nothing into it.
constexpr const char* kMarker = "mpiq-run";
constexpr const char* kMarkers[] = {kMarker, "checkpoint.h5"};
// The fallback lock where flock(2) does not work (see lock()).
constexpr const char* kExclusiveLock = "lock.excl";
// What a lost race for the lock usually means (docs/design.md §12).
constexpr const char* kSeveralHubsHint =
    " (several copies of mpiq started at once? srun without PMI starts every task as a hub of its own: "
    "use srun --mpi=pmix)";

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

}  // namespace

void make_private(const std::string& dir, std::vector<std::string>* notes) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  if (::chmod(dir.c_str(), st.st_mode & 07700) == 0)
    notes->push_back(dir + " was open to other users (mode " + mode +
                     "): made private (0700), since it holds the commands and the tasks' output");
  else
    notes->push_back("warning: " + dir + " is open to other users (mode " + mode +
                     ") and cannot be made private: " + std::strerror(errno));
}

namespace {
std::vector<std::string> slurm_job_ids_plus_current(std::vector<std::string> ids) {
  if (const char* job = std::getenv("SLURM_JOB_ID"); job && *job)
    if (ids.empty() || ids.back() != job) ids.emplace_back(job);
  return ids;
}
}  // namespace

RunDirectory::RunDirectory(std::string path, ResumeMode mode) : path_(std::move(path)), mode_(mode) {
  struct stat st;
  if (::stat(path_.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw InputError(path_ + ": exists and is not a directory (--run-dir)");
    // A directory that holds only a lock (and perhaps the marker being written) is one another hub
    // has just made: start() locks before it writes the marker. It is a run directory, and lock()
    // below says who holds it.
    bool marked = false, only_locks = true;
    for (const auto& e : fs::directory_iterator(path_)) {
      const std::string name = e.path().filename().string();
      for (const char* m : kMarkers)
        if (name == m) marked = true;
      if (name != "lock" && name != kExclusiveLock && name != std::string(kMarker) + ".tmp")
        only_locks = false;
    }
    if (!marked && !only_locks)
      throw InputError(path_ + ": is a directory that is not an mpiq run directory (it has no " + kMarker +
                       " file); choose another --run-dir");
    // Without a lock file no hub has started here; start() takes it. Creating it now would change a
    // directory that a refused run (bad input, exit 2) must leave as it was.
    checkpoint_seen_ = exists(file("checkpoint.h5"));
    if (exists(file("lock"))) lock(/*note=*/false);
    if (!mode_.fresh) read_state();
  }
}

RunDirectory::~RunDirectory() {
  try {
    close();
  } catch (...) {
    // A destructor never throws; close() already reported what it could.
  }
}

namespace {
// The fallback lock where flock(2) does not work (Lustre mounted without -o flock: ENOSYS; some NFS
// setups: ENOLCK), or where MPIQ_LOCK=file asks for it: `lock.excl`, created with O_EXCL, holding
// "HOST PID BOOT_ID". It is stale when it names this host and either another boot or a pid that is
// gone; on another host it cannot be checked, and the message says how to remove it.
std::string boot_id() {
  std::string id;
  if (FILE* f = std::fopen("/proc/sys/kernel/random/boot_id", "r")) {
    char buf[64] = {};
    if (std::fgets(buf, sizeof buf, f)) id = buf;
    std::fclose(f);
  }
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id.empty() ? "-" : id;
}

struct ExclusiveHolder {
  std::string host, boot;
  long pid = 0;
  bool parsed = false;
};

ExclusiveHolder read_exclusive(const std::string& p) {
  ExclusiveHolder h;
  if (FILE* f = std::fopen(p.c_str(), "r")) {
    char host[256] = {}, boot[64] = {};
    h.parsed = std::fscanf(f, "%255s %ld %63s", host, &h.pid, boot) == 3;
    std::fclose(f);
    h.host = host;
    h.boot = boot;
  }
  return h;
}

// True when the holder in `p` is certainly gone (this host, and another boot or a dead pid).
bool exclusive_is_stale(const ExclusiveHolder& h) {
  if (!h.parsed || h.host != exec::host_name()) return false;
  if (h.boot != boot_id()) return true;
  return ::kill(static_cast<pid_t>(h.pid), 0) != 0 && errno == ESRCH;
}

bool flock_unsupported(int err) {
  return err == ENOSYS || err == ENOLCK || err == EOPNOTSUPP || err == EINVAL;
}

bool forced_file_lock() {
  const char* m = std::getenv("MPIQ_LOCK");
  return m && std::string_view(m) == "file";
}
}  // namespace

bool RunDirectory::held_by_live_hub(const std::string& path) {
  const std::string excl = path + "/" + kExclusiveLock;
  if (exists(excl)) return !exclusive_is_stale(read_exclusive(excl));
  const int fd = ::open((path + "/lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool live = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && !flock_unsupported(errno);
  ::close(fd);
  return live;
}

void RunDirectory::lock_exclusive(const std::string& why) {
  const std::string p = file(kExclusiveLock);
  const std::string me = exec::host_name() + " " + std::to_string(getpid()) + " " + boot_id() + "\n";
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      const bool written = ::write(fd, me.data(), me.size()) == static_cast<ssize_t>(me.size());
      ::fsync(fd);
      ::close(fd);
      if (!written) {
        ::unlink(p.c_str());
        throw InputError(p + ": cannot write the lock file");
      }
      exclusive_lock_ = true;
      notes_.push_back("lock: " + why + "; using " + p + " (O_EXCL) instead");
      return;
    }
    if (errno != EEXIST) throw InputError(p + ": cannot create the lock file: " + std::strerror(errno));
    const ExclusiveHolder h = read_exclusive(p);
    if (attempt == 0 && exclusive_is_stale(h)) {
      ::unlink(p.c_str());  // its hub is gone (this host: another boot, or no such process)
      continue;
    }
    throw InputError(path_ + ": in use by a live mpiq hub (" +
                     (h.parsed ? h.host + " " + std::to_string(h.pid) : "?") + ", by " + kExclusiveLock +
                     ": this file system has no flock); if no hub runs there, remove " + p +
                     " and run again");
  }
}

void RunDirectory::lock(bool note) {
  const std::string p = file("lock");
  lock_fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) throw InputError(p + ": cannot open: " + std::strerror(errno));
  const bool forced = forced_file_lock();
  if (forced || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (forced || flock_unsupported(errno)) {
      // Not "in use": this file system cannot flock (or MPIQ_LOCK=file). The O_EXCL file is the lock.
      const std::string why = forced
                                  ? "MPIQ_LOCK=file"
                                  : std::string("flock is not supported here (") + std::strerror(errno) + ")";
      lock_exclusive(why);
      if (note) note_lock_holder();
      return;
    }
    char holder[256] = {};
    ssize_t n = ::pread(lock_fd_, holder, sizeof holder - 1, 0);
    std::string who = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "another process";
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw InputError(path_ + ": in use by a live mpiq hub (" + who +
                     "); wait for it to finish or use another --run-dir" + kSeveralHubsHint);
  }
  if (note) note_lock_holder();
}

void RunDirectory::note_lock_holder() {
  const std::string me = exec::host_name() + " " + std::to_string(getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 || ::pwrite(lock_fd_, me.data(), me.size(), 0) < 0) {
    // The lock itself is held; only the note of who holds it is missing.
  }
}

void RunDirectory::keep_previous_state() {
  for (const char* name : {"checkpoint.h5", "journal", "status.json"}) {
    const std::string p = file(name);
    if (exists(p)) fs::rename(p, p + ".prev");
  }
  notes_.push_back("--fresh: the previous state is kept as checkpoint.h5.prev and journal.prev");
}

void RunDirectory::read_state() {
  const std::string checkpoint = file("checkpoint.h5");
  const std::string journal = file("journal");
  if (!exists(checkpoint)) {
    if (exists(journal))
      throw InputError(journal +
                       ": a journal without checkpoint.h5: this run directory is damaged; use --fresh "
                       "to start over (the old state is kept as *.prev)");
    return;
  }
  restored_ = store::read_checkpoint(checkpoint, &meta_);
  store::ReplayResult replay;
  if (exists(journal)) try {
      replay = store::apply_journal(journal, meta_.journal_epoch, restored_, &meta_.earlier_attempts);
    } catch (const InputError& e) {
      // Damage is refused (exit 2), never cut off unseen: what follows it may be finished tasks.
      throw InputError(std::string(e.what()) +
                       "; restore it, or use --fresh to start over (the old state is kept as *.prev)");
    }
  // The checkpoint's unmoved files first (taken before the snapshot), then the journal's.
  replayed_submissions_ = std::move(meta_.inbox_taken);
  meta_.inbox_taken.clear();
  replayed_submissions_.insert(replayed_submissions_.end(), replay.submissions.begin(), replay.submissions.end());
  resuming_ = true;
  ++meta_.restarts;
  uint64_t counts[core::kTaskStateCount] = {};
  for (core::TaskState s : restored_.state) ++counts[static_cast<size_t>(s)];
  notes_.push_back("resuming run (restart " + std::to_string(meta_.restarts) +
                   "): " + std::to_string(counts[static_cast<size_t>(core::TaskState::done)]) + " done, " +
                   std::to_string(counts[static_cast<size_t>(core::TaskState::failed)]) + " failed, " +
                   std::to_string(counts[static_cast<size_t>(core::TaskState::skipped)]) + " skipped; " +
                   std::to_string(replay.records) + " journal record(s) replayed");
  if (replay.dropped_bytes > 0)
    notes_.push_back("journal: ignored a torn last record (" + std::to_string(replay.dropped_bytes) +
                     " bytes), the trace of a crash while it was written");
  if (mode_.retry_failed) {
    size_t again = 0;
    for (size_t i = 0; i < restored_.size(); ++i)
      if (restored_.state[i] == core::TaskState::failed || restored_.state[i] == core::TaskState::skipped) {
        keep_last_attempt(static_cast<core::TaskIndex>(i));
        restored_.state[i] = core::TaskState::waiting;
        restored_.attempts[i] = 0;
        restored_.exit_code[i] = -1;
        restored_.signal[i] = 0;
        ++again;
      }
    notes_.push_back("--retry-failed: " + std::to_string(again) +
                     " failed or skipped task(s) get another go");
  }
}

void RunDirectory::set_task_file(const std::string& path, const std::string& sha256) {
  if (resuming_ && meta_.task_file_sha256 != sha256)
    throw InputError(path + ": has changed since the run in " + path_ + " started (" + meta_.created +
                     "); restore it, or use --fresh to start over (the old state is kept as *.prev)");
  meta_.task_file = path;
  meta_.task_file_sha256 = sha256;
}

void RunDirectory::apply_edit(const std::string& path, const std::string& sha256, core::TaskTable edited,
                              const std::string& summary, bool output_files,
                              const std::vector<core::TaskIndex>& new_row) {
  const std::string refuse =
      path + ": has changed since the run in " + path_ + " started (" + meta_.created + "), ";
  const std::string fresh = "; restore it, or use --fresh to start over (the old state is kept as *.prev)";
  std::error_code ec;
  bool submitted = !replayed_submissions_.empty();
  for (const auto& entry : std::filesystem::directory_iterator(file("inbox/done"), ec))
    if (entry.path().extension() == ".accepted") submitted = true;
  if (submitted)
    throw InputError(refuse + "and the run holds tasks added by mpiq submit, which an edit would drop" +
                     fresh);
  if (output_files)
    throw InputError(refuse + "and --task-output files keeps output by task id, which an edit moves" + fresh);
  restored_ = std::move(edited);
  meta_.earlier_attempts.remap(new_row);
  meta_.task_file_edits.push_back("restart " + std::to_string(meta_.restarts) + ": " + summary);
  notes_.push_back(summary);
  meta_.task_file = path;
  meta_.task_file_sha256 = sha256;
}

void RunDirectory::start(const core::TaskTable& table) {
  if (lock_fd_ < 0) {
    if (::mkdir(path_.c_str(), 0700) != 0 && errno != EEXIST)
      throw InputError(path_ + ": cannot create the run directory: " + std::strerror(errno));
    lock();
    // The directory held no state when this run looked, so it starts from nothing; if another hub
    // made it and saved state in it since, starting over here would overwrite that state.
    if (!checkpoint_seen_ && exists(file("checkpoint.h5"))) {
      ::close(lock_fd_);
      lock_fd_ = -1;
      throw InputError(path_ + ": another mpiq hub started a run in this directory meanwhile" +
                       std::string(kSeveralHubsHint));
    }
  } else {
    note_lock_holder();  // the run starts: from here on this hub changes the directory
  }
  make_private(path_, &notes_);
  // The marker first: whatever happens next, the directory is known as a run directory.
  if (!exists(file(kMarker)))
    store::write_file_atomically(file(kMarker), std::string("mpiq run directory (") + kVersion + ")\n");
  for (const char* sub : {"out", "inbox"}) {
    ::mkdir(file(sub).c_str(), 0700);
    make_private(file(sub), &notes_);
  }
  if (mode_.fresh) keep_previous_state();
  meta_.mpiq_version = kVersion;
  meta_.slurm_job_ids = slurm_job_ids_plus_current(meta_.slurm_job_ids);
  // The first snapshot makes the resumed (or new) state the base the journal builds on.
  snapshot(table);
}

void RunDirectory::keep_last_attempt(core::TaskIndex t) {
  const core::TaskTable& r = restored_;
  if (r.state[t] != core::TaskState::failed || r.start_time[t] <= 0 || r.worker_rank[t] < 0) return;
  const std::string_view why = core::mpiq_reason(r.result[t]);
  // A task the crash limit failed at load: its lost try is an earlier attempt already.
  if (why.starts_with("its worker was lost")) return;
  const core::AttemptEnd end = why.starts_with("timed out")      ? core::AttemptEnd::timed_out
                               : why.starts_with("cannot start") ? core::AttemptEnd::start_failed
                                                                 : core::AttemptEnd::failed;
  meta_.earlier_attempts.add({t, r.attempts[t], r.worker_rank[t], r.exit_code[t], r.signal[t], end,
                              r.start_time[t], r.end_time[t], r.max_rss_kb[t]});
}

void RunDirectory::earlier_attempts(std::span<const core::EarlierAttempt> attempts) {
  std::vector<core::EarlierAttempt> kept;
  const uint64_t dropped_before = meta_.earlier_attempts.dropped();
  for (const core::EarlierAttempt& a : attempts)
    if (meta_.earlier_attempts.add(a)) kept.push_back(a);
  // Written by the changed() that follows (hub/hub.hpp), in the same write as the rows' updates.
  if (journal_) journal_->append_earlier_attempts(kept, meta_.earlier_attempts.dropped() - dropped_before);
}

void RunDirectory::finalized(const core::TaskTable& table, std::span<const core::TaskIndex> rows) {
  if (!journal_) return;
  for (core::TaskIndex t : rows) journal_->append(store::JournalRecord::from_row(table, t));
  journal_->flush();
  // Batched fsync, off the hub's thread: asked for at most every 50 ms, so a power loss can take only
  // the last tens of milliseconds of records (a kill -9 of mpiq takes none: they are written).
  const double now = exec::mono_now();
  if (now - last_sync_ >= 0.05) {
    syncer_.request(journal_->native_handle());
    last_sync_ = now;
  }
}

// The thread starts at the first request, not here: the run directory loads its checkpoint in a fork
// (store/child_check.hpp) after this member is built, and a thread that is starting at the fork can
// hold a lock the child then waits for (under ASan: the allocator's; a unit test's child hung 60 s).
RunDirectory::Syncer::Syncer() = default;

RunDirectory::Syncer::~Syncer() {
  stop();
}

void RunDirectory::Syncer::request(int fd) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    fd_ = fd;
    requested_ = true;
  }
  if (!thread_.joinable())
    thread_ = std::thread([this] { loop(); });  // sees the request at once
  else
    wake_.notify_one();
}

void RunDirectory::Syncer::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void RunDirectory::Syncer::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return requested_ || stopping_; });
    if (requested_) {
      const int fd = fd_;
      requested_ = false;
      lock.unlock();
      // A failure here is seen again by the synchronous sync at close(), which reports it.
      ::fdatasync(fd);
      lock.lock();
      continue;
    }
    if (stopping_) return;
  }
}

void RunDirectory::appended(const core::TaskTable& table, core::TaskIndex first_row) {
  if (!journal_) return;
  if (submission_file_.empty()) {
    journal_->append_tasks(table, first_row);
    journal_->flush();
    return;
  }
  const std::string file = std::move(submission_file_);
  submission_file_.clear();
  journal_->append_submission(table, first_row, file, submission_base_);
  // Synced, not only flushed: the inbox moves the file away once this returns, and a crash of the node
  // must not keep that move and lose the tasks.
  journal_->sync();
}

void RunDirectory::unmoved(store::TakenSubmission t) {
  moved(t.file);
  meta_.inbox_taken.push_back(std::move(t));
}

void RunDirectory::moved(const std::string& file) {
  std::erase_if(meta_.inbox_taken, [&](const store::TakenSubmission& t) { return t.file == file; });
}

void RunDirectory::snapshot(const core::TaskTable& table) {
  ++meta_.journal_epoch;
  meta_.created = "";
  try {
    store::write_checkpoint(file("checkpoint.h5"), table, meta_);
  } catch (...) {
    // The checkpoint on disk is still the last one, and the journal still follows it: a later
    // snapshot (once there is room) must not skip an epoch that the journal's records belong to.
    --meta_.journal_epoch;
    throw;
  }
  // The snapshot holds everything the journal held: start a new journal for this epoch. A crash
  // between the two leaves an older epoch's journal, which a restart recognises and ignores.
  if (journal_)
    journal_->truncate(meta_.journal_epoch);
  else
    journal_ = std::make_unique<store::Journal>(store::Journal::open(file("journal"), meta_.journal_epoch));
}

void RunDirectory::status(const std::string& json) {
  store::write_file_for_readers(file("status.json"), json);
}

void RunDirectory::close() {
  syncer_.stop();  // before the journal's last sync, and before the journal can go away
  if (journal_) {
    journal_->flush();
    journal_->sync();
  }
  if (exclusive_lock_) {
    ::unlink(file(kExclusiveLock).c_str());
    exclusive_lock_ = false;
  }
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
}

}  // namespace mpiq::hub
