#include "embed/run_state.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "exec/clock.hpp"
#include "mpiq/error.hpp"
#include "mpiq/version.hpp"
#include "store/atomic_file.hpp"

namespace mpiq::embed {

namespace fs = std::filesystem;

namespace {
bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}
}  // namespace

RunState::RunState(std::string path, bool fresh) : path_(std::move(path)) {
  struct stat st;
  if (::stat(path_.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw InputError(path_ + ": exists and is not a directory (--run-dir)");
    bool marked = false, empty = true;
    for (const auto& e : fs::directory_iterator(path_)) {
      empty = false;
      for (const char* m : {"checkpoint.h5", "journal", "lock", "status.json", "hub.log", "out"})
        if (e.path().filename() == m) marked = true;
    }
    if (!empty && !marked)
      throw InputError(path_ + ": is a directory that is not an mpiq run directory; choose another --run-dir");
  } else if (::mkdir(path_.c_str(), 0700) != 0 && errno != EEXIST) {
    throw InputError(path_ + ": cannot create the run directory: " + std::strerror(errno));
  }
  const std::string lock = file("lock");
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) throw InputError(lock + ": cannot open: " + std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw InputError(path_ + ": in use by a live mpiq hub; wait for it to finish or use another --run-dir");
  }
  char host[HOST_NAME_MAX + 1] = {};
  gethostname(host, sizeof host - 1);
  const std::string me = std::string(host) + " " + std::to_string(getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 || ::pwrite(lock_fd_, me.data(), me.size(), 0) < 0) {
    // The lock itself is held; only the note of who holds it is missing.
  }

  const std::string checkpoint = file("checkpoint.h5"), journal = file("journal");
  if (fresh) {
    for (const char* name : {"checkpoint.h5", "journal", "status.json"})
      if (exists(file(name))) fs::rename(file(name), file(name) + ".prev");
  } else if (exists(checkpoint)) {
    restored_ = store::read_checkpoint(checkpoint, &meta_);
    if (exists(journal)) store::apply_journal(journal, meta_.journal_epoch, restored_);
    resuming_ = true;
    ++meta_.restarts;
  } else if (exists(journal)) {
    throw InputError(journal + ": a journal without checkpoint.h5: this run directory is damaged; start fresh");
  }
  for (const char* sub : {"out", "inbox"}) ::mkdir(file(sub).c_str(), 0700);
}

RunState::~RunState() {
  try {
    close();
  } catch (...) {
    // A destructor never throws; close() already reported what it could.
  }
}

void RunState::set_task_file(const std::string& path, const std::string& sha256) {
  meta_.task_file = path;
  meta_.task_file_sha256 = sha256;
}

void RunState::start(const core::TaskTable& table) {
  meta_.mpiq_version = kVersion;
  if (const char* job = std::getenv("SLURM_JOB_ID"); job && *job)
    if (meta_.slurm_job_ids.empty() || meta_.slurm_job_ids.back() != job) meta_.slurm_job_ids.emplace_back(job);
  snapshot(table);
}

void RunState::finalized(const core::TaskTable& table, std::span<const core::TaskIndex> rows) {
  if (!journal_) return;
  for (core::TaskIndex t : rows) journal_->append(store::JournalRecord::from_row(table, t));
  journal_->flush();
  // Batched fsync at most every 50 ms, as `mpiq run` does: a kill -9 loses nothing already flushed.
  const double now = exec::mono_now();
  if (now - last_sync_ >= 0.05) {
    journal_->sync();
    last_sync_ = now;
  }
}

void RunState::appended(const core::TaskTable& table, core::TaskIndex first_row) {
  if (!journal_) return;
  journal_->append_tasks(table, first_row);
  journal_->flush();
}

void RunState::snapshot(const core::TaskTable& table) {
  ++meta_.journal_epoch;
  meta_.created = "";
  store::write_checkpoint(file("checkpoint.h5"), table, meta_);
  if (journal_)
    journal_->truncate(meta_.journal_epoch);
  else
    journal_ = std::make_unique<store::Journal>(store::Journal::open(file("journal"), meta_.journal_epoch));
}

void RunState::status(const std::string& json) { store::write_file_atomically(file("status.json"), json); }

void RunState::close() {
  if (journal_) {
    journal_->flush();
    journal_->sync();
  }
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
}

}  // namespace mpiq::embed
