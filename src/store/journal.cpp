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
constexpr uint32_t kKindEarlierAttempts = 6;
constexpr size_t kEarlierAttemptBytes = 48;
constexpr size_t kEarlierAttemptsPerRecord = 100000;  // 4.8 MB, well under kMaxRecordBytes

// --- The records' layout, from the schema -------------------------------------------------------
//
// A journal of version v holds the columns whose journal_since is at most v, in schema order:
//   update (kinds 1 and 4): row, then each runtime value (the state as uint8 and 3 zero bytes), then
//     each runtime string as uint32 length and bytes; the optional ones (the result) only in kind 4,
//     written when one of them is not empty.
//   task (kinds 2, 3 and 5): each spec value, then the uint32 lengths of the spec strings, the uint32
//     dependency count, the lengths of the optional spec strings (kind 3 only), then the strings' bytes
//     in the same order, then the dependencies as uint32 rows.

template <class D>
using Column = std::remove_cvref_t<D>;
template <class D>
inline constexpr bool kIsString =
    core::kIsColumn<D, core::TextColumn> || core::kIsColumn<D, core::KindColumn> ||
    core::kIsColumn<D, core::ResultTextColumn>;

template <class D>
bool in_journal(const D& c, uint32_t version) {
  return c.versions.journal_since <= version;
}

/// Row `row` of string column `c`.
template <class D>
std::string_view text_of(const core::TaskTable& table, const D& c, size_t row) {
  if constexpr (core::kIsColumn<D, core::KindColumn>)
    return (table.*c.names)[(table.*c.rows)[row]];
  else
    return (table.*c.rows)[row];
}

/// Fixed bytes of a task in a record of kind 2 (and 5): the values, the string lengths, the dependency
/// count.
constexpr size_t appended_task_bytes() {
  size_t bytes = 4;  // dependency count
  core::for_each_column([&](const auto& c) {
    using D = Column<decltype(c)>;
    if constexpr (core::kIsSpecColumn<D> && core::kIsColumn<D, core::ValueColumn>)
      bytes += sizeof(typename D::Value);
    else if constexpr (core::kIsSpecColumn<D> && kIsString<D>)
      bytes += c.versions.journal_optional ? 0 : 4;
  });
  return bytes;
}
constexpr size_t kAppendedTaskBytes = appended_task_bytes();

/// The bytes of row `row`'s strings (the optional ones only when `functions`) and dependencies.
size_t task_variable_bytes(const core::TaskTable& table, size_t row, bool functions) {
  size_t bytes = 4 * (table.dep_offsets[row + 1] - table.dep_offsets[row]);
  core::for_each_column([&](const auto& c) {
    using D = Column<decltype(c)>;
    if constexpr (core::kIsSpecColumn<D> && kIsString<D>)
      if (functions || !c.versions.journal_optional) bytes += text_of(table, c, row).size();
  });
  return bytes;
}

/// Whether row `row` needs a record kind with the optional columns: one of them is not empty.
bool needs_optional_columns(const core::TaskTable& table, size_t row, bool spec) {
  bool needed = false;
  core::for_each_column([&](const auto& c) {
    using D = Column<decltype(c)>;
    if constexpr (kIsString<D>)
      if (core::kIsSpecColumn<D> == spec && c.versions.journal_optional && row < (table.*c.rows).size())
        needed = needed || !text_of(table, c, row).empty();
  });
  return needed;
}

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
  const uint64_t dep_begin = table.dep_offsets[row], dep_end = table.dep_offsets[row + 1];
  const auto wanted = [functions](const auto& c) {
    using D = Column<decltype(c)>;
    return core::kIsSpecColumn<D> && kIsString<D> && (functions || !c.versions.journal_optional);
  };
  core::for_each_column([&](const auto& c) {
    using D = Column<decltype(c)>;
    if constexpr (core::kIsSpecColumn<D> && core::kIsColumn<D, core::ValueColumn>)
      put<typename D::Value>(out, (table.*c.rows)[row]);
  });
  for (const bool optional : {false, true}) {
    core::for_each_column([&](const auto& c) {
      if constexpr (kIsString<Column<decltype(c)>>)
        if (wanted(c) && c.versions.journal_optional == optional)
          put<uint32_t>(out, static_cast<uint32_t>(text_of(table, c, row).size()));
    });
    if (!optional) put<uint32_t>(out, static_cast<uint32_t>(dep_end - dep_begin));
  }
  for (const bool optional : {false, true})
    core::for_each_column([&](const auto& c) {
      if constexpr (kIsString<Column<decltype(c)>>)
        if (wanted(c) && c.versions.journal_optional == optional) out.append(text_of(table, c, row));
    });
  for (uint64_t d = dep_begin; d < dep_end; ++d) put<uint32_t>(out, table.deps[d]);
}

