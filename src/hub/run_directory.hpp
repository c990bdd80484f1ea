#pragma once
/// The run directory (DESIGN §6): its layout, its lock, and the durable state of a run in it —
/// checkpoint.h5 snapshots with a journal of finished tasks in between (DESIGN §7) — plus status.json.
/// The hub reports to it through RunRecorder; the run command opens it before the hub starts.

#include <memory>
#include <string>
#include <vector>

#include "hub/hub.hpp"
#include "store/checkpoint.hpp"
#include "store/journal.hpp"

namespace mpiq::hub {

struct ResumeMode {
  bool fresh = false;         ///< start over, keeping the previous state as *.prev
  bool retry_failed = false;  ///< failed and skipped tasks get another go
};

class RunDirectory final : public RunRecorder {
 public:
  /// Checks `path` and takes its lock; creates nothing yet. Throws InputError when `path` is a file,
  /// a directory that is not a run directory, or one a live hub holds.
  RunDirectory(std::string path, std::string task_file, ResumeMode mode);
  ~RunDirectory() override;

  /// Brings `table` (just parsed from the task file) to where the run stands: a new run keeps it; a
  /// resumed one takes the checkpoint's table and replays the journal over it. Then creates the
  /// directory's layout and writes a first snapshot, so a checkpoint exists from the first second.
  /// Throws InputError, having changed nothing on disk, for a damaged checkpoint or journal or a task
  /// file that no longer matches the checkpoint.
  void load(core::TaskTable& table);
  /// What load() found, for the log (a resume, a torn journal record dropped, ...).
  const std::vector<std::string>& notes() const noexcept { return notes_; }

  void finalized(const core::TaskTable& table, std::span<const core::TaskIndex> rows) override;
  void snapshot(const core::TaskTable& table) override;
  void status(const std::string& json) override;
  /// Makes the journal durable and releases the lock.
  void close();

  const std::string& path() const noexcept { return path_; }
  /// Slurm jobs that worked on this run, oldest first, this one last (from the checkpoint and
  /// SLURM_JOB_ID); valid after load().
  const std::vector<std::string>& slurm_job_ids() const noexcept { return meta_.slurm_job_ids; }

 private:
  std::string file(const char* name) const { return path_ + "/" + name; }
  void lock();
  void keep_previous_state();

  std::string path_;
  std::string task_file_;
  ResumeMode mode_;
  int lock_fd_ = -1;
  store::CheckpointMeta meta_;
  std::unique_ptr<store::Journal> journal_;
  std::vector<std::string> notes_;
  double last_sync_ = 0;
};

}  // namespace mpiq::hub
