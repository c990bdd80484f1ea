#pragma once
/// The run directory's `journal` (docs/design.md §6-§7): an append-only binary log of what changed in the
/// task table since the last snapshot, so that a kill -9 loses no finished task.
///
/// File format, version 4, all integers little-endian (version 3, still read, lacks each task's mem_kb
/// in kinds 2, 3 and 5; version 2 also has no kind 6; version 1 also lacks crashes in kind 1 and each
/// task's element, output_id and output_run in kinds 2, 3 and 5):
///
///   header (32 bytes)  "MPIQJRNL", uint32 version (4), uint32 0, uint64 epoch, uint32 0,
///                      uint32 CRC-32C of the 28 bytes before it
///   record             uint32 size (of the whole record), uint32 kind, payload,
///                      uint32 CRC-32C of the record's bytes before it
///   kind 1, task update (size 64): uint32 row, uint8 state, 3 zero bytes, uint32 attempts,
///                      int32 exit_code, int32 signal, int32 worker_rank, float64 start_time,
///                      float64 end_time, int64 max_rss_kb, uint32 crashes
///   kind 2, tasks appended: uint32 first_row, uint32 count, then per task: uint32 id, uint32 element (a
///                      sweep's index, 0xFFFFFFFF for other rows), uint32 output_id, uint32
///                      output_run (core::TaskTable), uint8 flags,
///                      uint32 cores, gpus, timeout_s, retries, int32 priority, uint64 mem_kb
///                      (version 4), uint32 lengths of
///                      name, command and workdir, uint32 dependency count, then the three strings'
///                      bytes and the dependencies (uint32 row indices of the whole table)
///   kind 3, tasks appended with function tasks among them: kind 2's layout, with per task two more
///                      uint32 after the dependency count, the lengths of its kind name and payload,
///                      whose bytes follow the workdir's (kind "" = a shell command)
///   kind 4, task update with a result: kind 1's payload, then uint32 length and the bytes of the
///                      function task's result (or failure message)
///   kind 5, tasks submitted through the run directory's inbox (`mpiq submit`): uint32 base (the
///                      submission's ids are base + line), uint32 length and the bytes of the inbox
///                      file's name, then kind 2's payload. Always one record, so a crash keeps all of
///                      a submission or none of it, and the file's name goes with its tasks: a restart
///                      that finds the file still in the inbox knows it was taken (hub/inbox.hpp).
///   kind 6, earlier attempts (version 3; core/attempt_log.hpp): uint32 count, uint32 dropped (attempts
///                      past the log's bounds, counted only), then per attempt (48 bytes): uint32 row,
///                      uint32 attempt, int32 worker_rank, int32 exit_code, int32 signal, uint8 end
///                      (core::AttemptEnd), 3 zero bytes, float64 start_time, float64 end_time, int64
///                      max_rss_kb
///
/// Version 1 is version 2 without `crashes` in the updates (replay gives its rows 0 crashes).
///
/// Kinds 3 and 4 are written only for function tasks (the embedding API), so a run of commands
/// writes exactly what it did before they existed.
///
/// The records are not written field by field: they visit the task table's schema (core::kTaskColumns),
/// whose order is the order above: the spec columns' values, string lengths and bytes in the task
/// records, the runtime columns in the updates, and the optional ones (kind, payload, result) only in
/// kinds 3 and 4. A column added to the schema with a higher journal_since raises the version this build
/// writes; a journal of an older version is still read, and its rows get the new column's default.
///
/// The epoch is the number of the snapshot the journal follows (CheckpointMeta::journal_epoch). After a
/// snapshot the hub truncates the journal to a header with the new epoch; if it stops between the two,
/// the next start finds a journal with an older epoch than the checkpoint's and skips it, instead of
/// applying records that the snapshot already holds (which would append submitted tasks twice).
///
/// Durability is the caller's choice, in two steps: flush() hands the buffered records to the kernel with
/// one write(2), which is enough to survive a kill -9 of the process; sync() adds fdatasync(2), which
/// survives a crash of the node. The hub is meant to flush after every batch of worker reports and to
/// sync at most every few tens of milliseconds or few hundred records, whichever comes first: one
/// fdatasync costs about a millisecond on a local disk and far more on a parallel file system, so
/// syncing per task would bound the run's rate.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/attempt_log.hpp"
#include "core/task_table.hpp"
#include "store/posix_file.hpp"
#include "store/taken_submission.hpp"

