#pragma once
/// The HDF5 snapshot of a run's task table, `checkpoint.h5` (docs/design.md §7).
///
/// Layout, format version 7 (every dataset one-dimensional, contiguous, little-endian, carrying a
/// `crc32c` attribute: the CRC-32C of its raw bytes; a column has one element per task unless said):
///
///   /                      attributes: format_version (uint32, 1-6), mpiq_version, task_file,
///                          task_file_sha256, created (ISO 8601 UTC), slurm_job_ids (comma-separated),
///                          task_file_edits (newline-separated; written only when there are some):
///                          UTF-8 fixed-length NUL-padded strings; restarts (uint32); journal_epoch
///                          (uint64); meta_crc32c (uint32): the CRC-32C of the attributes above as
///                          `name NUL value NUL` in this order (numbers in decimal), version 4;
///                          attempts_dropped (uint64, version 5, before meta_crc32c in the digest):
///                          earlier attempts past the bounds of core::AttemptLog, counted, not kept;
///                          inbox_taken (version 7, fixed-length string, written only when there are
///                          some, in the digest after task_file_edits): the inbox files whose tasks the
///                          table holds but which the hub could not move out of the inbox yet, one line
///                          each, `BASE FIRST LAST ROWS NAME` (store::TakenSubmission)
///   /tasks/output_id, /tasks/output_run  uint32 (version 3): of a task kept by an edit after it
///                          ended under another id, that id and the run before which its output was
///                          written; 0 otherwise
///   /tasks/id              uint32, ascending (with element: (id, element) ascends)
///   /tasks/element         uint32, the sweep index of an element of a `repeat=` line, 4294967295
///                          for any other row (version 3)
///   /tasks/flags           uint8, TaskFlag bits (1 = barrier)
///   /tasks/state           enum TaskState over uint8: waiting=0 ready=1 assigned=2 running=3 done=4
///                          failed=5 skipped=6 cancelled=7
///   /tasks/attempts        uint32      /tasks/exit_code   int32       /tasks/signal     int32
///   /tasks/priority        int32       /tasks/cores       uint32      /tasks/gpus       uint32
///   /tasks/timeout_s       uint32      /tasks/retries     uint32      /tasks/worker_rank int32
///   /tasks/start_time      float64     /tasks/end_time    float64     /tasks/max_rss_kb int64
///   /tasks/crashes         uint32: times the task was running on a worker that was lost
///   /tasks/mem_kb          uint64: memory asked for on the task's node (`mem=`), KiB (version 6)
///   /tasks/{name,command,workdir,kind,payload,result}/bytes    uint8: the strings back to back, no
///                                          terminators
///   /tasks/{name,command,workdir,kind,payload,result}/offsets  uint64, tasks+1 entries: string i is
///                                          bytes[offsets[i] .. offsets[i+1])
///                          kind: the function task's kind, "" for a shell command; payload: its
///                          input bytes; result: its result bytes once done, its failure message once
///                          failed, "" otherwise (the embedding API, docs/design.md §10)
///   /graph/offsets         uint64, tasks+1 entries   /graph/edges  uint32 row indices: row i waits for
///                          edges[offsets[i] .. offsets[i+1]), ascending within a row
///   /attempts/{task,attempt,worker_rank,exit_code,signal,end,start_time,end_time,max_rss_kb}
///                          (version 5) one element per earlier attempt: the tries of a task that its
///                          row no longer holds because it ran again (core/attempt_log.hpp), in the
///                          order they ended. task uint32 (its row in /tasks), attempt uint32 (its
///                          MPIQ_ATTEMPT), worker_rank int32, exit_code int32 (-1: did not exit),
///                          signal int32, end enum AttemptEnd over uint8: failed=0 timed_out=1
///                          start_failed=2 stopped=3 lost=4, start_time and end_time float64 (Unix
///                          time; end_time 0: not known, its worker was lost), max_rss_kb int64
///
/// Version 6 is version 7 without inbox_taken (a file of it names no such file: a snapshot written
/// while one waited lost its name, the defect version 7 mends). Version 5 is version 6 without mem_kb (read as 0: no memory asked). Version 4 is version 5
/// without /attempts and attempts_dropped (a file of it has no earlier attempts).
/// Version 3 is version 4 with variable-length strings for the root's string attributes and without
/// meta_crc32c; version 2 is version 3 without crashes, element, output_id and output_run; version 1 is
/// version 2 without kind, payload and result (every task a command). Every table is written as
/// version 7; all seven are read. Version 4 exists because HDF5 keeps variable-length strings in its
/// global heap, which has no checksum: random bit flips there crashed or hung libhdf5 in H5Aread
/// (issue 17). A format 4 file holds no variable-length data at all, and one that claims format 4 but
/// holds a variable-length string is refused before HDF5 follows it.
///
/// Damage: the file is written with the 1.8 object formats (superblock 2, object header 2, checksums on
/// all of HDF5's metadata, the root's attributes kept compact in its header), so damage there is an
/// HDF5 error; the columns' bytes are raw data to HDF5 and checked against their crc32c after reading;
/// and read_checkpoint() parses the file first in a child process with a time budget, so that damage
/// that still crashes or hangs libhdf5 (an older file's global heap) is a refusal, not a crash or a
/// hang of mpiq.
///
/// The writer and the reader visit the task table's schema (core::kTaskColumns): each column's
/// checkpoint_since says which format versions hold it, and a column that a file's version lacks is
/// read as its default.
///
/// One H5Dwrite per dataset and no variable-length data in the columns keep a 1,000,000-task snapshot
/// well under a second to write and to load (bench/bench_checkpoint.cpp).

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/attempt_log.hpp"
#include "core/task_table.hpp"
#include "store/taken_submission.hpp"

