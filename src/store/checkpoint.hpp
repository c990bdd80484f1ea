#pragma once
/// The HDF5 snapshot of a run's task table, `checkpoint.h5` (docs/design.md §7).
///
/// Layout, format version 3 (every dataset one-dimensional, contiguous, little-endian, carrying a
/// `crc32c` attribute: the CRC-32C of its raw bytes; a column has one element per task unless said):
///
///   /                      attributes: format_version (uint32, 1-3), mpiq_version, task_file,
///                          task_file_sha256, created (ISO 8601 UTC), slurm_job_ids (comma-separated),
///                          task_file_edits (newline-separated; written only when there are some):
///                          UTF-8 variable-length strings; restarts (uint32); journal_epoch (uint64)
///   /tasks/id              uint32, ascending (with element: (id, element) ascends)
///   /tasks/element         uint32, the sweep index of an element of a `repeat=` line, 4294967295
///                          for any other row (version 3)
///   /tasks/flags           uint8, TaskFlag bits (1 = barrier)
///   /tasks/state           enum TaskState over uint8: waiting=0 ready=1 assigned=2 running=3 done=4
///                          failed=5 skipped=6
///   /tasks/attempts        uint32      /tasks/exit_code   int32       /tasks/signal     int32
///   /tasks/priority        int32       /tasks/cores       uint32      /tasks/gpus       uint32
///   /tasks/timeout_s       uint32      /tasks/retries     uint32      /tasks/worker_rank int32
///   /tasks/start_time      float64     /tasks/end_time    float64     /tasks/max_rss_kb int64
///   /tasks/crashes         uint32: times the task was running on a worker that was lost
///   /tasks/{name,command,workdir,kind,payload,result}/bytes    uint8: the strings back to back, no
///                                          terminators
///   /tasks/{name,command,workdir,kind,payload,result}/offsets  uint64, tasks+1 entries: string i is
///                                          bytes[offsets[i] .. offsets[i+1])
///                          kind: the function task's kind, "" for a shell command; payload: its
///                          input bytes; result: its result bytes once done, its failure message once
///                          failed, "" otherwise (the embedding API, docs/design.md §10)
///   /graph/offsets         uint64, tasks+1 entries   /graph/edges  uint32 row indices: row i waits for
///                          edges[offsets[i] .. offsets[i+1]), ascending within a row
///
/// Version 2 is version 3 without crashes and element (no task lost a worker, no sweeps); version 1 is
/// version 2 without kind, payload and result (every task a command). A table is written in the oldest
/// version that holds it (one of commands without sweeps that never lost a worker as version 1), so
/// that an older mpiq reads it; all three are read.
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

#include "core/task_table.hpp"

namespace mpiq::store {

/// The newest checkpoint format this build writes (for tables that hold function tasks) and reads: the
/// newest checkpoint_since among the schema's columns (core::kTaskColumns).
inline constexpr uint32_t kCheckpointFormatVersion = [] {
  uint32_t version = 1;
  core::for_each_column([&](const auto& c) { version = std::max(version, c.versions.checkpoint_since); });
  return version;
}();
static_assert(kCheckpointFormatVersion == 3, "a new format version: describe it in the layout above");
/// The oldest format this build reads.
inline constexpr uint32_t kOldestCheckpointFormatVersion = 1;

/// The root attributes of a checkpoint: where the table came from and how the run went.
struct CheckpointMeta {
  /// Read: the file's format version. Ignored on write, which writes the oldest version that holds the
  /// table (3 with sweeps or once a task counted a crash, 2 with function tasks, 1 otherwise).
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
};

/// Writes `table` and `meta` to `path` atomically: to `path + ".tmp"`, then fsync, rename over `path`
/// and fsync of the directory (docs/design.md §7). A crash or an error at any point leaves the old `path` as
/// it was; on error the temporary file is removed and Hdf5Error (an HDF5 call failed) or mpiq::Error (a file
/// system call failed, or `table` breaks its own invariants) is thrown.
void write_checkpoint(const std::string& path, const core::TaskTable& table, const CheckpointMeta& meta);

/// Loads the table saved at `path`, and its root attributes into `*meta` when `meta` is not null.
/// Opens the file read-only and never changes it. Everything is checked before it is returned: the format
/// version, every dataset's presence, type, shape, length and checksum, the offsets (monotonic, within
/// their blob), the edges (row indices, ascending within a row), the ids (ascending), the states and
/// flags. Throws mpiq::InputError naming `path` and what is wrong for a missing, truncated, damaged or
/// foreign file (HDF5 or not) or one of another format version.
core::TaskTable read_checkpoint(const std::string& path, CheckpointMeta* meta);

/// Checks the invariants a checkpoint relies on: every column has size() rows, the CSR and string
/// offsets are consistent, ids ascend, edges are row indices ascending within a row, states and flags
/// are known values. Returns the first problem found, or "" when there is none.
std::string find_table_problem(const core::TaskTable& table);

/// The current time as ISO 8601 UTC with seconds, e.g. "2024-05-01T12:34:56Z".
std::string utc_timestamp_now();

}  // namespace mpiq::store