namespace mpiq::store {

/// The journal format this build writes and the newest it reads: the newest journal_since among the
/// schema's columns (core::kTaskColumns), so that adding a column to the records raises it.
/// The first journal format with records of kind 6 (earlier attempts).
inline constexpr uint32_t kEarlierAttemptsJournalVersion = 3;
inline constexpr uint32_t kJournalFormatVersion = [] {
  uint32_t version = kEarlierAttemptsJournalVersion;
  core::for_each_column([&](const auto& c) { version = std::max(version, c.versions.journal_since); });
  return version;
}();
/// The oldest journal format this build reads: a record of an older format lacks the columns added
/// since, which replay gives their defaults.
inline constexpr uint32_t kOldestJournalFormatVersion = 1;

/// A task's runtime columns after a change (a record of kind 1 or 4): applying it sets them in its row.
/// The columns are TaskRuntime's (state, attempts, exit_code, ..., result), so a runtime column added to
/// the schema is journalled with no change here.
struct JournalRecord : core::TaskRuntime {
  core::TaskIndex row = 0;  ///< the task's row in the table

  /// The record that holds row `row` of `table` as it is now.
  static JournalRecord from_row(const core::TaskTable& table, core::TaskIndex row);
  bool operator==(const JournalRecord&) const = default;
};

/// Tasks appended to the table during a run (records of kind 2, 3 or 5), as replay hands them over.
struct AppendedTasks {
  /// The row the first appended task gets: the table had this many rows before.
  core::TaskIndex first_row = 0;
  /// The new tasks' spec columns only, made with TaskTable::append (a kind 2 or 5 record's rows are
  /// shell commands; the runtime columns are empty). `deps` holds row indices of the whole table, so
  /// they may point at rows before first_row.
  core::TaskTable tasks;
  /// Of a submission (kind 5): the inbox file the tasks came from, and the base of their ids. Empty and
  /// 0 for tasks added otherwise.
  std::string source;
  core::TaskId base = 0;
};


/// What a replay did.
struct ReplayResult {
  uint64_t records = 0;        ///< records handed to the callbacks (kinds 1 and 2)
  uint64_t valid_bytes = 0;    ///< bytes of the header and the records replayed
  uint64_t dropped_bytes = 0;  ///< bytes of a torn last record (or torn header) that were ignored
  uint64_t epoch = 0;          ///< the journal's epoch (0 when it has no complete header)
  /// True when the journal's epoch is older than the snapshot's: its records are already in the
  /// snapshot, so none was replayed.
  bool stale = false;
  /// Of apply_journal: the submissions whose tasks it appended, in journal order.
  std::vector<TakenSubmission> submissions;
};

/// Called for each task update, with the record's byte offset in the file (for error messages).
using OnTaskUpdate = std::function<void(const JournalRecord& record, uint64_t offset)>;
/// Called for each tasks-appended record, with the record's byte offset in the file.
using OnTasksAppended = std::function<void(const AppendedTasks& appended, uint64_t offset)>;
/// Called for each record of earlier attempts (kind 6): those kept, and how many were only counted.
using OnEarlierAttempts =
    std::function<void(std::span<const core::EarlierAttempt> kept, uint64_t dropped, uint64_t offset)>;

/// Reads the journal at `path`, which follows the snapshot numbered `epoch`, and hands its records to the
/// callbacks in file order. Opens the file read-only and never changes it. A missing or empty file is
/// an empty journal. A torn end (a last record cut short or with a bad checksum, with no valid record
/// after it; or zeros) is ignored and counted in `dropped_bytes`. Throws mpiq::InputError naming the
/// file and the byte offset for damage followed by valid records, bytes after the last record that no
/// crash leaves (a size or kind no record has, or more bytes than the record's size), a file that is
/// not a journal (bad magic), another
/// format version, a journal newer than the snapshot, or a record that does not decode. Framing is
/// checked for the whole file before the first callback runs; a callback may throw to reject a record.
ReplayResult replay_journal(const std::string& path, uint64_t epoch, const OnTaskUpdate& on_update,
                            const OnTasksAppended& on_append, const OnEarlierAttempts& on_attempts = {});

/// Replays the journal at `path` into `table`, the snapshot numbered `epoch`: updates set a row's runtime
/// columns, appended tasks become new rows (state `waiting`). Besides replay_journal's errors, throws
/// mpiq::InputError naming the file and byte offset for an update of a row the table does not have,
/// tasks appended at a row other than the table's end, or appended ids that do not ascend past the
/// table's. After an error `table` may hold part of the journal and must be discarded. Earlier attempts
/// (kind 6) are added to `*attempts` when it is not null (an attempt of a row the table does not have
/// at that point is an error).
ReplayResult apply_journal(const std::string& path, uint64_t epoch, core::TaskTable& table,
                           core::AttemptLog* attempts = nullptr);

/// Whether `tasks` (a submission's rows, commands only) submitted through the inbox file `source` fit
/// the one journal record that Journal::append_submission writes (64 MiB).
bool submission_fits_journal(const core::TaskTable& tasks, std::string_view source);

/// The writing end of a journal, owned by the hub. Records are buffered in memory by append() and
/// append_tasks() and reach the file only with flush() or sync(). Not thread-safe.
class Journal {
 public:
  /// Opens the journal at `path` for appending records that follow the snapshot numbered `epoch`.
  /// Creates the file if needed. A journal of the same epoch is continued after its last valid record
  /// (a torn end is cut off first); one of an older epoch, or one with only a torn header, is emptied
  /// and restarted. Throws mpiq::InputError (and changes nothing) for a file that is not a journal, of
  /// another format version, of a newer epoch, or damaged before its end; mpiq::Error when a file
  /// system call fails. Call replay_journal first: open() drops records that replay would apply.
  static Journal open(const std::string& path, uint64_t epoch);

