#include "store/journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include "mpiq/error.hpp"
#include "store/crc32c.hpp"

namespace mpiq::store {

static_assert(std::endian::native == std::endian::little, "journal integers are written little-endian");

namespace {

constexpr char kMagic[8] = {'M', 'P', 'I', 'Q', 'J', 'R', 'N', 'L'};
constexpr size_t kHeaderBytes = 32;
constexpr size_t kRecordOverhead = 12;  // size, kind, CRC
constexpr uint32_t kMaxRecordBytes = 64u << 20;
constexpr size_t kAppendRecordTarget = 1u << 20;
constexpr uint32_t kKindTaskUpdate = 1;
constexpr uint32_t kKindTasksAppended = 2;
constexpr uint32_t kKindFunctionTasksAppended = 3;
constexpr uint32_t kKindTaskUpdateWithResult = 4;
constexpr uint32_t kKindSubmission = 5;
// Fixed bytes of a task in kind 2's layout: id, flags, cores, gpus, timeout, retries, priority, three
// string lengths, dependency count.
constexpr size_t kAppendedTaskBytes = 4 + 1 + 5 * 4 + 4 * 4;

template <class T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

template <class T>
T get(const char* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

std::string make_header(uint64_t epoch) {
  std::string header(kMagic, sizeof kMagic);
  put<uint32_t>(header, kJournalFormatVersion);
  put<uint32_t>(header, 0);
  put<uint64_t>(header, epoch);
  put<uint32_t>(header, 0);
  put<uint32_t>(header, crc32c(header));
  return header;
}

/// Starts a record of `kind` at the end of `out`; returns where it starts, for finish_record.
size_t begin_record(std::string& out, uint32_t kind) {
  const size_t start = out.size();
  put<uint32_t>(out, 0);  // size, known once the payload is in
  put<uint32_t>(out, kind);
  return start;
}

/// One task of `table` in kind 2's layout (kind 3's when `functions`).
void put_task(std::string& out, const core::TaskTable& table, size_t row, bool functions) {
  const std::string_view name = table.name[row], command = table.command[row], workdir = table.workdir[row];
  const uint64_t dep_begin = table.dep_offsets[row], dep_end = table.dep_offsets[row + 1];
  const std::string_view kind = functions ? table.kind_name(static_cast<core::TaskIndex>(row)) : "";
  const std::string_view payload = functions ? table.payload[row] : "";
  put<uint32_t>(out, table.id[row]);
  put<uint8_t>(out, table.flags[row]);
  put<uint32_t>(out, table.cores[row]);
  put<uint32_t>(out, table.gpus[row]);
  put<uint32_t>(out, table.timeout_s[row]);
  put<uint32_t>(out, table.retries[row]);
  put<int32_t>(out, table.priority[row]);
  put<uint32_t>(out, static_cast<uint32_t>(name.size()));
  put<uint32_t>(out, static_cast<uint32_t>(command.size()));
  put<uint32_t>(out, static_cast<uint32_t>(workdir.size()));
  put<uint32_t>(out, static_cast<uint32_t>(dep_end - dep_begin));
  if (functions) {
    put<uint32_t>(out, static_cast<uint32_t>(kind.size()));
    put<uint32_t>(out, static_cast<uint32_t>(payload.size()));
  }
  out.append(name);
  out.append(command);
  out.append(workdir);
  out.append(kind);
  out.append(payload);
  for (uint64_t d = dep_begin; d < dep_end; ++d) put<uint32_t>(out, table.deps[d]);
}

/// The bytes of a kind 5 record for `rows` rows of `table` from `first_row`, submitted as `source`.
uint64_t submission_record_bytes(const core::TaskTable& table, size_t first_row, std::string_view source) {
  uint64_t bytes = kRecordOverhead + 4 + 4 + source.size() + 8;
  for (size_t row = first_row; row < table.size(); ++row)
    bytes += kAppendedTaskBytes + table.name[row].size() + table.command[row].size() +
             table.workdir[row].size() + 4 * (table.dep_offsets[row + 1] - table.dep_offsets[row]);
  return bytes;
}

void finish_record(std::string& out, size_t start) {
  const auto size = static_cast<uint32_t>(out.size() - start + 4);
  std::memcpy(out.data() + start, &size, 4);
  put<uint32_t>(out, crc32c(0, out.data() + start, out.size() - start));
}

// --- Framing ------------------------------------------------------------------------------------

/// A record whose size and checksum are right; its payload is not decoded yet.
struct Frame {
  uint64_t offset;
  uint32_t size;
  uint32_t kind;
};

struct Scan {
  bool has_header = false;
  uint64_t epoch = 0;
  uint64_t records = 0;    // valid records from the header to valid_end
  uint64_t valid_end = 0;  // end of the header and the good records before any damage
  uint64_t dropped = 0;    // bytes of a torn end
};

bool frame_at(std::string_view bytes, uint64_t offset, Frame* frame) {
  if (bytes.size() - offset < kRecordOverhead) return false;
  const char* p = bytes.data() + offset;
  const auto size = get<uint32_t>(p);
  if (size < kRecordOverhead || size > kMaxRecordBytes || size > bytes.size() - offset) return false;
  if (get<uint32_t>(p + size - 4) != crc32c(0, p, size - 4)) return false;
  *frame = Frame{offset, size, get<uint32_t>(p + 4)};
  return true;
}

/// The first offset at or after `from` where a valid record starts, if any. Only runs where the file
/// is already known to be bad, to tell a torn end (nothing valid follows) from damage in the middle.
std::optional<uint64_t> next_valid_frame(std::string_view bytes, uint64_t from) {
  Frame frame{};
  for (uint64_t q = from; q + kRecordOverhead <= bytes.size(); ++q)
    if (frame_at(bytes, q, &frame)) return q;
  return std::nullopt;
}

[[noreturn]] void fail_at(const std::string& path, uint64_t offset, const std::string& what) {
  throw InputError(path, 0, 0, "byte " + std::to_string(offset) + ": " + what);
}

Scan scan_journal(std::string_view bytes, const std::string& path) {
  Scan scan;
  if (bytes.empty()) return scan;

  // A file that is ours starts with the magic, or with zeros or a prefix of it when the header write
  // was cut short; anything else is not a journal and must not be touched.
  const size_t head = std::min(bytes.size(), sizeof kMagic);
  const bool magic_prefix = std::memcmp(bytes.data(), kMagic, head) == 0;
  const bool zeros =
      std::all_of(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(head), [](char c) { return c == 0; });
  if (!magic_prefix && !zeros) throw InputError(path, 0, 0, "not an mpiq journal (bad magic)");

  if (bytes.size() >= kHeaderBytes && magic_prefix &&
      get<uint32_t>(bytes.data() + 28) == crc32c(0, bytes.data(), 28)) {
    const auto version = get<uint32_t>(bytes.data() + 8);
    if (version != kJournalFormatVersion)
      throw InputError(path, 0, 0,
                       "journal format version " + std::to_string(version) +
                           ", but this mpiq reads only version " + std::to_string(kJournalFormatVersion));
    scan.has_header = true;
    scan.epoch = get<uint64_t>(bytes.data() + 16);
  } else {
    if (const auto q = next_valid_frame(bytes, 0))
      fail_at(path, 0, "damaged journal header (a valid record follows at byte " + std::to_string(*q) + ")");
    scan.dropped = bytes.size();
    return scan;
  }

  uint64_t offset = kHeaderBytes;
  Frame frame{};
  while (offset < bytes.size() && frame_at(bytes, offset, &frame)) {
    ++scan.records;
    offset += frame.size;
  }
  scan.valid_end = offset;
  if (offset < bytes.size()) {
    if (const auto q = next_valid_frame(bytes, offset + 1))
      fail_at(path, offset,
              "damaged record (short, or its checksum does not match) followed by a valid record at byte " +
                  std::to_string(*q));
    scan.dropped = bytes.size() - offset;
  }
  return scan;
}

// --- Decoding -----------------------------------------------------------------------------------

/// Reads a record's payload front to back; running past its end is an error at the record's offset.
class PayloadReader {
 public:
  PayloadReader(std::string_view payload, const std::string& path, uint64_t offset)
      : payload_(payload), path_(path), offset_(offset) {}

  template <class T>
  T take() {
    need(sizeof(T));
    const T value = get<T>(payload_.data() + at_);
    at_ += sizeof(T);
    return value;
  }
  std::string_view take_bytes(size_t n) {
    need(n);
    const std::string_view bytes = payload_.substr(at_, n);
    at_ += n;
    return bytes;
  }
  void expect_end() const {
    if (at_ != payload_.size())
      fail("record has " + std::to_string(payload_.size() - at_) + " bytes too many");
  }
  [[noreturn]] void fail(const std::string& what) const { fail_at(path_, offset_, what); }

 private:
  void need(size_t n) const {
    if (payload_.size() - at_ < n) fail("record is shorter than its contents say");
  }

  std::string_view payload_;
  const std::string& path_;
  uint64_t offset_;
  size_t at_ = 0;
};

JournalRecord decode_update(PayloadReader& in, bool with_result) {
  JournalRecord r;
  r.row = in.take<uint32_t>();
  const auto state = in.take<uint8_t>();
  if (state >= core::kTaskStateCount) in.fail("unknown task state " + std::to_string(state));
  r.state = static_cast<core::TaskState>(state);
  in.take_bytes(3);
  r.attempts = in.take<uint32_t>();
  r.exit_code = in.take<int32_t>();
  r.signal = in.take<int32_t>();
  r.worker_rank = in.take<int32_t>();
  r.start_time = in.take<double>();
  r.end_time = in.take<double>();
  r.max_rss_kb = in.take<int64_t>();
  if (with_result) r.result = in.take_bytes(in.take<uint32_t>());
  in.expect_end();
  return r;
}

AppendedTasks decode_appended(PayloadReader& in, bool functions) {
  AppendedTasks out;
  out.first_row = in.take<uint32_t>();
  const auto count = in.take<uint32_t>();
  const uint64_t end_row = uint64_t{out.first_row} + count;
  if (end_row > std::numeric_limits<core::TaskIndex>::max()) in.fail("appended rows overflow the row index");
  core::TaskTable& t = out.tasks;
  for (uint32_t i = 0; i < count; ++i) {
    const auto id = in.take<uint32_t>();
    if (i > 0 && id <= t.id.back()) in.fail("appended task ids do not ascend");
    t.id.push_back(id);
    const auto flags = in.take<uint8_t>();
    if ((flags & ~core::kBarrier) != 0) in.fail("unknown task flags " + std::to_string(flags));
    t.flags.push_back(flags);
    t.cores.push_back(in.take<uint32_t>());
    t.gpus.push_back(in.take<uint32_t>());
    t.timeout_s.push_back(in.take<uint32_t>());
    t.retries.push_back(in.take<uint32_t>());
    t.priority.push_back(in.take<int32_t>());
    const auto name_bytes = in.take<uint32_t>();
    const auto command_bytes = in.take<uint32_t>();
    const auto workdir_bytes = in.take<uint32_t>();
    const auto dep_count = in.take<uint32_t>();
    const auto kind_bytes = functions ? in.take<uint32_t>() : 0;
    const auto payload_bytes = functions ? in.take<uint32_t>() : 0;
    t.name.push_back(in.take_bytes(name_bytes));
    t.command.push_back(in.take_bytes(command_bytes));
    t.workdir.push_back(in.take_bytes(workdir_bytes));
    if (functions) {
      t.kind.push_back(t.intern_kind(in.take_bytes(kind_bytes)));
      t.payload.push_back(in.take_bytes(payload_bytes));
    }
    for (uint32_t d = 0; d < dep_count; ++d) {
      const auto dep = in.take<uint32_t>();
      if (dep >= end_row)
        in.fail("appended task " + std::to_string(id) + " depends on a row that does not exist");
      if (d > 0 && dep <= t.deps.back())
        in.fail("dependencies of appended task " + std::to_string(id) + " do not ascend");
      t.deps.push_back(dep);
    }
    t.dep_offsets.push_back(t.deps.size());
  }
  in.expect_end();
  return out;
}

}  // namespace

// --- Replay -------------------------------------------------------------------------------------

ReplayResult replay_journal(const std::string& path, uint64_t epoch, const OnTaskUpdate& on_update,
                            const OnTasksAppended& on_append) {
  ReplayResult result;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return result;
  const std::string bytes = read_whole_file(path);
  const Scan scan = scan_journal(bytes, path);
  result.epoch = scan.epoch;
  result.valid_bytes = scan.valid_end;
  result.dropped_bytes = scan.dropped;
  if (!scan.has_header) return result;
  if (scan.epoch < epoch) {
    result.stale = true;
    return result;
  }
  if (scan.epoch > epoch)
    throw InputError(path, 0, 0,
                     "the journal follows snapshot " + std::to_string(scan.epoch) +
                         ", but the checkpoint is snapshot " + std::to_string(epoch) +
                         " (was an older checkpoint put back?)");

  // The scan checked every record's size and checksum up to valid_end; walk them again to decode.
  for (uint64_t offset = kHeaderBytes; offset < scan.valid_end;) {
    const Frame frame{offset, get<uint32_t>(bytes.data() + offset), get<uint32_t>(bytes.data() + offset + 4)};
    offset += frame.size;
    const std::string_view payload(bytes.data() + frame.offset + 8, frame.size - kRecordOverhead);
    PayloadReader in(payload, path, frame.offset);
    if (frame.kind == kKindTaskUpdate || frame.kind == kKindTaskUpdateWithResult) {
      const JournalRecord record = decode_update(in, frame.kind == kKindTaskUpdateWithResult);
      if (on_update) on_update(record, frame.offset);
    } else if (frame.kind == kKindTasksAppended || frame.kind == kKindFunctionTasksAppended) {
      const AppendedTasks appended = decode_appended(in, frame.kind == kKindFunctionTasksAppended);
      if (on_append) on_append(appended, frame.offset);
    } else if (frame.kind == kKindSubmission) {
      const auto base = in.take<uint32_t>();
      const std::string_view source = in.take_bytes(in.take<uint32_t>());
      if (source.empty()) in.fail("submission record without a file name");
      AppendedTasks appended = decode_appended(in, false);
      appended.source = source;
      appended.base = base;
      if (on_append) on_append(appended, frame.offset);
    } else {
      in.fail("unknown record kind " + std::to_string(frame.kind) + " (written by a newer mpiq?)");
    }
    ++result.records;
  }
  return result;
}

ReplayResult apply_journal(const std::string& path, uint64_t epoch, core::TaskTable& table) {
  std::vector<TakenSubmission> submissions;
  const auto on_update = [&](const JournalRecord& r, uint64_t offset) {
    if (r.row >= table.size())
      fail_at(path, offset,
              "update of row " + std::to_string(r.row) + ", but the table has " +
                  std::to_string(table.size()) + " rows");
    table.state[r.row] = r.state;
    table.attempts[r.row] = r.attempts;
    table.exit_code[r.row] = r.exit_code;
    table.signal[r.row] = r.signal;
    table.worker_rank[r.row] = r.worker_rank;
    table.start_time[r.row] = r.start_time;
    table.end_time[r.row] = r.end_time;
    table.max_rss_kb[r.row] = r.max_rss_kb;
    table.result[r.row] = r.result;
  };
  const auto on_append = [&](const AppendedTasks& a, uint64_t offset) {
    const core::TaskTable& t = a.tasks;
    if (a.first_row != table.size())
      fail_at(path, offset,
              "tasks appended at row " + std::to_string(a.first_row) + ", but the table has " +
                  std::to_string(table.size()) + " rows");
    if (t.size() > 0 && !table.id.empty() && t.id.front() <= table.id.back())
      fail_at(path, offset,
              "appended task id " + std::to_string(t.id.front()) + " is not above the last id " +
                  std::to_string(table.id.back()));
    for (size_t i = 0; i < t.size(); ++i) {
      table.append(t.spec(static_cast<core::TaskIndex>(i)));
    }
    if (!a.source.empty() && t.size() > 0)
      submissions.push_back({a.source, a.base, t.id.front(), t.id.back(), static_cast<uint32_t>(t.size())});
    table.init_runtime_columns();
  };
  ReplayResult result = replay_journal(path, epoch, on_update, on_append);
  result.submissions = std::move(submissions);
  return result;
}

// --- Writing ------------------------------------------------------------------------------------

JournalRecord JournalRecord::from_row(const core::TaskTable& table, core::TaskIndex row) {
  return JournalRecord{row,
                       table.state[row],
                       table.attempts[row],
                       table.exit_code[row],
                       table.signal[row],
                       table.worker_rank[row],
                       table.start_time[row],
                       table.end_time[row],
                       table.max_rss_kb[row],
                       row < table.result.size() ? table.result[row] : std::string()};
}

Journal::Journal(std::string path, FileDescriptor fd, uint64_t epoch, uint64_t end)
    : path_(std::move(path)), fd_(std::move(fd)), epoch_(epoch), end_(end) {}

Journal::Journal(Journal&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::move(other.fd_)),
      epoch_(other.epoch_),
      end_(other.end_),
      pending_(std::move(other.pending_)),
      pending_records_(std::exchange(other.pending_records_, 0)) {
  other.pending_.clear();
}

Journal& Journal::operator=(Journal&& other) noexcept {
  if (this != &other) {
    Journal previous(std::move(*this));  // flushes and closes the file this journal held
    path_ = std::move(other.path_);
    fd_ = std::move(other.fd_);
    epoch_ = other.epoch_;
    end_ = other.end_;
    pending_ = std::move(other.pending_);
    other.pending_.clear();
    pending_records_ = std::exchange(other.pending_records_, 0);
  }
  return *this;
}

Journal::~Journal() noexcept {
  if (!fd_ || pending_.empty()) return;
  try {
    flush();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpiq: %zu journal records lost: %s\n", pending_records_, e.what());
  }
}

Journal Journal::open(const std::string& path, uint64_t epoch) {
  FileDescriptor fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666));
  if (!fd) throw_errno(path, "open");
  const std::string bytes = read_whole_file(path);
  const Scan scan = scan_journal(bytes, path);
  if (scan.has_header && scan.epoch > epoch)
    throw InputError(path, 0, 0,
                     "the journal follows snapshot " + std::to_string(scan.epoch) + ", newer than snapshot " +
                         std::to_string(epoch));
  Journal journal(path, std::move(fd), epoch, scan.valid_end);
  if (!scan.has_header || scan.epoch < epoch) {
    journal.restart(epoch);
  } else if (scan.dropped > 0) {
    // Appending after a torn end would turn it into damage in the middle.
    if (::ftruncate(journal.fd_.get(), static_cast<off_t>(scan.valid_end)) != 0)
      throw_errno(path, "ftruncate");
    if (::fdatasync(journal.fd_.get()) != 0) throw_errno(path, "fdatasync");
  }
  fsync_directory(parent_directory(path));  // the file may be new
  return journal;
}

