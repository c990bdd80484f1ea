#include "hub/run_directory.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "exec/clock.hpp"
#include "exec/host.hpp"
#include "mpiq/error.hpp"
#include "mpiq/version.hpp"
#include "store/atomic_file.hpp"

namespace mpiq::hub {

namespace fs = std::filesystem;

namespace {
// Entries that mark a directory as a run directory: a non-empty directory with none of them is
// someone else's, and mpiq will not write into it.
constexpr const char* kMarkers[] = {"checkpoint.h5", "journal", "lock", "status.json", "hub.log", "out"};

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

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
    bool marked = false, empty = true;
    for (const auto& e : fs::directory_iterator(path_)) {
      empty = false;
      for (const char* m : kMarkers)
        if (e.path().filename() == m) marked = true;
    }
    if (!empty && !marked)
      throw InputError(path_ +
                       ": is a directory that is not an mpiq run directory; choose another --run-dir");
    lock();
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

bool RunDirectory::held_by_live_hub(const std::string& path) {
  const int fd = ::open((path + "/lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool live = ::flock(fd, LOCK_SH | LOCK_NB) != 0;
  ::close(fd);
  return live;
}

void RunDirectory::lock() {
  const std::string p = file("lock");
  lock_fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) throw InputError(p + ": cannot open: " + std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    char holder[256] = {};
    ssize_t n = ::pread(lock_fd_, holder, sizeof holder - 1, 0);
    std::string who = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "another process";
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw InputError(path_ + ": in use by a live mpiq hub (" + who +
                     "); wait for it to finish or use another --run-dir");
  }
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
  if (exists(journal)) replay = store::apply_journal(journal, meta_.journal_epoch, restored_);
  replayed_submissions_ = std::move(replay.submissions);
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

void RunDirectory::start(const core::TaskTable& table) {
  if (lock_fd_ < 0) {
    if (::mkdir(path_.c_str(), 0700) != 0 && errno != EEXIST)
      throw InputError(path_ + ": cannot create the run directory: " + std::strerror(errno));
    lock();
  }
  for (const char* sub : {"out", "inbox"}) ::mkdir(file(sub).c_str(), 0700);
  if (mode_.fresh) keep_previous_state();
  meta_.mpiq_version = kVersion;
  meta_.slurm_job_ids = slurm_job_ids_plus_current(meta_.slurm_job_ids);
  // The first snapshot makes the resumed (or new) state the base the journal builds on.
  snapshot(table);
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

RunDirectory::Syncer::Syncer() : thread_([this] { loop(); }) {}

RunDirectory::Syncer::~Syncer() {
  stop();
}

void RunDirectory::Syncer::request(int fd) {
  {
    std::lock_guard lock(mutex_);
    fd_ = fd;
    requested_ = true;
  }
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

void RunDirectory::snapshot(const core::TaskTable& table) {
  ++meta_.journal_epoch;
  meta_.created = "";
  store::write_checkpoint(file("checkpoint.h5"), table, meta_);
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
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
}

}  // namespace mpiq::hub