  Journal(Journal&& other) noexcept;
  Journal& operator=(Journal&& other) noexcept;
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;
  /// Flushes what is still buffered (no fsync) and closes the file; a failure is logged, not thrown.
  ~Journal() noexcept;

  /// Buffers a task update.
  void append(const JournalRecord& record);
  /// Buffers the spec columns of rows [first_row, table.size()) of `table`, the tasks just appended to
  /// it, in as many records as needed (about 1 MiB each). Throws mpiq::Error if one task alone
  /// exceeds a record's 64 MiB limit.
  void append_tasks(const core::TaskTable& table, core::TaskIndex first_row);
  /// Buffers the rows [first_row, table.size()) of `table`, command tasks submitted through the inbox
  /// file `source` with ids from `base`, as one record of kind 5. Throws mpiq::Error (buffering
  /// nothing) when they do not fit one record: check submission_fits_journal first.
  void append_submission(const core::TaskTable& table, core::TaskIndex first_row, std::string_view source,
                         core::TaskId base);
  /// Buffers earlier attempts (the ones an AttemptLog kept) and the number it only counted, in records
  /// of kind 6.
  void append_earlier_attempts(std::span<const core::EarlierAttempt> kept, uint64_t dropped);
  /// Writes the buffered records to the file with one write(2). On failure (mpiq::Error) the records stay
  /// buffered and the next flush() writes them again at the same offset.
  void flush();
  /// flush(), then fdatasync(2): every record appended so far is durable.
  void sync();
  /// Empties the journal after a snapshot numbered `epoch` that holds every change recorded so far:
  /// drops buffered records, truncates the file to a header with the new epoch and syncs it.
  void truncate(uint64_t epoch);

  /// Records buffered and not yet flushed.
  size_t pending_records() const noexcept { return pending_records_; }
  /// Bytes buffered and not yet flushed.
  size_t pending_bytes() const noexcept { return pending_.size(); }
  /// The epoch of the snapshot this journal follows.
  uint64_t epoch() const noexcept { return epoch_; }
  /// The journal's path.
  const std::string& path() const noexcept { return path_; }
  /// The open file, for an fdatasync(2) from another thread (the hub's background syncer): flushed
  /// records are made durable by any thread's fdatasync on it. Valid as long as the Journal lives.
  int native_handle() const noexcept { return fd_.get(); }

 private:
  Journal(std::string path, FileDescriptor fd, uint64_t epoch, uint64_t end);
  void restart(uint64_t epoch);

  std::string path_;
  FileDescriptor fd_;
  uint64_t epoch_ = 0;
  uint64_t end_ = 0;  // file offset after the last flushed record
  std::string pending_;
  size_t pending_records_ = 0;
};

}  // namespace mpiq::store
