#include "store/checkpoint.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <limits>
#include <optional>
#include <utility>

#include "mpiq/error.hpp"
#include "store/atomic_file.hpp"
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

H5Type make_string_type() {
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
  const H5Type type = make_string_type();
  H5Dataspace space(check_h5(H5Screate(H5S_SCALAR), "H5Screate"));
  H5Attribute attr(
      check_h5(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2"));
  const char* text = value.c_str();
  check_h5(H5Awrite(attr.get(), type.get(), &text), "H5Awrite");
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

void write_hdf5_file(const std::string& path, const core::TaskTable& table, const CheckpointMeta& meta) {
  const H5PropertyList fapl = make_file_access_plist();
  H5File file(check_h5(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), "H5Fcreate"));

  // Version 2 only when it is needed: a table of commands is written exactly as version 1 was, so an
  // older mpiq still reads it, and refuses (rather than misreads) one that holds function tasks.
  const bool functions = std::any_of(table.kind.begin(), table.kind.end(), [](uint16_t k) { return k != 0; });
  write_u32_attribute(file.get(), "format_version", functions ? kCheckpointFormatVersion : 1);
  write_string_attribute(file.get(), "mpiq_version", meta.mpiq_version);
  write_string_attribute(file.get(), "task_file", meta.task_file);
  write_string_attribute(file.get(), "task_file_sha256", meta.task_file_sha256);
  write_string_attribute(file.get(), "created", meta.created.empty() ? utc_timestamp_now() : meta.created);
  write_u32_attribute(file.get(), "restarts", meta.restarts);
  write_string_attribute(file.get(), "slurm_job_ids", join_job_ids(meta.slurm_job_ids));
  write_u64_attribute(file.get(), "journal_epoch", meta.journal_epoch);

  H5PropertyList dcpl(check_h5(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
  check_h5(H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS), "H5Pset_layout");
  // Every element is written right away: filling the space first would write each column twice.
  check_h5(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "H5Pset_fill_time");
  // No modification times in object headers: the same table gives the same bytes.
  check_h5(H5Pset_obj_track_times(dcpl.get(), false), "H5Pset_obj_track_times");
  const hid_t d = dcpl.get();

  H5Group tasks(
      check_h5(H5Gcreate2(file.get(), "tasks", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Gcreate2"));
  const hid_t t = tasks.get();
  write_column(t, "id", table.id, d);
  write_column(t, "flags", table.flags, d);
  {
    const H5Type state_type = make_state_type();
    write_dataset(t, "state", state_type.get(), state_type.get(), table.state.data(), table.state.size(), 1,
                  d);
  }
  write_column(t, "attempts", table.attempts, d);
  write_column(t, "exit_code", table.exit_code, d);
  write_column(t, "signal", table.signal, d);
  write_column(t, "priority", table.priority, d);
  write_column(t, "cores", table.cores, d);
  write_column(t, "gpus", table.gpus, d);
  write_column(t, "timeout_s", table.timeout_s, d);
  write_column(t, "retries", table.retries, d);
  write_column(t, "worker_rank", table.worker_rank, d);
  write_column(t, "start_time", table.start_time, d);
  write_column(t, "end_time", table.end_time, d);
  write_column(t, "max_rss_kb", table.max_rss_kb, d);
  write_string_column(t, "name", table.name, d);
  write_string_column(t, "command", table.command, d);
  write_string_column(t, "workdir", table.workdir, d);
  if (functions) {
    // In memory a kind is an index into kind_names; on disk it is the name, readable without a
    // dictionary (h5py: bytes[offsets[i]:offsets[i+1]]).
    core::StringColumn kinds, results;
    size_t kind_bytes = 0, result_bytes = 0;
    for (size_t i = 0; i < table.size(); ++i) {
      kind_bytes += table.kind_names[table.kind[i]].size();
      result_bytes += table.result[i].size();
    }
    kinds.reserve(table.size(), kind_bytes);
    results.reserve(table.size(), result_bytes);
    for (size_t i = 0; i < table.size(); ++i) {
      kinds.push_back(table.kind_names[table.kind[i]]);
      results.push_back(table.result[i]);
    }
    write_string_column(t, "kind", kinds, d);
    write_string_column(t, "payload", table.payload, d);
    write_string_column(t, "result", results, d);
  }
  tasks.close();

  H5Group graph(
      check_h5(H5Gcreate2(file.get(), "graph", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Gcreate2"));
  write_column(graph.get(), "offsets", table.dep_offsets, d);
  write_column(graph.get(), "edges", table.deps, d);
  graph.close();

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
  explicit CheckpointReader(const std::string& path) : path_(path) {}

  core::TaskTable read(CheckpointMeta* meta) {
    open();
    read_meta(meta);
    core::TaskTable table;
    H5Group tasks = open_group(file_.get(), "/tasks");
    const hid_t t = tasks.get();
    table.id = column<uint32_t>(t, "/tasks", "id", std::nullopt);
    const size_t n = table.id.size();
    if (n > std::numeric_limits<core::TaskIndex>::max())
      fail("/tasks/id has more rows than a task table can hold");
    table.flags = column<uint8_t>(t, "/tasks", "flags", n);
    table.state = state_column(t, n);
    table.attempts = column<uint32_t>(t, "/tasks", "attempts", n);
    table.exit_code = column<int32_t>(t, "/tasks", "exit_code", n);
    table.signal = column<int32_t>(t, "/tasks", "signal", n);
    table.priority = column<int32_t>(t, "/tasks", "priority", n);
    table.cores = column<uint32_t>(t, "/tasks", "cores", n);
    table.gpus = column<uint32_t>(t, "/tasks", "gpus", n);
    table.timeout_s = column<uint32_t>(t, "/tasks", "timeout_s", n);
    table.retries = column<uint32_t>(t, "/tasks", "retries", n);
    table.worker_rank = column<int32_t>(t, "/tasks", "worker_rank", n);
    table.start_time = column<double>(t, "/tasks", "start_time", n);
    table.end_time = column<double>(t, "/tasks", "end_time", n);
    table.max_rss_kb = column<int64_t>(t, "/tasks", "max_rss_kb", n);
    table.name = string_column(t, "name", n);
    table.command = string_column(t, "command", n);
    table.workdir = string_column(t, "workdir", n);
    if (version_ >= 2) {
      const core::StringColumn kinds = string_column(t, "kind", n);
      table.kind.resize(n);
      for (size_t i = 0; i < n; ++i) table.kind[i] = table.intern_kind(kinds[i]);
      table.payload = string_column(t, "payload", n);
      const core::StringColumn results = string_column(t, "result", n);
      table.result.resize(n);
      for (size_t i = 0; i < n; ++i) table.result[i] = results[i];
    }
    table.init_runtime_columns();  // a version 1 file: every task a command
    tasks.close();

    H5Group graph = open_group(file_.get(), "/graph");
    table.dep_offsets = column<uint64_t>(graph.get(), "/graph", "offsets", n + 1);
    table.deps = column<uint32_t>(graph.get(), "/graph", "edges", std::nullopt);
    check_offsets(table.dep_offsets, "/graph/offsets", table.deps.size(), "/graph/edges");
    graph.close();
    file_.close();

    if (const std::string problem = find_table_problem(table); !problem.empty()) fail(problem);
    return table;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw InputError(path_, 0, 0, what); }

  void open() {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) fail(std::string("cannot open checkpoint: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail("checkpoint is not a regular file");
    file_size_ = static_cast<uint64_t>(st.st_size);
    if (!starts_with_hdf5_signature(path_)) fail("not an mpiq checkpoint: not an HDF5 file");
    const H5PropertyList fapl = make_file_access_plist();
    const hid_t id = H5Fopen(path_.c_str(), H5F_ACC_RDONLY, fapl.get());
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
      const H5Type memory = make_string_type();
      char* text = nullptr;
      check_h5(H5Aread(attr.get(), memory.get(), &text), "H5Aread");
      std::string value = text ? text : "";
      H5free_memory(text);
      return value;
    }
    const size_t size = H5Tget_size(type.get());
    if (size == 0) throw_h5("H5Tget_size");
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
    CheckpointMeta m;
    m.format_version = static_cast<uint32_t>(version);
    m.mpiq_version = string_attribute(root, "mpiq_version");
    m.task_file = string_attribute(root, "task_file");
    m.task_file_sha256 = string_attribute(root, "task_file_sha256");
    m.created = string_attribute(root, "created");
    m.restarts = u32_attribute(root, "restarts");
    const std::string jobs = string_attribute(root, "slurm_job_ids");
    for (size_t begin = 0; begin < jobs.size();) {
      const size_t comma = std::min(jobs.find(',', begin), jobs.size());
      m.slurm_job_ids.push_back(jobs.substr(begin, comma - begin));
      begin = comma + 1;
    }
    m.journal_epoch = u64_attribute(root, "journal_epoch");
    if (meta) *meta = std::move(m);
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

  std::vector<core::TaskState> state_column(hid_t tasks, uint64_t rows) const {
    const H5Type state_type = make_state_type();
    std::vector<core::TaskState> out;
    read_dataset(tasks, "/tasks/state", "state", state_type.get(), state_type.get(),
                 "the TaskState enum over uint8", rows, out);
    return out;
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

  std::string path_;
  uint64_t file_size_ = 0;
  uint32_t version_ = 0;
  H5File file_;
};

}  // namespace

std::string find_table_problem(const core::TaskTable& table) {
  const size_t n = table.size();
  const auto rows = [n](const char* name, size_t size) -> std::string {
    if (size == n) return "";
    return std::string("column '") + name + "' has " + std::to_string(size) + " rows, 'id' has " +
           std::to_string(n);
  };
  for (const std::string& problem :
       {rows("flags", table.flags.size()),           rows("name", table.name.size()),
        rows("command", table.command.size()),       rows("workdir", table.workdir.size()),
        rows("cores", table.cores.size()),           rows("gpus", table.gpus.size()),
        rows("timeout_s", table.timeout_s.size()),   rows("retries", table.retries.size()),
        rows("priority", table.priority.size()),     rows("state", table.state.size()),
        rows("attempts", table.attempts.size()),     rows("exit_code", table.exit_code.size()),
        rows("signal", table.signal.size()),         rows("worker_rank", table.worker_rank.size()),
        rows("start_time", table.start_time.size()), rows("end_time", table.end_time.size()),
        rows("max_rss_kb", table.max_rss_kb.size()), rows("kind", table.kind.size()),
        rows("payload", table.payload.size()),       rows("result", table.result.size())})
    if (!problem.empty()) return problem;
  if (table.kind_names.empty() || !table.kind_names[0].empty()) return "kind 0 is not the shell command";
  for (size_t row = 0; row < n; ++row)
    if (table.kind[row] >= table.kind_names.size())
      return "row " + std::to_string(row) + " has the unknown kind " + std::to_string(table.kind[row]);

  for (const auto& [name, column] :
       {std::pair{"name", &table.name}, std::pair{"command", &table.command},
        std::pair{"workdir", &table.workdir}, std::pair{"payload", &table.payload}}) {
    if (column->all_empty()) continue;
    const std::vector<uint64_t>& offsets = column->offsets();
    for (size_t i = 1; i < offsets.size(); ++i)
      if (offsets[i] < offsets[i - 1])
        return std::string("offsets of '") + name + "' decrease at row " + std::to_string(i - 1);
    if (offsets.front() != 0 || offsets.back() != column->blob().size())
      return std::string("offsets of '") + name + "' do not span its bytes";
  }

  const std::vector<uint64_t>& dep_offsets = table.dep_offsets;
  if (dep_offsets.size() != n + 1)
    return "the dependency offsets have " + std::to_string(dep_offsets.size()) + " entries, expected " +
           std::to_string(n + 1);
  if (dep_offsets.front() != 0 || dep_offsets.back() != table.deps.size())
    return "the dependency offsets do not span the edges";
  for (size_t row = 0; row < n; ++row) {
    const uint64_t begin = dep_offsets[row], end = dep_offsets[row + 1];
    if (end < begin) return "the dependency offsets decrease at row " + std::to_string(row);
    for (uint64_t e = begin; e < end; ++e) {
      if (table.deps[e] >= n)
        return "row " + std::to_string(row) + " depends on row " + std::to_string(table.deps[e]) +
               ", but there are " + std::to_string(n) + " rows";
      if (e > begin && table.deps[e] <= table.deps[e - 1])
        return "the dependencies of row " + std::to_string(row) + " are not ascending";
    }
  }

  for (size_t row = 0; row < n; ++row) {
    if (row > 0 && table.id[row] <= table.id[row - 1])
      return "task ids are not ascending at row " + std::to_string(row) + " (id " +
             std::to_string(table.id[row]) + " after " + std::to_string(table.id[row - 1]) + ")";
    if (static_cast<size_t>(table.state[row]) >= core::kTaskStateCount)
      return "row " + std::to_string(row) + " has the unknown state " +
             std::to_string(static_cast<unsigned>(table.state[row]));
    if ((table.flags[row] & ~core::kBarrier) != 0)
      return "row " + std::to_string(row) + " has unknown flags " + std::to_string(table.flags[row]);
  }
  return "";
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
  if (const std::string problem = find_table_problem(table); !problem.empty())
    throw Error("write_checkpoint " + path + ": refusing to save an inconsistent task table: " + problem);
  silence_hdf5_error_printing();
  const std::string tmp = path + ".tmp";
  try {
    write_hdf5_file(tmp, table, meta);
    replace_file(tmp, path);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

core::TaskTable read_checkpoint(const std::string& path, CheckpointMeta* meta) {
  silence_hdf5_error_printing();
  try {
    return CheckpointReader(path).read(meta);
  } catch (const Hdf5Error& e) {
    throw InputError(path, 0, 0, std::string("damaged or not an mpiq checkpoint: ") + e.what());
  }
}

}  // namespace mpiq::store