void Journal::restart(uint64_t epoch) {
  pending_.clear();
  pending_records_ = 0;
  if (::ftruncate(fd_.get(), 0) != 0) throw_errno(path_, "ftruncate");
  const std::string header = make_header(epoch);
  pwrite_all(fd_.get(), header.data(), header.size(), 0, path_);
  if (::fdatasync(fd_.get()) != 0) throw_errno(path_, "fdatasync");
  epoch_ = epoch;
  end_ = header.size();
}

void Journal::append(const JournalRecord& r) {
  if (r.result.size() > kMaxRecordBytes / 2)
    throw Error(path_ + ": the result of row " + std::to_string(r.row) +
                " is too large for a journal record");
  const size_t start = begin_record(pending_, r.result.empty() ? kKindTaskUpdate : kKindTaskUpdateWithResult);
  put<uint32_t>(pending_, r.row);
  put<uint8_t>(pending_, static_cast<uint8_t>(r.state));
  pending_.append(3, '\0');
  put<uint32_t>(pending_, r.attempts);
  put<int32_t>(pending_, r.exit_code);
  put<int32_t>(pending_, r.signal);
  put<int32_t>(pending_, r.worker_rank);
  put<double>(pending_, r.start_time);
  put<double>(pending_, r.end_time);
  put<int64_t>(pending_, r.max_rss_kb);
  if (!r.result.empty()) {
    put<uint32_t>(pending_, static_cast<uint32_t>(r.result.size()));
    pending_.append(r.result);
  }
  finish_record(pending_, start);
  ++pending_records_;
}

