#pragma once
/// The run directory (docs/design.md §6): its layout, its lock, and the durable state of a run in it —
/// checkpoint.h5 snapshots with a journal in between (docs/design.md §7) — plus status.json. The hub reports
/// to it through RunRecorder; `mpiq run` and embedding programs (mpiq::Session) open it the same way:
///
///   RunDirectory dir(path, mode);          // checks, reads any saved state; writes nothing
///   if (dir.resuming()) table = std::move(dir.restored());
///   dir.set_task_file(file, sha256);       // when the run has a task file
///   dir.start(table);                      // layout, lock, first snapshot
///   ... hub runs, calling finalized/appended/snapshot/status ...
///   dir.close();

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hub/hub.hpp"
#include "store/checkpoint.hpp"
#include "store/journal.hpp"

namespace mpiq::hub {

struct ResumeMode {
  bool fresh = false;         ///< start over, keeping the previous state as *.prev
  bool retry_failed = false;  ///< failed and skipped tasks get another go
};

/// Takes the group's and others' permissions off directory `dir` (docs/design.md §6: private whoever
/// made it), with a note in `notes` when it had any (or could not lose them).
void make_private(const std::string& dir, std::vector<std::string>* notes);

class RunDirectory final : public RunRecorder {
 public:
  /// Checks `path`, takes its lock when it exists, and reads the state it holds (checkpoint plus
  /// journal) unless `mode.fresh`. Creates and changes nothing. Throws InputError when `path` is a file,
  /// a directory that is not a run directory, one a live hub holds, or one whose checkpoint or journal
  /// is damaged.
  RunDirectory(std::string path, ResumeMode mode);
  ~RunDirectory() override;
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;

  /// True when the directory holds a run to resume; its table is restored() (with --retry-failed
  /// already applied).
  bool resuming() const noexcept { return resuming_; }
  core::TaskTable& restored() noexcept { return restored_; }
  const store::CheckpointMeta& meta() const noexcept { return meta_; }
  /// True when the run starts over (--fresh).
  bool fresh() const noexcept { return mode_.fresh; }
  /// Records the run's task file; for a resumed run, throws InputError (changing nothing) when the file
  /// is not the one the run started from.
  void set_task_file(const std::string& path, const std::string& sha256);
  /// Whether the run's task file changed since the checkpoint (a resume only).
  bool task_file_changed(const std::string& sha256) const noexcept {
    return resuming_ && meta_.task_file_sha256 != sha256;
  }
  /// Resumes with the edited task file `path` (sha256) instead of refusing it (docs/design.md §7): the
  /// caller has matched `edited`'s tasks to restored() (core::apply_task_edit) and gives the result and
  /// what changed, which is noted in the log and recorded in the checkpoint's `task_file_edits`. Throws
  /// InputError (nothing changed) when the run holds tasks that `mpiq submit` added (they are not in
  /// the file) or keeps per-task output files, which an edit cannot move. `new_row` maps each row of
  /// restored() to its row in `edited` (core::apply_task_edit): the earlier attempts of the tasks
  /// that keep their state follow them, those of the others are dropped.
  void apply_edit(const std::string& path, const std::string& sha256, core::TaskTable edited,
                  const std::string& summary, bool output_files, const std::vector<core::TaskIndex>& new_row);

  /// Creates the layout (the directory with mode 0700, out/, inbox/) and takes the lock if the
  /// constructor could not, moves the previous state to *.prev under --fresh, and writes the first
  /// snapshot of `table`, so a checkpoint exists from the first second.
  void start(const core::TaskTable& table);
  /// What the constructor found, for the log (a resume, a torn journal record dropped, ...).
  const std::vector<std::string>& notes() const noexcept { return notes_; }

