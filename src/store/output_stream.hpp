#pragma once
/// Task output as streams: each worker rank appends its tasks' stdout and stderr to one file of its
/// own, `OUT_DIR/rank-R.stream`, as framed records, so a run of any size makes a number of files
/// proportional to its workers, not its tasks (a million per-task files is what breaks Lustre and GPFS).
///
/// Layout (little-endian):
///   file header:  "MPIQOUT\0" | u32 version (1) | u32 rank | u32 n | n bytes: the run directory | u32 crc
///   record:       u32 magic "MPQR" | u32 task id | u32 element (sweep index; kNoElement) | u32 attempt |
///                 u32 run | u8 channel (1 stdout, 2 stderr) | 3 bytes 0 | u32 length | u32 crc | data
/// `run` is the run directory's restart count when the record was written: a task that was running at
/// a kill runs again under the same attempt number, and its output is that of the latest run.
/// Each crc is CRC-32C of everything before it in its header or record, then the record's data.
///
/// Crash safety: a kill -9 or a crash of the node can leave a partial record at the end of a stream.
/// A reader stops at the first record that is short or fails its crc and reports the bytes after it
/// as torn; a writer that opens a stream cuts such a tail off before it appends, so a resumed run's
/// records follow whole ones. A task's records are durable before its end is reported to the hub
/// (OutputStream::sync, called by the worker before each report that ends a task that wrote output),
/// so once the journal holds a task's end, its stream holds all of its output.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "store/posix_file.hpp"

namespace mpiq::store {

enum class OutputChannel : uint8_t { out = 1, err = 2 };

constexpr uint32_t kNoElement = 0xFFFFFFFFu;

/// One record of a stream, as a reader sees it; `data` lives as long as the reader's buffer.
struct OutputRecord {
  uint32_t task = 0, element = kNoElement, attempt = 0, run = 0;
  OutputChannel channel = OutputChannel::out;
  std::string_view data;
};

/// What a stream file holds, read whole.
struct OutputStreamFile {
  uint32_t rank = 0;
  std::string run_dir;
  std::string bytes;      ///< the file; the records' data points into it
  size_t valid_end = 0;   ///< end of the last whole record
  size_t torn_bytes = 0;  ///< bytes after it (a partial record left by a crash)
  std::vector<OutputRecord> records;
};

/// Parses a stream file's bytes (pure). Throws mpiq::Error when the file header is not a stream's.
OutputStreamFile parse_output_stream(std::string bytes);
/// Reads and parses the stream at `path`.
OutputStreamFile read_output_stream(const std::string& path);
/// The stream files of `out_dir` (`rank-*.stream`), sorted by name; empty when there are none.
std::vector<std::string> output_stream_paths(const std::string& out_dir);

/// The writer of one rank's stream: created (0600) with its header, or opened for appending after
/// its last whole record. Its records carry `run`.
class OutputStream {
 public:
  OutputStream(std::string path, uint32_t rank, const std::string& run_dir, uint32_t run);
  /// Appends one record (one write(2) of header and data; data of any size is split into records of at
  /// most kMaxRecordBytes). Throws mpiq::Error on a write error (a full disk).
  void append(uint32_t task, uint32_t element, uint32_t attempt, OutputChannel channel,
              std::string_view data);
  /// fdatasync, when something was appended since the last one.
  void sync();
  bool dirty() const noexcept { return dirty_; }
  const std::string& path() const noexcept { return path_; }

  static constexpr size_t kMaxRecordBytes = 1u << 20;

 private:
  std::string path_;
  uint32_t run_ = 0;
  FileDescriptor fd_;
  bool dirty_ = false;
};

}  // namespace mpiq::store