/// The bytes of a kind 5 record for `rows` rows of `table` from `first_row`, submitted as `source`.
uint64_t submission_record_bytes(const core::TaskTable& table, size_t first_row, std::string_view source) {
  uint64_t bytes = kRecordOverhead + 4 + 4 + source.size() + 8;
  for (size_t row = first_row; row < table.size(); ++row)
    bytes += kAppendedTaskBytes + task_variable_bytes(table, row, false);
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
  uint32_t version = 0;  // of the header, when it has one
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
/// Linear in the bytes after `from`: garbage has a plausible size field at almost every byte, and
/// checksumming each candidate's bytes anew took 10 s for 12 MiB. Instead the CRC of every prefix of
/// the region is kept (4 bytes per byte, only on this path), and a candidate's CRC comes from the two
/// prefixes around it in constant time (crc32c_of_suffix).
std::optional<uint64_t> next_valid_frame(std::string_view bytes, uint64_t from) {
  if (from + kRecordOverhead > bytes.size()) return std::nullopt;
  const uint64_t n = bytes.size() - from;
  std::vector<uint32_t> prefix(n + 1);  // prefix[i]: CRC of bytes [from, from + i)
  for (uint64_t i = 0; i < n; ++i) prefix[i + 1] = crc32c(prefix[i], bytes.data() + from + i, 1);
  for (uint64_t q = from; q + kRecordOverhead <= bytes.size(); ++q) {
    const auto size = get<uint32_t>(bytes.data() + q);
    if (size < kRecordOverhead || size > kMaxRecordBytes || size > bytes.size() - q) continue;
    const uint64_t crc_at = q + size - 4;
    if (crc32c_of_suffix(prefix[q - from], prefix[crc_at - from], size - 4) ==
        get<uint32_t>(bytes.data() + crc_at))
      return q;
  }
  return std::nullopt;
}

/// Why the bytes from `offset` to the end of the file, where the valid records end, are not the
/// trace of a crash; "" when they are. A crash can leave a record cut short (a size that a record can
/// have, of a kind this format has, reaching past the end of the file or, when the last blocks of a
/// whole record did not reach the disk, to it with a bad checksum), a few bytes of its size field, or
/// zeros (the file's size reached the disk before its blocks did). Anything else, such as appended
/// bytes that are not a record, is damage.
std::string not_a_torn_end(std::string_view bytes, uint64_t offset) {
  const std::string_view tail = bytes.substr(offset);
  if (std::all_of(tail.begin(), tail.end(), [](char c) { return c == 0; })) return "";
  if (tail.size() < 4) return "";
  const auto size = get<uint32_t>(tail.data());
  if (size < kRecordOverhead || size > kMaxRecordBytes)
    return "a size field of " + std::to_string(size) + " bytes, which no record has";
  if (tail.size() >= 8) {
    const auto kind = get<uint32_t>(tail.data() + 4);
    if (kind < kKindTaskUpdate || kind > kKindEarlierAttempts)
      return "a record of kind " + std::to_string(kind) + ", which this format does not have";
  }
  if (size < tail.size())
    return "a record of " + std::to_string(size) + " bytes with a bad checksum, and " +
           std::to_string(tail.size() - size) + " bytes after it";
  return "";
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
    if (version < kOldestJournalFormatVersion || version > kJournalFormatVersion)
      throw InputError(
          path, 0, 0,
          "journal format version " + std::to_string(version) + ", but this mpiq reads only versions " +
              std::to_string(kOldestJournalFormatVersion) + " to " + std::to_string(kJournalFormatVersion));
    scan.has_header = true;
    scan.version = version;
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
    if (const std::string why = not_a_torn_end(bytes, offset); !why.empty())
      fail_at(path, offset,
              "damaged journal: after the last valid record, " + std::to_string(bytes.size() - offset) +
                  " bytes that are not a record cut short by a crash (" + why + ")");
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

/// Reads a value of column `c`, checking it against the column's known values.
template <class D>
typename D::Value take_value(PayloadReader& in, const D& c, bool padded_state) {
  using T = typename D::Value;
  T value;
  if constexpr (std::is_same_v<T, core::TaskState>) {
    value = static_cast<T>(in.take<uint8_t>());
    if (padded_state) in.take_bytes(3);
  } else {
    value = in.take<T>();
  }
  if (c.known != nullptr && !c.known(value)) {
    if constexpr (std::is_enum_v<T>)
      in.fail("unknown task " + std::string(c.name) + " " + std::to_string(static_cast<unsigned>(value)));
    else
      in.fail("unknown task " + std::string(c.name) + " " + std::to_string(+value));
  }
  return value;
}

JournalRecord decode_update(PayloadReader& in, uint32_t version, bool with_optional) {
  JournalRecord r;
  r.row = in.take<uint32_t>();
  core::for_each_column([&](const auto& c) {
    using D = Column<decltype(c)>;
    if constexpr (!core::kIsSpecColumn<D> && core::kIsColumn<D, core::ValueColumn>)
      if (in_journal(c, version)) r.*c.field = take_value(in, c, true);
  });
  for (const bool optional : {false, true})
    core::for_each_column([&](const auto& c) {
      using D = Column<decltype(c)>;
      if constexpr (!core::kIsSpecColumn<D> && kIsString<D>)
        if (in_journal(c, version) && c.versions.journal_optional == optional && (with_optional || !optional))
          r.*c.field = in.take_bytes(in.take<uint32_t>());
    });
  in.expect_end();
  return r;
}

AppendedTasks decode_appended(PayloadReader& in, uint32_t version, bool functions) {
  AppendedTasks out;
  out.first_row = in.take<uint32_t>();
  const auto count = in.take<uint32_t>();
  const uint64_t end_row = uint64_t{out.first_row} + count;
  if (end_row > std::numeric_limits<core::TaskIndex>::max()) in.fail("appended rows overflow the row index");
  core::TaskTable& t = out.tasks;
  // The strings in the record, in the order of their lengths: at most every spec column.
  std::vector<uint32_t> lengths;
  std::vector<core::TaskIndex> deps;
  const auto wanted = [&](const auto& c) {
    using D = Column<decltype(c)>;
    return core::kIsSpecColumn<D> && kIsString<D> && in_journal(c, version) &&
           (functions || !c.versions.journal_optional);
  };
  for (uint32_t i = 0; i < count; ++i) {
    core::TaskSpec spec;
    core::for_each_column([&](const auto& c) {
      using D = Column<decltype(c)>;
      if constexpr (core::kIsSpecColumn<D> && core::kIsColumn<D, core::ValueColumn>)
        if (in_journal(c, version)) spec.*c.field = take_value(in, c, false);
    });
    if (i > 0 && spec.id <= t.id.back()) in.fail("appended task ids do not ascend");
    lengths.clear();
    uint32_t dep_count = 0;
    for (const bool optional : {false, true}) {
      core::for_each_column([&](const auto& c) {
        if (wanted(c) && c.versions.journal_optional == optional) lengths.push_back(in.take<uint32_t>());
      });
      if (!optional) dep_count = in.take<uint32_t>();
    }
    size_t next = 0;
    for (const bool optional : {false, true})
      core::for_each_column([&](const auto& c) {
        using D = Column<decltype(c)>;
        if constexpr (core::kIsSpecColumn<D> && kIsString<D>)
          if (wanted(c) && c.versions.journal_optional == optional)
            spec.*c.field = in.take_bytes(lengths[next++]);
      });
    deps.clear();
    for (uint32_t d = 0; d < dep_count; ++d) {
      const auto dep = in.take<uint32_t>();
      if (dep >= end_row)
        in.fail("appended task " + std::to_string(spec.id) + " depends on a row that does not exist");
      if (d > 0 && dep <= deps.back())
        in.fail("dependencies of appended task " + std::to_string(spec.id) + " do not ascend");
      deps.push_back(dep);
    }
    spec.deps = deps;
    try {
      t.append(spec);
    } catch (const std::length_error& e) {
      in.fail(e.what());
    }
  }
  in.expect_end();
  return out;
}

std::vector<core::EarlierAttempt> decode_earlier_attempts(PayloadReader& in, uint64_t* dropped) {
  const auto count = in.take<uint32_t>();
  *dropped = in.take<uint32_t>();
  if (count > kEarlierAttemptsPerRecord) in.fail("record of " + std::to_string(count) + " earlier attempts");
  std::vector<core::EarlierAttempt> out(count);
  for (core::EarlierAttempt& a : out) {
    a.task = in.take<uint32_t>();
    a.attempt = in.take<uint32_t>();
    a.worker_rank = in.take<int32_t>();
    a.exit_code = in.take<int32_t>();
    a.signal = in.take<int32_t>();
    const auto end = in.take<uint8_t>();
    if (end >= core::kAttemptEndCount) in.fail("unknown attempt end " + std::to_string(end));
    a.end = static_cast<core::AttemptEnd>(end);
    in.take_bytes(3);
    a.start_time = in.take<double>();
    a.end_time = in.take<double>();
    a.max_rss_kb = in.take<int64_t>();
  }
  in.expect_end();
  return out;
}

}  // namespace

// --- Replay -------------------------------------------------------------------------------------

ReplayResult replay_journal(const std::string& path, uint64_t epoch, const OnTaskUpdate& on_update,
                            const OnTasksAppended& on_append, const OnEarlierAttempts& on_attempts) {
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
      const JournalRecord record = decode_update(in, scan.version, frame.kind == kKindTaskUpdateWithResult);
      if (on_update) on_update(record, frame.offset);
    } else if (frame.kind == kKindTasksAppended || frame.kind == kKindFunctionTasksAppended) {
      const AppendedTasks appended =
          decode_appended(in, scan.version, frame.kind == kKindFunctionTasksAppended);
      if (on_append) on_append(appended, frame.offset);
    } else if (frame.kind == kKindSubmission) {
      const auto base = in.take<uint32_t>();
      const std::string_view source = in.take_bytes(in.take<uint32_t>());
      if (source.empty()) in.fail("submission record without a file name");
      AppendedTasks appended = decode_appended(in, scan.version, false);
      appended.source = source;
      appended.base = base;
      if (on_append) on_append(appended, frame.offset);
    } else if (frame.kind == kKindEarlierAttempts && scan.version >= kEarlierAttemptsJournalVersion) {
      uint64_t dropped = 0;
      const std::vector<core::EarlierAttempt> kept = decode_earlier_attempts(in, &dropped);
      if (on_attempts) on_attempts(kept, dropped, frame.offset);
    } else {
      in.fail("unknown record kind " + std::to_string(frame.kind) + " (written by a newer mpiq?)");
    }
    ++result.records;
  }
  return result;
}