  /// The inbox files whose tasks the restored table holds and which may still be in the inbox
  /// (store::TakenSubmission): those the checkpoint names (inbox_taken), then those the replayed
  /// journal appended. A restart finishes taking any of them still there, before start() (hub/inbox.hpp).
  const std::vector<store::TakenSubmission>& replayed_submissions() const noexcept {
    return replayed_submissions_;
  }
  /// The inbox file `t`, journalled (its rows are in the table) but not moved out of the inbox (a file
  /// system error): every snapshot names it (the checkpoint's inbox_taken) until moved(t.file), so that
  /// a snapshot, which empties the journal, cannot make a later hub take it again.
  void unmoved(store::TakenSubmission t);
  void moved(const std::string& file);
  /// What unmoved() holds: the previous hub's that finish_taken could not move either, then this one's.
  const std::vector<store::TakenSubmission>& unmoved_submissions() const noexcept { return meta_.inbox_taken; }
  /// The rows that the next appended() reports come from the inbox file `file` (ids from `base`): they
  /// go to the journal as one record that names the file, synced before appended() returns.
  void expect_submission(std::string file, core::TaskId base) {
    submission_file_ = std::move(file);
    submission_base_ = base;
  }

  void finalized(const core::TaskTable& table, std::span<const core::TaskIndex> rows) override;
  void appended(const core::TaskTable& table, core::TaskIndex first_row) override;
  void changed(const core::TaskTable& table, std::span<const core::TaskIndex> rows) override {
    finalized(table, rows);  // the same journal records: the rows' runtime columns
  }
  void earlier_attempts(std::span<const core::EarlierAttempt> attempts) override;
  void snapshot(const core::TaskTable& table) override;
  void status(const std::string& json) override;
  /// Makes the journal durable and releases the lock.
  void close();

  const std::string& path() const noexcept { return path_; }
  /// True while a live hub holds the lock of the run directory at `path` (a shared flock of its
  /// `lock` file fails); reads and changes nothing. For `mpiq status` and `mpiq submit`.
  static bool held_by_live_hub(const std::string& path);
  /// Slurm jobs that worked on this run, oldest first, this one last; valid after start().
  const std::vector<std::string>& slurm_job_ids() const noexcept { return meta_.slurm_job_ids; }

 private:
  std::string file(const char* name) const { return path_ + "/" + name; }
  void lock(bool note = true);  // flock of `lock`; `note`: write host and pid into it
  void note_lock_holder();
  void lock_exclusive(const std::string& why);  // the O_EXCL fallback of lock()
  void read_state();
  /// --retry-failed: row t's last try (a failure) is an earlier attempt once the task runs again.
  void keep_last_attempt(core::TaskIndex t);
  void keep_previous_state();

  std::string path_;
  ResumeMode mode_;
  int lock_fd_ = -1;
  bool exclusive_lock_ = false;  // holding lock.excl (no flock on this file system)
  bool checkpoint_seen_ = false;  // the directory held a checkpoint when this run first looked
  bool resuming_ = false;
  core::TaskTable restored_;
  store::CheckpointMeta meta_;
  std::unique_ptr<store::Journal> journal_;
  std::vector<std::string> notes_;
  double last_sync_ = 0;
  std::vector<store::TakenSubmission> replayed_submissions_;
  std::string submission_file_;  // of the next appended(), when it is a submission
  core::TaskId submission_base_ = 0;

  /// fdatasync of the journal on a thread of its own: on a shared disk one sync took 0.3-4 ms (median)
  /// with a long tail, and the hub's loop blocked in it while workers' prefetched work ran dry —
  /// runs were ~20% slower with the run directory on disk than on tmpfs (bench/run.sh, benchmark 6).
  /// Records are written (flushed) by the hub at once, so a kill -9 loses none; the syncer only
  /// bounds what a crash of the node can lose.
  class Syncer {
   public:
    Syncer();
    ~Syncer();
    /// Asks for an fdatasync of `fd`; returns at once (the first starts the thread). A request while one
    /// runs is merged into the next.
    void request(int fd);
    /// Waits until no sync is running or asked for, and stops the thread.
    void stop();

   private:
    void loop();
    std::mutex mutex_;
    std::condition_variable wake_;
    int fd_ = -1;
    bool requested_ = false, stopping_ = false;
    std::thread thread_;
  };
  Syncer syncer_;
};

}  // namespace mpiq::hub