namespace mpiq::store {

/// The checkpoint format this build writes, and the newest it reads.
inline constexpr uint32_t kCheckpointFormatVersion = 7;
/// The first format with /attempts and the root's attempts_dropped.
inline constexpr uint32_t kAttemptsFormatVersion = 5;
/// The first format with the root's inbox_taken.
inline constexpr uint32_t kInboxTakenFormatVersion = 7;
/// The newest checkpoint_since among the schema's columns (core::kTaskColumns): a column added with a
/// higher one needs a new format version.
inline constexpr uint32_t kNewestCheckpointColumnVersion = [] {
  uint32_t version = 1;
  core::for_each_column([&](const auto& c) { version = std::max(version, c.versions.checkpoint_since); });
  return version;
}();
static_assert(kNewestCheckpointColumnVersion <= kCheckpointFormatVersion &&
                  kNewestCheckpointColumnVersion == 6,
              "a new column: raise kCheckpointFormatVersion and describe it in the layout above");
/// The oldest format this build reads.
inline constexpr uint32_t kOldestCheckpointFormatVersion = 1;

/// The root attributes of a checkpoint: where the table came from and how the run went.
struct CheckpointMeta {
  /// Read: the file's format version. Ignored on write, which writes kCheckpointFormatVersion.
  uint32_t format_version = kCheckpointFormatVersion;
  std::string mpiq_version;      ///< version of the mpiq that wrote the file
  std::string task_file;         ///< path of the task file, as given to `mpiq run`
  std::string task_file_sha256;  ///< SHA-256 of the task file (64 hex digits), to refuse a changed file
  std::string created;           ///< ISO 8601 UTC time of the snapshot; written as now when empty
  uint32_t restarts = 0;         ///< times the run was resumed from a checkpoint
  /// Slurm jobs that worked on the run, oldest first; stored comma-separated, so no id may hold a comma.
  std::vector<std::string> slurm_job_ids;
  /// The snapshot's number, raised by the hub for every snapshot. The journal written after a snapshot
  /// carries the same number, so a restart can tell a journal whose records the snapshot already holds
  /// (the hub stopped between the rename and the journal's truncation) from one that follows it.
  uint64_t journal_epoch = 0;
  /// The edits of the task file that resumes applied (docs/design.md §7), oldest first, one line each:
  /// `restart R: <what changed>`. Stored newline-separated in `task_file_edits` (absent: none).
  std::vector<std::string> task_file_edits;
  /// The tasks' earlier attempts (core/attempt_log.hpp): /attempts and the root's attempts_dropped
  /// (format 5; an older file has none).
  core::AttemptLog earlier_attempts;
  /// Inbox files taken (their rows are in the table) but still in the inbox because the hub could not
  /// move them (a file system error): the next hub finishes their move instead of taking them again
  /// (hub/inbox.hpp). Stored in `inbox_taken` (format 7; absent: none).
  std::vector<TakenSubmission> inbox_taken;
};

/// Writes `table` and `meta` to `path` atomically: to `path + ".tmp"`, then fsync, rename over `path`
/// and fsync of the directory (docs/design.md §7). A crash or an error at any point leaves the old `path` as
/// it was; on error the temporary file is removed and Hdf5Error (an HDF5 call failed) or mpiq::Error (a file
/// system call failed, or `table` breaks its own invariants) is thrown.
void write_checkpoint(const std::string& path, const core::TaskTable& table, const CheckpointMeta& meta);

/// Loads the table saved at `path`, and its root attributes into `*meta` when `meta` is not null.
/// Opens the file read-only and never changes it. Everything is checked before it is returned: the format
/// version, every dataset's presence, type, shape, length and checksum, the root attributes' checksum,
/// the offsets (monotonic, within their blob), the edges (row indices, ascending within a row), the ids
/// (ascending), the states and flags, and the rest of core::find_table_problem.
///
/// The file is parsed first in a forked child (store/child_check.hpp) within
/// checkpoint_load_budget_s(), then, when the child read it, here. Throws mpiq::InputError naming
/// `path` and what is wrong for a missing, truncated, damaged or foreign file (HDF5 or not), one of
/// another format version, and one whose reading crashed or did not end in the child; every message
/// but a missing file's ends with how to start over (`--fresh`). Throws mpiq::Error when the child was
/// interrupted (SIGINT, SIGTERM, SIGHUP) or could not be started.
core::TaskTable read_checkpoint(const std::string& path, CheckpointMeta* meta);

/// read_checkpoint() without the child: parses `path` in this process, so a file whose damage crashes
/// or hangs libhdf5 crashes or hangs the caller. For the child itself, and for fuzzers and tests that
/// need the parser alone.
core::TaskTable read_checkpoint_in_process(const std::string& path, CheckpointMeta* meta);

/// The seconds read_checkpoint() gives its child for a file of `file_size` bytes: 60 plus one per
/// 10 MB, or MPIQ_CHECKPOINT_LOAD_TIMEOUT's value when it is set (InputError when that is not a
/// positive number of seconds).
double checkpoint_load_budget_s(uint64_t file_size);

/// Checks the invariants a checkpoint relies on: every column has size() rows, the CSR and string
/// offsets are consistent, ids ascend, edges are row indices ascending within a row, states and flags
/// are known values. Returns the first problem found, or "" when there is none.
std::string find_table_problem(const core::TaskTable& table);

/// The current time as ISO 8601 UTC with seconds, e.g. "2024-05-01T12:34:56Z".
std::string utc_timestamp_now();

}  // namespace mpiq::store