void Journal::append_tasks(const core::TaskTable& table, core::TaskIndex first_row) {
  size_t row = first_row;
  const bool with_kinds = table.kind.size() == table.size();
  while (row < table.size()) {
    // Kind 3 only when a function task is among the rows: command tasks keep kind 2's layout.
    bool functions = false;
    if (with_kinds)
      for (size_t r = row; r < table.size() && !functions; ++r) functions = table.kind[r] != 0;
    const size_t start = begin_record(pending_, functions ? kKindFunctionTasksAppended : kKindTasksAppended);
    put<uint32_t>(pending_, static_cast<uint32_t>(row));
    const size_t count_at = pending_.size();
    put<uint32_t>(pending_, 0);
    uint32_t count = 0;
    for (; row < table.size() && (count == 0 || pending_.size() - start < kAppendRecordTarget);
         ++row, ++count) {
      const std::string_view name = table.name[row], command = table.command[row],
                             workdir = table.workdir[row];
      const uint64_t dep_begin = table.dep_offsets[row], dep_end = table.dep_offsets[row + 1];
      const std::string_view kind = functions ? table.kind_name(static_cast<core::TaskIndex>(row)) : "";
      const std::string_view payload = functions ? table.payload[row] : "";
      if (name.size() + command.size() + workdir.size() + kind.size() + payload.size() +
              4 * (dep_end - dep_begin) >
          kMaxRecordBytes / 2)
        throw Error(path_ + ": task " + std::to_string(table.id[row]) + " is too large for a journal record");
      put_task(pending_, table, row, functions);
    }
    std::memcpy(pending_.data() + count_at, &count, 4);
    finish_record(pending_, start);
    ++pending_records_;
  }
}