ReplayResult apply_journal(const std::string& path, uint64_t epoch, core::TaskTable& table,
                           core::AttemptLog* attempts) {
  std::vector<TakenSubmission> submissions;
  const auto on_update = [&](const JournalRecord& r, uint64_t offset) {
    if (r.row >= table.size())
      fail_at(path, offset,
              "update of row " + std::to_string(r.row) + ", but the table has " +
                  std::to_string(table.size()) + " rows");
    table.set_runtime(r.row, r);
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
  const auto on_attempts = [&](std::span<const core::EarlierAttempt> kept, uint64_t dropped,
                               uint64_t offset) {
    for (const core::EarlierAttempt& a : kept)
      if (a.task >= table.size())
        fail_at(path, offset,
                "earlier attempt of row " + std::to_string(a.task) + ", but the table has " +
                    std::to_string(table.size()) + " rows");
    if (!attempts) return;
    for (const core::EarlierAttempt& a : kept) attempts->add(a);
    attempts->add_dropped(dropped);
  };
  ReplayResult result = replay_journal(path, epoch, on_update, on_append, on_attempts);
  result.submissions = std::move(submissions);
  return result;
}

// --- Writing ------------------------------------------------------------------------------------

JournalRecord JournalRecord::from_row(const core::TaskTable& table, core::TaskIndex row) {
  JournalRecord record;
  static_cast<core::TaskRuntime&>(record) = table.runtime(row);
  record.row = row;
  return record;
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
  FileDescriptor fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) throw_errno(path, "open");
  const std::string bytes = read_whole_file(path);
  const Scan scan = scan_journal(bytes, path);
  if (scan.has_header && scan.epoch > epoch)
    throw InputError(path, 0, 0,
                     "the journal follows snapshot " + std::to_string(scan.epoch) + ", newer than snapshot " +
                         std::to_string(epoch));
  // Records are written in this build's layout: appending them to a journal of an older format would
  // make it unreadable. (The hub never does: it opens the journal after a snapshot, with a new epoch.)
  if (scan.has_header && scan.epoch == epoch && scan.version != kJournalFormatVersion)
    throw InputError(path, 0, 0,
                     "journal format version " + std::to_string(scan.version) +
                         " cannot be continued by this mpiq (" + std::to_string(kJournalFormatVersion) +
                         "): replay it and take a snapshot first");
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
  // Kind 4 only when an optional column (the result) is not empty: a run of commands writes kind 1.
  bool optional = false;
  core::for_each_column([&](const auto& c) {
    using D = Column<decltype(c)>;
    if constexpr (!core::kIsSpecColumn<D> && kIsString<D>)
      optional = optional || (c.versions.journal_optional && !(r.*c.field).empty());
  });
  const size_t start = begin_record(pending_, optional ? kKindTaskUpdateWithResult : kKindTaskUpdate);
  put<uint32_t>(pending_, r.row);
  core::for_each_column([&](const auto& c) {
    using D = Column<decltype(c)>;
    if constexpr (!core::kIsSpecColumn<D> && core::kIsColumn<D, core::ValueColumn>) {
      if constexpr (std::is_same_v<typename D::Value, core::TaskState>) {
        put<uint8_t>(pending_, static_cast<uint8_t>(r.*c.field));
        pending_.append(3, '\0');
      } else {
        put<typename D::Value>(pending_, r.*c.field);
      }
    }
  });
  for (const bool with_optional : {false, true})
    core::for_each_column([&](const auto& c) {
      using D = Column<decltype(c)>;
      if constexpr (!core::kIsSpecColumn<D> && kIsString<D>)
        if (c.versions.journal_optional == with_optional && (optional || !with_optional)) {
          put<uint32_t>(pending_, static_cast<uint32_t>((r.*c.field).size()));
          pending_.append(r.*c.field);
        }
    });
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
      for (size_t r = row; r < table.size() && !functions; ++r)
        functions = needs_optional_columns(table, r, true);
    const size_t start = begin_record(pending_, functions ? kKindFunctionTasksAppended : kKindTasksAppended);
    put<uint32_t>(pending_, static_cast<uint32_t>(row));
    const size_t count_at = pending_.size();
    put<uint32_t>(pending_, 0);
    uint32_t count = 0;
    for (; row < table.size() && (count == 0 || pending_.size() - start < kAppendRecordTarget);
         ++row, ++count) {
      if (task_variable_bytes(table, row, functions) > kMaxRecordBytes / 2)
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
    if (needs_optional_columns(table, row, true))
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

void Journal::append_earlier_attempts(std::span<const core::EarlierAttempt> kept, uint64_t dropped) {
  static_assert(kEarlierAttemptBytes == 4 * 5 + 4 + 8 * 3);
  if (kept.empty() && dropped == 0) return;
  size_t first = 0;
  do {
    const size_t count = std::min(kept.size() - first, kEarlierAttemptsPerRecord);
    const size_t start = begin_record(pending_, kKindEarlierAttempts);
    put<uint32_t>(pending_, static_cast<uint32_t>(count));
    // The first record carries the count (one hub turn drops far fewer than 2^32).
    put<uint32_t>(pending_, first == 0 ? static_cast<uint32_t>(std::min<uint64_t>(dropped, UINT32_MAX)) : 0);
    for (const core::EarlierAttempt& a : kept.subspan(first, count)) {
      put<uint32_t>(pending_, a.task);
      put<uint32_t>(pending_, a.attempt);
      put<int32_t>(pending_, a.worker_rank);
      put<int32_t>(pending_, a.exit_code);
      put<int32_t>(pending_, a.signal);
      put<uint8_t>(pending_, static_cast<uint8_t>(a.end));
      pending_.append(3, '\0');
      put<double>(pending_, a.start_time);
      put<double>(pending_, a.end_time);
      put<int64_t>(pending_, a.max_rss_kb);
    }
    finish_record(pending_, start);
    ++pending_records_;
    first += count;
  } while (first < kept.size());
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
