#include "store/checkpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include "mpiq/error.hpp"
#include "store/atomic_file.hpp"
#include "store/child_check.hpp"
#include "store/crc32c.hpp"
#include "store/hdf5_handle.hpp"
#include "store/posix_file.hpp"

namespace mpiq::store {

// The datasets hold the raw bytes of the in-memory columns, and the checksums are over those bytes.
static_assert(std::endian::native == std::endian::little, "checkpoint columns are stored little-endian");
static_assert(sizeof(core::TaskState) == 1);

namespace {

constexpr char kChecksumAttribute[] = "crc32c";

/// HDF5's types for a column's element type: `file` is how the file stores it, `memory` how we hold it.
template <class T>
struct ColumnType;
template <>
struct ColumnType<uint8_t> {
  static hid_t file() { return H5T_STD_U8LE; }
  static hid_t memory() { return H5T_NATIVE_UINT8; }
  static constexpr const char* kName = "uint8";
};
template <>
struct ColumnType<char> : ColumnType<uint8_t> {};
template <>
struct ColumnType<uint32_t> {
  static hid_t file() { return H5T_STD_U32LE; }
  static hid_t memory() { return H5T_NATIVE_UINT32; }
  static constexpr const char* kName = "uint32";
};
template <>
struct ColumnType<int32_t> {
  static hid_t file() { return H5T_STD_I32LE; }
  static hid_t memory() { return H5T_NATIVE_INT32; }
  static constexpr const char* kName = "int32";
};
template <>
struct ColumnType<uint64_t> {
  static hid_t file() { return H5T_STD_U64LE; }
  static hid_t memory() { return H5T_NATIVE_UINT64; }
  static constexpr const char* kName = "uint64";
};
template <>
struct ColumnType<int64_t> {
  static hid_t file() { return H5T_STD_I64LE; }
  static hid_t memory() { return H5T_NATIVE_INT64; }
  static constexpr const char* kName = "int64";
};
template <>
struct ColumnType<double> {
  static hid_t file() { return H5T_IEEE_F64LE; }
  static hid_t memory() { return H5T_NATIVE_DOUBLE; }
  static constexpr const char* kName = "float64";
};

/// The `state` column's type: an enum over uint8 whose names and values are TaskState's.
H5Type make_state_type() {
  H5Type type(check_h5(H5Tenum_create(H5T_STD_U8LE), "H5Tenum_create"));
  for (size_t i = 0; i < core::kTaskStateCount; ++i) {
    const auto value = static_cast<uint8_t>(i);
    const std::string name(core::kTaskStateNames[i]);
    check_h5(H5Tenum_insert(type.get(), name.c_str(), &value), "H5Tenum_insert");
  }
  return type;
}

/// The `end` column of /attempts: an enum over uint8 whose names and values are AttemptEnd's.
H5Type make_attempt_end_type() {
  H5Type type(check_h5(H5Tenum_create(H5T_STD_U8LE), "H5Tenum_create"));
  for (uint8_t i = 0; i < core::kAttemptEndCount; ++i)
    check_h5(H5Tenum_insert(type.get(), core::kAttemptEndNames[i], &i), "H5Tenum_insert");
  return type;
}

/// A UTF-8 string of `size` bytes, NUL-padded: what format 4 writes. (Formats 1-3 wrote
/// variable-length strings, which HDF5 keeps in its global heap without a checksum.)
H5Type make_fixed_string_type(size_t size) {
  H5Type type(check_h5(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  check_h5(H5Tset_size(type.get(), std::max<size_t>(size, 1)), "H5Tset_size");
  check_h5(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "H5Tset_strpad");
  check_h5(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset");
  return type;
}

/// The memory type to read a variable-length string attribute of a format 1-3 file with.
H5Type make_variable_string_type() {
  H5Type type(check_h5(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  check_h5(H5Tset_size(type.get(), H5T_VARIABLE), "H5Tset_size");
  check_h5(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset");
  return type;
}

H5PropertyList make_file_access_plist() {
  H5PropertyList fapl(check_h5(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate"));
  // The 1.8 object formats carry checksums on the file's metadata, so damage there is an error rather
  // than garbage, and HDF5 1.8 and later (any h5py, h5dump) still read the file.
  check_h5(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18), "H5Pset_libver_bounds");
  // STRONG: H5Fclose really closes and flushes the file, even if an id leaked, before we fsync it.
  check_h5(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG), "H5Pset_fclose_degree");
  // The run directory's lock already excludes a second hub; HDF5's own flock() fails outright on file
  // systems without locks (some Lustre and NFS mounts).
  check_h5(H5Pset_file_locking(fapl.get(), false, true), "H5Pset_file_locking");
  return fapl;
}

void write_u32_attribute(hid_t object, const char* name, uint32_t value) {
  H5Dataspace space(check_h5(H5Screate(H5S_SCALAR), "H5Screate"));
  H5Attribute attr(
      check_h5(H5Acreate2(object, name, H5T_STD_U32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2"));
  check_h5(H5Awrite(attr.get(), H5T_NATIVE_UINT32, &value), "H5Awrite");
  attr.close();
}

void write_u64_attribute(hid_t object, const char* name, uint64_t value) {
  H5Dataspace space(check_h5(H5Screate(H5S_SCALAR), "H5Screate"));
  H5Attribute attr(
      check_h5(H5Acreate2(object, name, H5T_STD_U64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2"));
  check_h5(H5Awrite(attr.get(), H5T_NATIVE_UINT64, &value), "H5Awrite");
  attr.close();
}

void write_string_attribute(hid_t object, const char* name, const std::string& value) {
  if (value.find('\0') != std::string::npos)
    throw Error(std::string("write_checkpoint: attribute '") + name + "' holds a NUL byte");
  const H5Type type = make_fixed_string_type(value.size());
  H5Dataspace space(check_h5(H5Screate(H5S_SCALAR), "H5Screate"));
  H5Attribute attr(
      check_h5(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2"));
  std::string padded = value;
  padded.resize(std::max<size_t>(value.size(), 1), '\0');
  check_h5(H5Awrite(attr.get(), type.get(), padded.data()), "H5Awrite");
  attr.close();
}

/// Writes one column as a contiguous dataset with a single H5Dwrite, and its checksum attribute.
void write_dataset(hid_t parent, const char* name, hid_t file_type, hid_t memory_type, const void* data,
                   size_t count, size_t element_size, hid_t dcpl) {
  const hsize_t dims[1] = {count};
  H5Dataspace space(check_h5(H5Screate_simple(1, dims, nullptr), "H5Screate_simple"));
  H5Dataset dataset(check_h5(H5Dcreate2(parent, name, file_type, space.get(), H5P_DEFAULT, dcpl, H5P_DEFAULT),
                             "H5Dcreate2"));
  if (count > 0)
    check_h5(H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "H5Dwrite");
  write_u32_attribute(dataset.get(), kChecksumAttribute, crc32c(0, data, count * element_size));
  dataset.close();
}

template <class T>
void write_column(hid_t parent, const char* name, const std::vector<T>& column, hid_t dcpl) {
  write_dataset(parent, name, ColumnType<T>::file(), ColumnType<T>::memory(), column.data(), column.size(),
                sizeof(T), dcpl);
}

void write_string_column(hid_t tasks, const char* name, const core::StringColumn& column, hid_t dcpl) {
  H5Group group(check_h5(H5Gcreate2(tasks, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Gcreate2"));
  write_column(group.get(), "bytes", column.blob(), dcpl);
  if (column.all_empty())  // kept without offsets in memory (every row ""): the file has them all
    write_column(group.get(), "offsets", std::vector<uint64_t>(column.size() + 1, 0), dcpl);
  else
    write_column(group.get(), "offsets", column.offsets(), dcpl);
  group.close();
}

/// Whether checkpoint format `version` holds column `c`.
template <class D>
bool in_format(const D& c, uint32_t version) {
  return c.versions.checkpoint_since != 0 && c.versions.checkpoint_since <= version;
}

/// A string column whose rows are computed (kind names, results): `text(i)` is row i.
template <class Text>
void write_computed_strings(hid_t tasks, const char* name, size_t rows, Text text, hid_t dcpl) {
  core::StringColumn column;
  size_t bytes = 0;
  for (size_t i = 0; i < rows; ++i) bytes += std::string_view(text(i)).size();
  column.reserve(rows, bytes);
  for (size_t i = 0; i < rows; ++i) column.push_back(text(i));
  write_string_column(tasks, name, column, dcpl);
}

/// Writes column `c` of `table`: values and strings under /tasks, the dependencies as /graph.
template <class D>
void write_schema_column(hid_t tasks, hid_t graph, const core::TaskTable& table, const D& c, hid_t dcpl) {
  using Column = std::remove_cvref_t<D>;
  const std::string name(c.name);
  if constexpr (core::kIsColumn<Column, core::TextColumn>) {
    write_string_column(tasks, name.c_str(), table.*c.rows, dcpl);
  } else if constexpr (core::kIsColumn<Column, core::KindColumn>) {
    // In memory a kind is an index into kind_names; on disk it is the name, readable without a
    // dictionary (h5py: bytes[offsets[i]:offsets[i+1]]).
    const auto& kinds = table.*c.rows;
    const auto& names = table.*c.names;
    write_computed_strings(
        tasks, name.c_str(), table.size(), [&](size_t i) -> std::string_view { return names[kinds[i]]; },
        dcpl);
  } else if constexpr (core::kIsColumn<Column, core::ResultTextColumn>) {
    write_computed_strings(
        tasks, name.c_str(), table.size(), [&](size_t i) -> std::string_view { return (table.*c.rows)[i]; },
        dcpl);
  } else if constexpr (core::kIsColumn<Column, core::DependencyColumn>) {
    write_column(graph, "offsets", table.*c.offsets, dcpl);
    write_column(graph, "edges", table.*c.edges, dcpl);
  } else if constexpr (std::is_same_v<typename Column::Value, core::TaskState>) {
    const H5Type state_type = make_state_type();
    const auto& states = table.*c.rows;
    write_dataset(tasks, name.c_str(), state_type.get(), state_type.get(), states.data(), states.size(), 1,
                  dcpl);
  } else {
    write_column(tasks, name.c_str(), table.*c.rows, dcpl);
  }
}

// inbox_taken: one line `BASE FIRST LAST ROWS NAME` per file (a name holds no newline: the inbox
// takes no such file).
std::string format_inbox_taken(const std::vector<TakenSubmission>& taken) {
  std::string text;
  for (const TakenSubmission& t : taken) {
    if (t.file.empty() || t.file.find('\n') != std::string::npos)
      throw Error("write_checkpoint: inbox file name '" + t.file + "' is empty or holds a newline");
    if (!text.empty()) text += '\n';
    text.append(std::to_string(t.base)).append(" ").append(std::to_string(t.first_id)).append(" ");
    text.append(std::to_string(t.last_id)).append(" ").append(std::to_string(t.rows)).append(" ");
    text.append(t.file);
  }
  return text;
}

// The lines of format_inbox_taken; nullopt for anything else.
std::optional<std::vector<TakenSubmission>> parse_inbox_taken(std::string_view text) {
  std::vector<TakenSubmission> taken;
  while (!text.empty()) {
    const size_t nl = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, nl);
    text = nl < text.size() ? text.substr(nl + 1) : std::string_view();
    uint64_t numbers[4] = {};
    for (uint64_t& n : numbers) {
      const size_t sp = line.find(' ');
      if (sp == 0 || sp == std::string_view::npos || sp > 10) return std::nullopt;
      for (char c : line.substr(0, sp)) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<uint64_t>(c - '0');
      }
      if (n > UINT32_MAX) return std::nullopt;
      line.remove_prefix(sp + 1);
    }
    if (line.empty() || line[0] == '.' || numbers[1] > numbers[2]) return std::nullopt;
    taken.push_back({std::string(line), static_cast<core::TaskId>(numbers[0]),
                     static_cast<core::TaskId>(numbers[1]), static_cast<core::TaskId>(numbers[2]),
                     static_cast<uint32_t>(numbers[3])});
  }
  return taken;
}

std::string join_job_ids(const std::vector<std::string>& ids) {
  std::string joined;
  for (const std::string& id : ids) {
    if (id.find(',') != std::string::npos)
      throw Error("write_checkpoint: Slurm job id '" + id + "' holds a comma");
    if (!joined.empty()) joined += ',';
    joined += id;
  }
  return joined;
}

/// The root attributes' values as text, in the order they are written and read: `meta_crc32c` is
/// the CRC-32C of it (format 4), checked after HDF5 has read them.
class AttributeDigest {
 public:
  void add(const char* name, const std::string& value) {
    text_.append(name).append(1, '\0').append(value).append(1, '\0');
  }
  uint32_t crc() const { return crc32c(0, text_.data(), text_.size()); }

 private:
  std::string text_;
};

constexpr char kMetaChecksumAttribute[] = "meta_crc32c";

/// Calls `f(name, member)` for each column of /attempts, in the order they are written.
template <class F>
void for_each_attempt_column(F&& f) {
  using A = core::EarlierAttempt;
  f("task", &A::task);
  f("attempt", &A::attempt);
  f("worker_rank", &A::worker_rank);
  f("exit_code", &A::exit_code);
  f("signal", &A::signal);
  f("end", &A::end);
  f("start_time", &A::start_time);
  f("end_time", &A::end_time);
  f("max_rss_kb", &A::max_rss_kb);
}

/// /attempts: one column per field of the earlier attempts, one H5Dwrite each.
void write_attempts(hid_t file, const core::AttemptLog& log, hid_t gcpl, hid_t dcpl) {
  H5Group group(check_h5(H5Gcreate2(file, "attempts", H5P_DEFAULT, gcpl, H5P_DEFAULT), "H5Gcreate2"));
  const std::vector<core::EarlierAttempt>& records = log.records();
  for_each_attempt_column([&](const char* name, auto member) {
    using T = std::remove_cvref_t<decltype(records[0].*member)>;
    std::vector<T> column;
    column.reserve(records.size());
    for (const core::EarlierAttempt& a : records) column.push_back(a.*member);
    if constexpr (std::is_same_v<T, core::AttemptEnd>) {
      const H5Type end_type = make_attempt_end_type();
      write_dataset(group.get(), name, end_type.get(), end_type.get(), column.data(), column.size(), 1, dcpl);
    } else {
      write_column(group.get(), name, column, dcpl);
    }
  });
  group.close();
}

void write_hdf5_file(const std::string& path, const core::TaskTable& table, const CheckpointMeta& meta) {
  const H5PropertyList fapl = make_file_access_plist();
  H5PropertyList fcpl(check_h5(H5Pcreate(H5P_FILE_CREATE), "H5Pcreate"));
  // The root's attributes stay in its object header (checksummed in the 1.8 format), rather than
  // moving to dense storage past HDF5's default of 8 compact attributes.
  check_h5(H5Pset_attr_phase_change(fcpl.get(), 32, 24), "H5Pset_attr_phase_change");
  // No modification times in object headers: the same table gives the same bytes, even when two
  // writes straddle a second.
  check_h5(H5Pset_obj_track_times(fcpl.get(), false), "H5Pset_obj_track_times");
  H5File file(check_h5(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()), "H5Fcreate"));

  const uint32_t version = kCheckpointFormatVersion;
  AttributeDigest digest;
  const auto u32 = [&](const char* name, uint32_t value) {
    write_u32_attribute(file.get(), name, value);
    digest.add(name, std::to_string(value));
  };
  const auto u64 = [&](const char* name, uint64_t value) {
    write_u64_attribute(file.get(), name, value);
    digest.add(name, std::to_string(value));
  };
  const auto text = [&](const char* name, const std::string& value) {
    write_string_attribute(file.get(), name, value);
    digest.add(name, value);
  };
  u32("format_version", version);
  text("mpiq_version", meta.mpiq_version);
  text("task_file", meta.task_file);
  text("task_file_sha256", meta.task_file_sha256);
  text("created", meta.created.empty() ? utc_timestamp_now() : meta.created);
  u32("restarts", meta.restarts);
  text("slurm_job_ids", join_job_ids(meta.slurm_job_ids));
  u64("journal_epoch", meta.journal_epoch);
  if (!meta.task_file_edits.empty()) {
    std::string edits;
    for (const std::string& e : meta.task_file_edits) edits += (edits.empty() ? "" : "\n") + e;
    text("task_file_edits", edits);
  }
  if (!meta.inbox_taken.empty()) text("inbox_taken", format_inbox_taken(meta.inbox_taken));
  u64("attempts_dropped", meta.earlier_attempts.dropped());
  write_u32_attribute(file.get(), kMetaChecksumAttribute, digest.crc());

  H5PropertyList dcpl(check_h5(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
  check_h5(H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS), "H5Pset_layout");
  // Every element is written right away: filling the space first would write each column twice.
  check_h5(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "H5Pset_fill_time");
  check_h5(H5Pset_obj_track_times(dcpl.get(), false), "H5Pset_obj_track_times");

  H5PropertyList gcpl(check_h5(H5Pcreate(H5P_GROUP_CREATE), "H5Pcreate"));
  check_h5(H5Pset_obj_track_times(gcpl.get(), false), "H5Pset_obj_track_times");
  H5Group tasks(
      check_h5(H5Gcreate2(file.get(), "tasks", H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), "H5Gcreate2"));
  H5Group graph(
      check_h5(H5Gcreate2(file.get(), "graph", H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), "H5Gcreate2"));
  core::for_each_column([&](const auto& c) {
    if (in_format(c, version)) write_schema_column(tasks.get(), graph.get(), table, c, dcpl.get());
  });
  tasks.close();
  graph.close();
  write_attempts(file.get(), meta.earlier_attempts, gcpl.get(), dcpl.get());

  file.close();
}

// ---------------------------------------------------------------------------------------------------
// Reading

/// Sizes `column` to `count` elements, asking for transparent huge pages before the first touch.
/// Faulting in fresh 4 KiB pages was most of a load's time: 1,000,000 tasks loaded in 0.40 s with
/// 4 KiB pages and in 0.11-0.18 s with huge pages (measured on a 2-core VM, THP "madvise").
template <class T>
void allocate_column(std::vector<T>& column, size_t count) {
  column.clear();
  column.reserve(count);
  advise_huge_pages(column.data(), count * sizeof(T));
  column.resize(count);
}

constexpr unsigned char kHdf5Signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

bool starts_with_hdf5_signature(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  in.read(head, sizeof head);
  return in.gcount() == sizeof head && std::memcmp(head, kHdf5Signature, sizeof head) == 0;
}

/// Reads and checks one checkpoint file; every problem becomes an InputError naming the file.
class CheckpointReader {
 public:
  /// Reads the file at `open_path`, naming it `path` in messages (the loader opens the file once and
  /// reads it through /proc/self/fd, so that a checked file cannot be swapped for an unchecked one).
  CheckpointReader(const std::string& open_path, const std::string& path)
      : open_path_(open_path), path_(path) {}

  core::TaskTable read(CheckpointMeta* meta) {
    open();
    CheckpointMeta m;
    read_meta(&m);
    core::TaskTable table;
    H5Group tasks = open_group(file_.get(), "/tasks");
    H5Group graph = open_group(file_.get(), "/graph");
    // The first column (the ids) says how many rows every other one must have.
    std::optional<uint64_t> rows;
    core::for_each_column([&](const auto& c) {
      if (in_format(c, version_)) read_schema_column(tasks.get(), graph.get(), table, c, rows);
    });
    tasks.close();
    graph.close();
    m.earlier_attempts = read_attempts(table.size());
    file_.close();
    // Columns that this file's version lacks get their defaults (a version 1 file: every task a command).
    table.init_runtime_columns();

    if (const std::string problem = core::find_table_problem(table); !problem.empty()) fail(problem);
    for (const TakenSubmission& t : m.inbox_taken)
      if (!table.find(t.first_id) || !table.find(t.last_id))
        fail("damaged: 'inbox_taken' names " + t.file + " with ids " + std::to_string(t.first_id) + "-" +
             std::to_string(t.last_id) + ", which no task has");
    if (meta) *meta = std::move(m);
    return table;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw InputError(path_, 0, 0, what); }

  void open() {
    struct stat st {};
    if (::stat(open_path_.c_str(), &st) != 0)
      fail(std::string("cannot open checkpoint: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail("checkpoint is not a regular file");
    file_size_ = static_cast<uint64_t>(st.st_size);
    if (!starts_with_hdf5_signature(open_path_)) fail("not an mpiq checkpoint: not an HDF5 file");
    const H5PropertyList fapl = make_file_access_plist();
    const hid_t id = H5Fopen(open_path_.c_str(), H5F_ACC_RDONLY, fapl.get());
    if (id < 0) {
      try {
        throw_h5("H5Fopen");
      } catch (const Hdf5Error& e) {
        fail(std::string("damaged or truncated HDF5 file: ") + e.what());
      }
    }
    file_ = H5File(id);
  }

  bool has_attribute(hid_t object, const char* name) const {
    return check_h5(H5Aexists(object, name), "H5Aexists") > 0;
  }

  H5Attribute open_scalar_attribute(hid_t object, const char* name, H5T_class_t expected_class) const {
    if (!has_attribute(object, name))
      fail(std::string("not an mpiq checkpoint: no '") + name + "' attribute on /");
    H5Attribute attr(check_h5(H5Aopen(object, name, H5P_DEFAULT), "H5Aopen"));
    H5Dataspace space(check_h5(H5Aget_space(attr.get()), "H5Aget_space"));
    const H5Type type(check_h5(H5Aget_type(attr.get()), "H5Aget_type"));
    if (H5Tget_class(type.get()) != expected_class || H5Sget_simple_extent_npoints(space.get()) != 1)
      fail(std::string("attribute '") + name + "' has the wrong type or shape");
    return attr;
  }

  uint64_t u64_attribute(hid_t object, const char* name) const {
    const H5Attribute attr = open_scalar_attribute(object, name, H5T_INTEGER);
    const H5Type type(check_h5(H5Aget_type(attr.get()), "H5Aget_type"));
    if (H5Tget_sign(type.get()) != H5T_SGN_NONE)
      fail(std::string("attribute '") + name + "' is not an unsigned integer");
    uint64_t value = 0;
    check_h5(H5Aread(attr.get(), H5T_NATIVE_UINT64, &value), "H5Aread");
    return value;
  }

  uint32_t u32_attribute(hid_t object, const char* name) const {
    const uint64_t value = u64_attribute(object, name);
    if (value > std::numeric_limits<uint32_t>::max())
      fail(std::string("attribute '") + name + "' is out of range");
    return static_cast<uint32_t>(value);
  }

  std::string string_attribute(hid_t object, const char* name) const {
    const H5Attribute attr = open_scalar_attribute(object, name, H5T_STRING);
    const H5Type type(check_h5(H5Aget_type(attr.get()), "H5Aget_type"));
    if (check_h5(H5Tis_variable_str(type.get()), "H5Tis_variable_str") > 0) {
      // HDF5 follows a variable-length string into its global heap, which has no checksum: a damaged
      // reference made it read wild memory (issue 17). Format 4 never writes one, so in a file that
      // claims format 4 it is damage, refused before HDF5 follows it; an older file's are read (in the
      // loader's child process, where a crash is a verdict).
      if (version_ >= 4)
        fail(std::string("damaged: attribute '") + name + "' is a variable-length string, which format " +
             std::to_string(version_) + " never writes");
      const H5Type memory = make_variable_string_type();
      char* text = nullptr;
      check_h5(H5Aread(attr.get(), memory.get(), &text), "H5Aread");
      std::string value = text ? text : "";
      H5free_memory(text);
      return value;
    }
    const size_t size = H5Tget_size(type.get());
    if (size == 0) throw_h5("H5Tget_size");
    if (size > file_size_)
      fail(std::string("attribute '") + name + "' claims more bytes than the file holds");
    std::string value(size, '\0');
    check_h5(H5Aread(attr.get(), type.get(), value.data()), "H5Aread");
    value.resize(std::strlen(value.c_str()));  // fixed-length strings may be NUL-padded
    return value;
  }

  void read_meta(CheckpointMeta* meta) {
    const hid_t root = file_.get();
    if (!has_attribute(root, "format_version"))
      fail("not an mpiq checkpoint: the HDF5 file has no 'format_version' attribute on /");
    const uint64_t version = u64_attribute(root, "format_version");
    if (version < kOldestCheckpointFormatVersion || version > kCheckpointFormatVersion)
      fail("checkpoint format version " + std::to_string(version) + ", but this mpiq reads only versions " +
           std::to_string(kOldestCheckpointFormatVersion) + " to " +
           std::to_string(kCheckpointFormatVersion));
    version_ = static_cast<uint32_t>(version);
    AttributeDigest digest;
    digest.add("format_version", std::to_string(version));
    const auto text = [&](const char* name) {
      std::string value = string_attribute(root, name);
      digest.add(name, value);
      return value;
    };
    CheckpointMeta m;
    m.format_version = static_cast<uint32_t>(version);
    m.mpiq_version = text("mpiq_version");
    m.task_file = text("task_file");
    m.task_file_sha256 = text("task_file_sha256");
    m.created = text("created");
    m.restarts = u32_attribute(root, "restarts");
    digest.add("restarts", std::to_string(m.restarts));
    const std::string jobs = text("slurm_job_ids");
    for (size_t begin = 0; begin < jobs.size();) {
      const size_t comma = std::min(jobs.find(',', begin), jobs.size());
      m.slurm_job_ids.push_back(jobs.substr(begin, comma - begin));
      begin = comma + 1;
    }
    m.journal_epoch = u64_attribute(root, "journal_epoch");
    digest.add("journal_epoch", std::to_string(m.journal_epoch));
    if (has_attribute(root, "task_file_edits")) {
      const std::string edits = text("task_file_edits");
      for (size_t begin = 0; begin < edits.size();) {
        const size_t nl = std::min(edits.find('\n', begin), edits.size());
        m.task_file_edits.push_back(edits.substr(begin, nl - begin));
        begin = nl + 1;
      }
    }
    if (version_ >= kInboxTakenFormatVersion && has_attribute(root, "inbox_taken")) {
      std::optional<std::vector<TakenSubmission>> taken = parse_inbox_taken(text("inbox_taken"));
      if (!taken)
        fail("damaged: the attribute 'inbox_taken' on / is not lines of 'BASE FIRST LAST ROWS NAME'");
      m.inbox_taken = std::move(*taken);
    }
    if (version_ >= kAttemptsFormatVersion) {
      attempts_dropped_ = u64_attribute(root, "attempts_dropped");
      digest.add("attempts_dropped", std::to_string(attempts_dropped_));
    }
    if (version_ >= 4 && u32_attribute(root, kMetaChecksumAttribute) != digest.crc())
      fail("damaged: the attributes on / do not match their checksum (meta_crc32c)");
    *meta = std::move(m);
  }

  /// /attempts of a format 5 file (none in an older one), checked against a table of `rows` rows.
  core::AttemptLog read_attempts(size_t rows) const {
    core::AttemptLog log;
    if (version_ < kAttemptsFormatVersion) return log;
    H5Group group = open_group(file_.get(), "/attempts");
    std::optional<uint64_t> count;
    std::vector<core::EarlierAttempt> records;
    for_each_attempt_column([&](const char* name, auto member) {
      using T = std::remove_cvref_t<decltype(records[0].*member)>;
      std::vector<T> column;
      const std::string full = std::string("/attempts/") + name;
      if constexpr (std::is_same_v<T, core::AttemptEnd>) {
        const H5Type end_type = make_attempt_end_type();
        read_dataset(group.get(), full, name, end_type.get(), end_type.get(),
                     "the AttemptEnd enum over uint8", count, column);
      } else {
        read_dataset(group.get(), full, name, ColumnType<T>::file(), ColumnType<T>::memory(),
                     ColumnType<T>::kName, count, column);
      }
      if (!count) {
        count = column.size();
        records.resize(column.size());
      }
      for (size_t k = 0; k < column.size(); ++k) records[k].*member = column[k];
    });
    group.close();
    log.reserve(records.size(), rows);
    for (const core::EarlierAttempt& a : records) log.add(a);
    log.add_dropped(attempts_dropped_);
    if (const std::string problem = log.find_problem(rows); !problem.empty()) fail("/attempts: " + problem);
    return log;
  }

  H5Group open_group(hid_t parent, const char* path) const {
    if (check_h5(H5Lexists(parent, path, H5P_DEFAULT), "H5Lexists") <= 0)
      fail(std::string("not an mpiq checkpoint: no group ") + path);
    H5O_info_t info{};
    check_h5(H5Oget_info_by_name2(parent, path, &info, H5O_INFO_BASIC, H5P_DEFAULT), "H5Oget_info_by_name2");
    if (info.type != H5O_TYPE_GROUP) fail(std::string(path) + " is not a group");
    return H5Group(check_h5(H5Gopen2(parent, path, H5P_DEFAULT), "H5Gopen2"));
  }

  /// Opens `parent_path/name`, checks that it is a one-dimensional dataset of `file_type` with
  /// `expected` elements (any number when nullopt) that fit in the file, and reads it into `out`.
  template <class T>
  void read_dataset(hid_t parent, const std::string& full_name, const char* name, hid_t file_type,
                    hid_t memory_type, const char* type_name, std::optional<uint64_t> expected,
                    std::vector<T>& out) const {
    if (check_h5(H5Lexists(parent, name, H5P_DEFAULT), "H5Lexists") <= 0)
      fail("not an mpiq checkpoint, or damaged: dataset " + full_name + " is missing");
    H5O_info_t info{};
    check_h5(H5Oget_info_by_name2(parent, name, &info, H5O_INFO_BASIC, H5P_DEFAULT), "H5Oget_info_by_name2");
    if (info.type != H5O_TYPE_DATASET) fail(full_name + " is not a dataset");
    H5Dataset dataset(check_h5(H5Dopen2(parent, name, H5P_DEFAULT), "H5Dopen2"));

    const H5Type type(check_h5(H5Dget_type(dataset.get()), "H5Dget_type"));
    if (check_h5(H5Tequal(type.get(), file_type), "H5Tequal") <= 0)
      fail(full_name + " has the wrong type (expected " + type_name + ")");
    H5Dataspace space(check_h5(H5Dget_space(dataset.get()), "H5Dget_space"));
    if (check_h5(H5Sget_simple_extent_ndims(space.get()), "H5Sget_simple_extent_ndims") != 1)
      fail(full_name + " is not one-dimensional");
    hsize_t count = 0;
    check_h5(H5Sget_simple_extent_dims(space.get(), &count, nullptr), "H5Sget_simple_extent_dims");
    if (expected && count != *expected)
      fail(full_name + " has " + std::to_string(count) + " elements, expected " + std::to_string(*expected));
    // Checked before allocating, so that a damaged length cannot ask for terabytes. Only contiguous
    // data must fit in the file; a chunked copy (h5repack) is bounded by what it decompresses to.
    const uint64_t bytes = count * sizeof(T);
    const H5PropertyList dcpl(check_h5(H5Dget_create_plist(dataset.get()), "H5Dget_create_plist"));
    if (count > file_size_ || (H5Pget_layout(dcpl.get()) == H5D_CONTIGUOUS && bytes > file_size_))
      fail(full_name + " claims " + std::to_string(count) + " elements, more than the file holds");

    allocate_column(out, count);
    if (count > 0)
      check_h5(H5Dread(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), "H5Dread");

    if (!has_attribute(dataset.get(), kChecksumAttribute)) fail(full_name + " has no crc32c attribute");
    H5Attribute attr(check_h5(H5Aopen(dataset.get(), kChecksumAttribute, H5P_DEFAULT), "H5Aopen"));
    uint32_t stored = 0;
    check_h5(H5Aread(attr.get(), H5T_NATIVE_UINT32, &stored), "H5Aread");
    if (stored != crc32c(0, out.data(), bytes)) fail(full_name + " is damaged: its checksum does not match");
  }

  template <class T>
  std::vector<T> column(hid_t parent, const std::string& parent_path, const char* name,
                        std::optional<uint64_t> expected) const {
    std::vector<T> out;
    read_dataset(parent, parent_path + "/" + name, name, ColumnType<T>::file(), ColumnType<T>::memory(),
                 ColumnType<T>::kName, expected, out);
    return out;
  }

  /// Reads column `c` into `table`; `rows` is set by the first column read and checked for the rest.
  template <class D>
  void read_schema_column(hid_t tasks, hid_t graph, core::TaskTable& table, const D& c,
                          std::optional<uint64_t>& rows) const {
    using Column = std::remove_cvref_t<D>;
    const std::string name(c.name);
    if constexpr (core::kIsColumn<Column, core::DependencyColumn>) {
      auto& offsets = table.*c.offsets;
      auto& edges = table.*c.edges;
      offsets = column<uint64_t>(graph, "/graph", "offsets", rows ? std::optional(*rows + 1) : std::nullopt);
      edges = column<uint32_t>(graph, "/graph", "edges", std::nullopt);
      check_offsets(offsets, "/graph/offsets", edges.size(), "/graph/edges");
      if (!rows) rows = offsets.size() - 1;
    } else if constexpr (core::kIsColumn<Column, core::ValueColumn>) {
      using T = typename Column::Value;
      if constexpr (std::is_same_v<T, core::TaskState>)
        table.*c.rows = state_column(tasks, rows);
      else
        table.*c.rows = column<T>(tasks, "/tasks", name.c_str(), rows);
      if (!rows) {
        if ((table.*c.rows).size() > std::numeric_limits<core::TaskIndex>::max())
          fail("/tasks/" + name + " has more rows than a task table can hold");
        rows = (table.*c.rows).size();
      }
    } else {
      if (!rows) fail("the first column of the schema must hold fixed-size values");
      const core::StringColumn text = string_column(tasks, name.c_str(), *rows);
      if constexpr (core::kIsColumn<Column, core::TextColumn>) {
        table.*c.rows = text;
      } else if constexpr (core::kIsColumn<Column, core::KindColumn>) {
        auto& kinds = table.*c.rows;
        kinds.resize(*rows);
        for (size_t i = 0; i < *rows; ++i) kinds[i] = table.intern_kind(text[i]);
      } else {
        static_assert(core::kIsColumn<Column, core::ResultTextColumn>);
        auto& results = table.*c.rows;
        results.resize(*rows);
        for (size_t i = 0; i < *rows; ++i) results[i] = text[i];
      }
    }
  }

  /// The `state` column: an enum over uint8 whose every member is a TaskState of the same name and
  /// value. An older file's enum may lack states added since (it cannot hold them), so it is compared
  /// member by member, not with H5Tequal.
  std::vector<core::TaskState> state_column(hid_t tasks, std::optional<uint64_t> rows) const {
    if (check_h5(H5Lexists(tasks, "state", H5P_DEFAULT), "H5Lexists") > 0) {
      H5Dataset dataset(check_h5(H5Dopen2(tasks, "state", H5P_DEFAULT), "H5Dopen2"));
      const H5Type type(check_h5(H5Dget_type(dataset.get()), "H5Dget_type"));
      if (!is_task_state_enum(type.get()))
        fail("/tasks/state has the wrong type (expected the TaskState enum over uint8)");
      std::vector<core::TaskState> out;
      read_dataset(tasks, "/tasks/state", "state", type.get(), type.get(), "the TaskState enum over uint8",
                   rows, out);
      return out;
    }
    std::vector<core::TaskState> out;
    const H5Type state_type = make_state_type();
    read_dataset(tasks, "/tasks/state", "state", state_type.get(), state_type.get(),
                 "the TaskState enum over uint8", rows, out);  // fails: the dataset is missing
    return out;
  }

  static bool is_task_state_enum(hid_t type) {
    if (H5Tget_class(type) != H5T_ENUM) return false;
    const H5Type base(check_h5(H5Tget_super(type), "H5Tget_super"));
    if (check_h5(H5Tequal(base.get(), H5T_STD_U8LE), "H5Tequal") <= 0) return false;
    const int members = H5Tget_nmembers(type);
    if (members <= 0 || static_cast<size_t>(members) > core::kTaskStateCount) return false;
    for (int m = 0; m < members; ++m) {
      uint8_t value = 0;
      check_h5(H5Tget_member_value(type, static_cast<unsigned>(m), &value), "H5Tget_member_value");
      char* name = H5Tget_member_name(type, static_cast<unsigned>(m));
      if (name == nullptr) throw_h5("H5Tget_member_name");
      const bool same = value < core::kTaskStateCount && core::kTaskStateNames[value] == name;
      H5free_memory(name);
      if (!same) return false;
    }
    return true;
  }

  /// Checks CSR-style offsets into `target` (a blob or the edges) of `target_size` elements.
  void check_offsets(const std::vector<uint64_t>& offsets, const std::string& name, uint64_t target_size,
                     const std::string& target) const {
    if (offsets.front() != 0) fail(name + " does not start at 0");
    for (size_t i = 1; i < offsets.size(); ++i)
      if (offsets[i] < offsets[i - 1]) fail(name + " decreases at row " + std::to_string(i - 1));
    if (offsets.back() != target_size)
      fail(name + " ends at " + std::to_string(offsets.back()) + ", but " + target + " has " +
           std::to_string(target_size) + " elements");
  }

  core::StringColumn string_column(hid_t tasks, const char* name, uint64_t rows) const {
    const std::string group_path = std::string("/tasks/") + name;
    H5Group group = open_group(tasks, name);
    std::vector<uint64_t> offsets = column<uint64_t>(group.get(), group_path, "offsets", rows + 1);
    std::vector<char> bytes = column<char>(group.get(), group_path, "bytes", std::nullopt);
    check_offsets(offsets, group_path + "/offsets", bytes.size(), group_path + "/bytes");
    group.close();
    core::StringColumn out;
    out.assign(std::move(bytes), std::move(offsets));
    return out;
  }

  std::string open_path_;
  std::string path_;
  uint64_t file_size_ = 0;
  uint32_t version_ = 0;
  uint64_t attempts_dropped_ = 0;
  H5File file_;
};

}  // namespace

std::string find_table_problem(const core::TaskTable& table) {
  return core::find_table_problem(table);
}

std::string utc_timestamp_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

void write_checkpoint(const std::string& path, const core::TaskTable& table, const CheckpointMeta& meta) {
  if (const std::string problem = core::find_table_problem(table); !problem.empty())
    throw Error("write_checkpoint " + path + ": refusing to save an inconsistent task table: " + problem);
  if (const std::string problem = meta.earlier_attempts.find_problem(table.size()); !problem.empty())
    throw Error("write_checkpoint " + path + ": refusing to save inconsistent earlier attempts: " + problem);
  silence_hdf5_error_printing();
  const std::string tmp = path + ".tmp";
  try {
    try {
      write_hdf5_file(tmp, table, meta);
    } catch (const Hdf5Error& e) {
      // A full disk is a stop, not an internal error: say so in one line, without HDF5's stack.
      if (const int err = hdf5_write_errno(e); is_disk_full_errno(err))
        throw DiskFull(tmp, tmp + ": write: " + std::strerror(err));
      throw;
    }
    // HDF5 creates files under the umask (0644 typically); the checkpoint holds every command.
    if (::chmod(tmp.c_str(), 0600) != 0) throw_errno(tmp, "chmod");
    replace_file(tmp, path);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

namespace {

core::TaskTable read_checkpoint_from(const std::string& open_path, const std::string& path,
                                     CheckpointMeta* meta) {
  silence_hdf5_error_printing();
  try {
    return CheckpointReader(open_path, path).read(meta);
  } catch (const Hdf5Error& e) {
    throw InputError(path, 0, 0, std::string("damaged or not an mpiq checkpoint: ") + e.what());
  }
}

constexpr char kStartOver[] = "; use --fresh to start over (the old state is kept as *.prev)";

}  // namespace

core::TaskTable read_checkpoint_in_process(const std::string& path, CheckpointMeta* meta) {
  return read_checkpoint_from(path, path, meta);
}

double checkpoint_load_budget_s(uint64_t file_size) {
  if (const char* env = std::getenv("MPIQ_CHECKPOINT_LOAD_TIMEOUT"); env && *env) {
    char* end = nullptr;
    const double s = std::strtod(env, &end);
    if (*end != '\0' || !(s > 0) || s > 1e6)
      throw InputError(std::string("MPIQ_CHECKPOINT_LOAD_TIMEOUT=") + env +
                       ": not a number of seconds between 0 and 1000000");
    return s;
  }
  // A 1,000,000-task checkpoint (about 100 MB) loads in under a second from a local disk; the margin is
  // for a slow or busy parallel file system.
  return 60.0 + static_cast<double>(file_size) / 10e6;
}

core::TaskTable read_checkpoint(const std::string& path, CheckpointMeta* meta) {
  // Opened once: the child checks and this process reads the same file, even if a hub replaces
  // `path` meanwhile (by rename). O_NONBLOCK: a FIFO in its place must not block the open.
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) throw InputError(path, 0, 0, std::string("cannot open checkpoint: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno(path, "fstat");
  if (!S_ISREG(st.st_mode)) throw InputError(path, 0, 0, "checkpoint is not a regular file");
  std::string via = "/proc/self/fd/" + std::to_string(fd.get());
  if (::access(via.c_str(), R_OK) != 0) via = path;  // no /proc: by name, as before

  const double budget = checkpoint_load_budget_s(static_cast<uint64_t>(st.st_size));
  const ChildVerdict verdict = check_in_child([&] { read_checkpoint_from(via, path, nullptr); }, budget);
  switch (verdict.kind) {
    case ChildVerdict::Kind::passed:
      break;
    case ChildVerdict::Kind::refused:
      throw InputError(path, 0, 0, verdict.message + kStartOver);
    case ChildVerdict::Kind::crashed:
      throw InputError(path, 0, 0,
                       "is damaged: the HDF5 library failed reading it: " + verdict.message + kStartOver);
    case ChildVerdict::Kind::timed_out: {
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%g", budget);
      throw InputError(path, 0, 0,
                       std::string("is damaged, or its file system stalled: reading it did not end within ") +
                           seconds + " s (MPIQ_CHECKPOINT_LOAD_TIMEOUT sets the limit)" + kStartOver);
    }
    case ChildVerdict::Kind::interrupted:
      throw Error(path + ": loading the checkpoint was " + verdict.message);
  }
  // The same bytes, parsed the same way, in a process that has not changed since the fork: what the
  // child read without crashing or hanging, this process reads too.
  return read_checkpoint_from(via, path, meta);
}

}  // namespace mpiq::store