void Journal::append_submission(const core::TaskTable& table, core::TaskIndex first_row,
                                std::string_view source, core::TaskId base) {
  if (source.empty() || source.size() > kMaxRecordBytes / 4)
    throw Error(path_ + ": a submission needs the name of its file");
  for (size_t row = first_row; row < table.size(); ++row)
    if (table.kind.size() > row && table.kind[row] != 0)
      throw Error(path_ + ": a submission from the inbox holds function task " +
                  std::to_string(table.id[row]));
  if (submission_record_bytes(table, first_row, source) > kMaxRecordBytes)
    throw Error(path_ + ": the submission " + std::string(source) + " is too large for one journal record");
  const size_t start = begin_record(pending_, kKindSubmission);
  put<uint32_t>(pending_, base);
  put<uint32_t>(pending_, static_cast<uint32_t>(source.size()));
  pending_.append(source);
  put<uint32_t>(pending_, first_row);
  put<uint32_t>(pending_, static_cast<uint32_t>(table.size() - first_row));
  for (size_t row = first_row; row < table.size(); ++row) put_task(pending_, table, row, false);
  finish_record(pending_, start);
  ++pending_records_;
}

bool submission_fits_journal(const core::TaskTable& tasks, std::string_view source) {
  return source.size() <= kMaxRecordBytes / 4 && submission_record_bytes(tasks, 0, source) <= kMaxRecordBytes;
}

void Journal::flush() {
  if (pending_.empty()) return;
  // pwrite at our own offset rather than O_APPEND: after a failed, partial write the retry overwrites
  // the partial record instead of leaving it in the middle of the file.
  pwrite_all(fd_.get(), pending_.data(), pending_.size(), static_cast<off_t>(end_), path_);
  end_ += pending_.size();
  pending_.clear();
  pending_records_ = 0;
}

void Journal::sync() {
  flush();
  if (::fdatasync(fd_.get()) != 0) throw_errno(path_, "fdatasync");
}

void Journal::truncate(uint64_t epoch) {
  restart(epoch);
}

}  // namespace mpiq::store
