#include <fcntl.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "mpiq/error.hpp"
#include "old_formats.hpp"
#include "store/checkpoint.hpp"
#include "store/crc32c.hpp"
#include "store/hdf5_handle.hpp"
#include "test_support.hpp"

namespace mpiq::store {
namespace {

using test::read_bytes;
using test::sample_table;
using test::TempDir;
using test::write_bytes;

CheckpointMeta sample_meta() {
  CheckpointMeta meta;
  meta.mpiq_version = "0.1.0";
  meta.task_file = "/home/user/tasks.txt";
  meta.task_file_sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  meta.created = "2024-05-01T12:34:56Z";
  meta.restarts = 3;
  meta.slurm_job_ids = {"1001", "1002_7"};
  meta.journal_epoch = 42;
  return meta;
}

/// Expects read_checkpoint(path) to throw InputError naming the file and containing `expected`, and the
/// file's bytes to be the same afterwards.
void expect_refused_unchanged(const std::string& path, const std::string& expected) {
  const std::string before = read_bytes(path);
  try {
    read_checkpoint(path, nullptr);
    ADD_FAILURE() << "read_checkpoint accepted " << path;
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_bytes(path), before) << "reading changed the file";
}

/// Opens a written checkpoint for editing, as a damaged or foreign file would be made.
H5File open_for_editing(const std::string& path) {
  return H5File(check_h5(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), "H5Fopen"));
}

/// Overwrites the raw bytes of contiguous dataset `name` at `byte_offset` in the file, and when
/// `fix_checksum` recomputes its crc32c attribute, so that a test reaches the checks behind it.
void patch_dataset(const std::string& path, const char* name, size_t byte_offset, const std::string& bytes,
                   bool fix_checksum) {
  haddr_t address = 0;
  hsize_t size = 0;
  {
    H5File file(check_h5(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen"));
    H5Dataset dataset(check_h5(H5Dopen2(file.get(), name, H5P_DEFAULT), "H5Dopen2"));
    address = H5Dget_offset(dataset.get());
    size = H5Dget_storage_size(dataset.get());
    ASSERT_NE(address, HADDR_UNDEF);
    ASSERT_LE(byte_offset + bytes.size(), size);
  }
  std::string content = read_bytes(path);
  content.replace(address + byte_offset, bytes.size(), bytes);
  write_bytes(path, content);
  if (!fix_checksum) return;
  const uint32_t crc = crc32c(std::string_view(content).substr(address, size));
  H5File file = open_for_editing(path);
  H5Dataset dataset(check_h5(H5Dopen2(file.get(), name, H5P_DEFAULT), "H5Dopen2"));
  H5Attribute attr(check_h5(H5Aopen(dataset.get(), "crc32c", H5P_DEFAULT), "H5Aopen"));
  check_h5(H5Awrite(attr.get(), H5T_NATIVE_UINT32, &crc), "H5Awrite");
}

std::string u64_bytes(uint64_t v) {
  return std::string(reinterpret_cast<const char*>(&v), 8);
}
std::string u32_bytes(uint32_t v) {
  return std::string(reinterpret_cast<const char*>(&v), 4);
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("checkpoint.h5");
    write_checkpoint(path_, sample_table(), sample_meta());
  }
  TempDir dir_;
  std::string path_;
};

TEST_F(CheckpointTest, RoundTripKeepsEveryColumn) {
  const core::TaskTable loaded = read_checkpoint(path_, nullptr);
  test::expect_tables_equal(loaded, sample_table());
  EXPECT_EQ(loaded.command[2], "python3 run.py --grüße ✓");
  EXPECT_EQ(loaded.name[1], "");
  EXPECT_TRUE(loaded.is_barrier(3));
}

TEST_F(CheckpointTest, RoundTripKeepsRootAttributes) {
  CheckpointMeta meta;
  read_checkpoint(path_, &meta);
  const CheckpointMeta want = sample_meta();
  EXPECT_EQ(meta.format_version, kCheckpointFormatVersion);
  EXPECT_EQ(meta.mpiq_version, want.mpiq_version);
  EXPECT_EQ(meta.task_file, want.task_file);
  EXPECT_EQ(meta.task_file_sha256, want.task_file_sha256);
  EXPECT_EQ(meta.created, want.created);
  EXPECT_EQ(meta.restarts, want.restarts);
  EXPECT_EQ(meta.slurm_job_ids, want.slurm_job_ids);
  EXPECT_EQ(meta.journal_epoch, want.journal_epoch);
}

// A snapshot while an inbox file waits to be moved names it (issue 17: after the snapshot emptied the
// journal, a restart took the file a second time).
TEST(CheckpointInboxTaken, RoundTripsAndIsAbsentWhenNone) {
  TempDir dir;
  CheckpointMeta meta = sample_meta();
  meta.inbox_taken = {{"1764-h-7.tasks", 1000, 1001, 1003, 3}, {"with space .tasks", 2000, 2004, 2004, 1}};
  core::TaskTable table = sample_table();
  table.id = {1, 1001, 1002, 1003, 2004, 2005};
  write_checkpoint(dir.file("c.h5"), table, meta);
  CheckpointMeta read;
  read_checkpoint(dir.file("c.h5"), &read);
  EXPECT_EQ(read.inbox_taken, meta.inbox_taken);

  write_checkpoint(dir.file("none.h5"), table, sample_meta());
  read_checkpoint(dir.file("none.h5"), &read);
  EXPECT_TRUE(read.inbox_taken.empty());
  H5File file(check_h5(H5Fopen(dir.file("none.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen"));
  EXPECT_EQ(H5Aexists(file.get(), "inbox_taken"), 0);
}

TEST(CheckpointInboxTaken, RefusesAFileWhoseTasksTheTableLacks) {
  TempDir dir;
  CheckpointMeta meta = sample_meta();
  meta.inbox_taken = {{"1-h-1.tasks", 1000, 1001, 1002, 2}};
  write_checkpoint(dir.file("c.h5"), sample_table(), meta);
  expect_refused_unchanged(dir.file("c.h5"), "'inbox_taken' names 1-h-1.tasks with ids 1001-1002, which no task has");
}

TEST(CheckpointInboxTaken, AWriterRefusesANameWithANewline) {
  TempDir dir;
  CheckpointMeta meta = sample_meta();
  meta.inbox_taken = {{"a\nb.tasks", 0, 1, 1, 1}};
  EXPECT_THROW(write_checkpoint(dir.file("c.h5"), sample_table(), meta), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.file("c.h5")));
}

TEST_F(CheckpointTest, EmptyCreatedIsWrittenAsNowAndNoJobIdsReadBackEmpty) {
  CheckpointMeta meta = sample_meta();
  meta.created.clear();
  meta.slurm_job_ids.clear();
  write_checkpoint(path_, sample_table(), meta);
  CheckpointMeta loaded;
  read_checkpoint(path_, &loaded);
  ASSERT_EQ(loaded.created.size(), 20u) << loaded.created;
  EXPECT_EQ(loaded.created.substr(0, 2), "20");
  EXPECT_EQ(loaded.created[10], 'T');
  EXPECT_EQ(loaded.created.back(), 'Z');
  EXPECT_TRUE(loaded.slurm_job_ids.empty());
}

TEST_F(CheckpointTest, AFullDiskIsDiskFullNamingTheFileWithoutHdf5sStack) {
  // /dev/full answers every write with ENOSPC: the temporary file the snapshot writes lands there.
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no writable /dev/full";
  const std::string before = read_bytes(path_);
  std::filesystem::create_symlink("/dev/full", path_ + ".tmp");
  try {
    write_checkpoint(path_, sample_table(), sample_meta());
    ADD_FAILURE() << "a write to /dev/full succeeded";
  } catch (const DiskFull& e) {
    EXPECT_EQ(e.path(), path_ + ".tmp");
    EXPECT_EQ(std::string(e.what()), path_ + ".tmp: write: No space left on device");
  }
  EXPECT_EQ(read_bytes(path_), before) << "the last checkpoint must stay as it was";
}

TEST(Checkpoint, ZeroRowTableRoundTrips) {
  TempDir dir;
  core::TaskTable empty;
  empty.init_runtime_columns();
  write_checkpoint(dir.file("c.h5"), empty, CheckpointMeta{});
  const core::TaskTable loaded = read_checkpoint(dir.file("c.h5"), nullptr);
  EXPECT_EQ(loaded.size(), 0u);
  EXPECT_EQ(loaded.dep_offsets, std::vector<uint64_t>{0});
  EXPECT_EQ(loaded.command.size(), 0u);
  test::expect_tables_equal(loaded, empty);
}

TEST(Checkpoint, OneRowTableWithEmptyStringsRoundTrips) {
  TempDir dir;
  core::TaskTable one;
  test::add_task(one, 7, "");
  one.init_runtime_columns();
  write_checkpoint(dir.file("c.h5"), one, CheckpointMeta{});
  test::expect_tables_equal(read_checkpoint(dir.file("c.h5"), nullptr), one);
}

TEST_F(CheckpointTest, RewriteReplacesTheFileAndLeavesNoTemporary) {
  core::TaskTable changed = sample_table();
  changed.state[4] = core::TaskState::done;
  write_checkpoint(path_, changed, sample_meta());
  EXPECT_EQ(read_checkpoint(path_, nullptr).state[4], core::TaskState::done);
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
}

TEST_F(CheckpointTest, SameTableWritesTheSameBytes) {
  const std::string first = read_bytes(path_);
  write_checkpoint(path_, sample_table(), sample_meta());
  EXPECT_EQ(read_bytes(path_), first);
}

TEST_F(CheckpointTest, FailedWriteLeavesTheOldFileIntact) {
  // Root ignores permissions, so the failure is made another way: the temporary path is a directory.
  const std::string before = read_bytes(path_);
  ASSERT_EQ(::mkdir((path_ + ".tmp").c_str(), 0700), 0);
  core::TaskTable changed = sample_table();
  changed.state[0] = core::TaskState::failed;
  EXPECT_THROW(write_checkpoint(path_, changed, sample_meta()), Hdf5Error);
  EXPECT_EQ(read_bytes(path_), before);
  EXPECT_TRUE(std::filesystem::is_directory(path_ + ".tmp"));
  test::expect_tables_equal(read_checkpoint(path_, nullptr), sample_table());
}

TEST(Checkpoint, WriteIntoMissingDirectoryThrowsHdf5ErrorWithStack) {
  TempDir dir;
  try {
    write_checkpoint(dir.file("no/such/dir/c.h5"), sample_table(), CheckpointMeta{});
    FAIL() << "write_checkpoint succeeded";
  } catch (const Hdf5Error& e) {
    EXPECT_EQ(e.call(), "H5Fcreate");
    EXPECT_FALSE(e.stack().empty());
  }
}

TEST(Checkpoint, WriteRefusesATableThatBreaksItsInvariants) {
  TempDir dir;
  core::TaskTable bad = sample_table();
  bad.attempts.pop_back();
  EXPECT_THROW(write_checkpoint(dir.file("c.h5"), bad, CheckpointMeta{}), Error);
  bad = sample_table();
  bad.deps[0] = 99;
  EXPECT_THROW(write_checkpoint(dir.file("c.h5"), bad, CheckpointMeta{}), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.file("c.h5")));
}

TEST(Checkpoint, WriteRefusesAJobIdWithAComma) {
  TempDir dir;
  CheckpointMeta meta;
  meta.slurm_job_ids = {"1,2"};
  EXPECT_THROW(write_checkpoint(dir.file("c.h5"), sample_table(), meta), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.file("c.h5.tmp")));
}

// --- Other readers ---------------------------------------------------------------------------------

TEST_F(CheckpointTest, H5dumpShowsTheLayoutAndTheStateEnumNames) {
  if (test::run_command("command -v h5dump").exit_code != 0) GTEST_SKIP() << "h5dump is not installed";
  const test::CommandResult header = test::run_command("h5dump -H " + path_);
  ASSERT_EQ(header.exit_code, 0) << header.output;
  for (const char* name :
       {"waiting", "ready", "assigned", "running", "done", "failed", "skipped", "\"state\"", "\"command\"",
        "\"bytes\"", "\"offsets\"", "\"edges\"", "\"format_version\""})
    EXPECT_NE(header.output.find(name), std::string::npos) << name << " missing in\n" << header.output;
  const test::CommandResult states = test::run_command("h5dump -d /tasks/state " + path_);
  ASSERT_EQ(states.exit_code, 0) << states.output;
  EXPECT_NE(states.output.find("done, failed, running, skipped, ready, assigned"), std::string::npos)
      << states.output;
}

TEST_F(CheckpointTest, H5pyReadsTheColumnsAndAttributes) {
  const std::string script =
      "import sys\n"
      "try:\n"
      "    import h5py\n"
      "except ImportError:\n"
      "    sys.exit(77)\n"
      "f = h5py.File('" +
      path_ +
      "', 'r')\n"
      "t = f['tasks']\n"
      "names = {v: k for k, v in h5py.check_enum_dtype(t['state'].dtype).items()}\n"
      "print([names[s] for s in t['state'][:]])\n"
      "b, o = t['command/bytes'][:], t['command/offsets'][:]\n"
      "print(bytes(b[o[2]:o[3]]).decode())\n"
      "print(list(t['id'][:]), list(f['graph/edges'][:]), int(f.attrs['format_version']))\n"
      "print(f.attrs['task_file'].decode(), f.attrs['slurm_job_ids'].decode())\n";
  write_bytes(dir_.file("read.py"), script);
  // Debian's python3-h5py belongs to /usr/bin/python3, which may not be the python3 on PATH.
  test::CommandResult r;
  for (const char* python : {"/usr/bin/python3", "python3"}) {
    r = test::run_command(std::string(python) + " " + dir_.file("read.py"));
    if (r.exit_code != 77 && r.exit_code != 127) break;
  }
  if (r.exit_code == 77 || r.exit_code == 127) GTEST_SKIP() << "no python3 with h5py";
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output,
            "['done', 'failed', 'running', 'skipped', 'ready', 'assigned']\n"
            "python3 run.py --grüße ✓\n"
            "[1, 2, 4, 5, 9, 12] [0, 0, 1, 0, 1, 2, 3, 2, 3, 4] " +
                std::to_string(kCheckpointFormatVersion) +
                "\n"
                "/home/user/tasks.txt 1001,1002_7\n");
}

// --- Bad files -------------------------------------------------------------------------------------

TEST(CheckpointRefuses, AMissingFile) {
  TempDir dir;
  EXPECT_THROW(read_checkpoint(dir.file("absent.h5"), nullptr), InputError);
}

TEST(CheckpointRefuses, RandomBytes) {
  TempDir dir;
  std::string junk(4096, '\0');
  uint32_t x = 12345;
  for (char& c : junk) c = static_cast<char>((x = x * 1103515245 + 12345) >> 16);
  write_bytes(dir.file("c.h5"), junk);
  expect_refused_unchanged(dir.file("c.h5"), "not an HDF5 file");
}

TEST(CheckpointRefuses, AnEmptyFile) {
  TempDir dir;
  write_bytes(dir.file("c.h5"), "");
  expect_refused_unchanged(dir.file("c.h5"), "not an HDF5 file");
}

TEST_F(CheckpointTest, RefusesATruncatedFileAtAnyLength) {
  const std::string whole = read_bytes(path_);
  for (size_t keep : {size_t{8}, size_t{100}, whole.size() / 3, whole.size() / 2, whole.size() - 1}) {
    write_bytes(path_, whole.substr(0, keep));
    expect_refused_unchanged(path_, "");
  }
}

TEST_F(CheckpointTest, RefusesAFileWithADatasetMissing) {
  {
    H5File file = open_for_editing(path_);
    check_h5(H5Ldelete(file.get(), "/tasks/attempts", H5P_DEFAULT), "H5Ldelete");
  }
  expect_refused_unchanged(path_, "/tasks/attempts is missing");
}

TEST_F(CheckpointTest, RefusesAnotherFormatVersion) {
  {
    H5File file = open_for_editing(path_);
    H5Attribute attr(check_h5(H5Aopen(file.get(), "format_version", H5P_DEFAULT), "H5Aopen"));
    const uint32_t version = kCheckpointFormatVersion + 1;
    check_h5(H5Awrite(attr.get(), H5T_NATIVE_UINT32, &version), "H5Awrite");
  }
  expect_refused_unchanged(path_, "format version " + std::to_string(kCheckpointFormatVersion + 1));
}

TEST(CheckpointRefuses, AForeignHdf5File) {
  TempDir dir;
  const std::string path = dir.file("foreign.h5");
  {
    H5File file(check_h5(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "H5Fcreate"));
    const hsize_t dims[1] = {3};
    H5Dataspace space(check_h5(H5Screate_simple(1, dims, nullptr), "H5Screate_simple"));
    H5Dataset data(check_h5(
        H5Dcreate2(file.get(), "data", H5T_STD_I32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
        "H5Dcreate2"));
  }
  expect_refused_unchanged(path, "not an mpiq checkpoint");
}

TEST_F(CheckpointTest, RefusesAFlippedByteThroughTheColumnChecksum) {
  patch_dataset(path_, "/tasks/state", 1, std::string(1, '\x04'), false);
  expect_refused_unchanged(path_, "/tasks/state is damaged");
}

TEST_F(CheckpointTest, RefusesStringOffsetsPastTheirBytes) {
  patch_dataset(path_, "/tasks/command/offsets", 6 * 8, u64_bytes(1u << 20), true);
  expect_refused_unchanged(path_, "/tasks/command/offsets ends at 1048576");
}

TEST_F(CheckpointTest, RefusesDecreasingOffsets) {
  patch_dataset(path_, "/tasks/name/offsets", 2 * 8, u64_bytes(0), true);
  expect_refused_unchanged(path_, "/tasks/name/offsets decreases");
}

TEST_F(CheckpointTest, RefusesAnEdgeToARowThatDoesNotExist) {
  patch_dataset(path_, "/graph/edges", 0, u32_bytes(6), true);
  expect_refused_unchanged(path_, "depends on row 6");
}

TEST_F(CheckpointTest, RefusesAStateOutsideTheEnum) {
  patch_dataset(path_, "/tasks/state", 2, std::string(1, '\x09'), true);
  expect_refused_unchanged(path_, "unknown state 9");
}

TEST_F(CheckpointTest, RefusesIdsThatDoNotAscend) {
  patch_dataset(path_, "/tasks/id", 4, u32_bytes(1), true);
  expect_refused_unchanged(path_, "not ascending");
}

TEST_F(CheckpointTest, RefusesAColumnOfTheWrongLength) {
  {
    H5File file = open_for_editing(path_);
    check_h5(H5Ldelete(file.get(), "/tasks/gpus", H5P_DEFAULT), "H5Ldelete");
    const hsize_t dims[1] = {2};
    H5Dataspace space(check_h5(H5Screate_simple(1, dims, nullptr), "H5Screate_simple"));
    H5Dataset data(check_h5(H5Dcreate2(file.get(), "/tasks/gpus", H5T_STD_U32LE, space.get(), H5P_DEFAULT,
                                       H5P_DEFAULT, H5P_DEFAULT),
                            "H5Dcreate2"));
  }
  expect_refused_unchanged(path_, "/tasks/gpus has 2 elements, expected 6");
}

TEST_F(CheckpointTest, RefusesAColumnOfTheWrongType) {
  {
    H5File file = open_for_editing(path_);
    check_h5(H5Ldelete(file.get(), "/tasks/cores", H5P_DEFAULT), "H5Ldelete");
    const hsize_t dims[1] = {6};
    H5Dataspace space(check_h5(H5Screate_simple(1, dims, nullptr), "H5Screate_simple"));
    H5Dataset data(check_h5(H5Dcreate2(file.get(), "/tasks/cores", H5T_IEEE_F32LE, space.get(), H5P_DEFAULT,
                                       H5P_DEFAULT, H5P_DEFAULT),
                            "H5Dcreate2"));
  }
  expect_refused_unchanged(path_, "/tasks/cores has the wrong type");
}

// --- Format 4: nothing HDF5 parses without a checksum ---------------------------------------------

/// Replaces root attribute `name` of the file at `path` by a scalar string attribute holding `value`,
/// variable-length or fixed-length.
void replace_string_attribute(const std::string& path, const char* name, const std::string& value,
                              bool variable) {
  H5File file = open_for_editing(path);
  check_h5(H5Adelete(file.get(), name), "H5Adelete");
  H5Type type(check_h5(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  check_h5(H5Tset_size(type.get(), variable ? H5T_VARIABLE : value.size()), "H5Tset_size");
  H5Dataspace scalar(check_h5(H5Screate(H5S_SCALAR), "H5Screate"));
  H5Attribute attr(check_h5(H5Acreate2(file.get(), name, type.get(), scalar.get(), H5P_DEFAULT, H5P_DEFAULT),
                            "H5Acreate2"));
  const char* text = value.c_str();
  check_h5(H5Awrite(attr.get(), type.get(), variable ? static_cast<const void*>(&text) : text), "H5Awrite");
}

TEST_F(CheckpointTest, HoldsNoVariableLengthStringAndKeepsTheAttributesInTheChecksummedHeader) {
  H5File file(check_h5(H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen"));
  H5F_info2_t info{};
  check_h5(H5Fget_info2(file.get(), &info), "H5Fget_info2");
  EXPECT_GE(info.super.version, 2u) << "superblock 2 and later carry a checksum";
  H5O_info_t root{};
  check_h5(H5Oget_info2(file.get(), &root, H5O_INFO_HDR | H5O_INFO_META_SIZE | H5O_INFO_NUM_ATTRS),
           "H5Oget_info2");
  EXPECT_EQ(root.hdr.version, 2u) << "object header 2 carries a checksum";
  EXPECT_EQ(root.meta_size.attr.heap_size, 0u) << "the root's attributes moved to dense storage";
  ASSERT_GT(root.num_attrs, 8u) << "more than HDF5 keeps compact by default";
  for (hsize_t i = 0; i < root.num_attrs; ++i) {
    H5Attribute attr(check_h5(
        H5Aopen_by_idx(file.get(), ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT),
        "H5Aopen_by_idx"));
    const H5Type type(check_h5(H5Aget_type(attr.get()), "H5Aget_type"));
    EXPECT_EQ(check_h5(H5Tdetect_class(type.get(), H5T_VLEN), "H5Tdetect_class"), 0) << "attribute " << i;
    if (H5Tget_class(type.get()) == H5T_STRING) {
      EXPECT_EQ(check_h5(H5Tis_variable_str(type.get()), "H5Tis_variable_str"), 0) << "attribute " << i;
    }
  }
}

TEST_F(CheckpointTest, RefusesAVariableLengthStringInAFormat4File) {
  replace_string_attribute(path_, "created", "2024-05-01T12:34:56Z", true);
  expect_refused_unchanged(path_, "'created' is a variable-length string");
}

TEST_F(CheckpointTest, RefusesAttributesThatDoNotMatchTheirChecksum) {
  replace_string_attribute(path_, "created", "2024-05-01T12:34:57Z", false);
  expect_refused_unchanged(path_, "do not match their checksum (meta_crc32c)");
}

TEST_F(CheckpointTest, EveryRefusalSaysHowToStartOver) {
  patch_dataset(path_, "/tasks/state", 1, std::string(1, '\x04'), false);
  expect_refused_unchanged(path_, "use --fresh to start over (the old state is kept as *.prev)");
}

TEST_F(CheckpointTest, ALoadBudgetThatIsNotANumberOfSecondsIsRefused) {
  for (const char* bad : {"abc", "0", "-5", "10s"}) {
    ::setenv("MPIQ_CHECKPOINT_LOAD_TIMEOUT", bad, 1);
    try {
      read_checkpoint(path_, nullptr);
      ADD_FAILURE() << "accepted MPIQ_CHECKPOINT_LOAD_TIMEOUT=" << bad;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("MPIQ_CHECKPOINT_LOAD_TIMEOUT=") + bad),
                std::string::npos)
          << e.what();
    }
  }
  ::setenv("MPIQ_CHECKPOINT_LOAD_TIMEOUT", "30", 1);
  EXPECT_EQ(read_checkpoint(path_, nullptr).size(), sample_table().size());
  ::unsetenv("MPIQ_CHECKPOINT_LOAD_TIMEOUT");
}

TEST_F(CheckpointTest, TheInProcessReaderReadsWhatTheGuardedOneReads) {
  CheckpointMeta guarded, here;
  test::expect_tables_equal(read_checkpoint(path_, &guarded), read_checkpoint_in_process(path_, &here));
  EXPECT_EQ(guarded.created, here.created);
  EXPECT_EQ(guarded.slurm_job_ids, here.slurm_job_ids);
}

}  // namespace
}  // namespace mpiq::store

// --- The schema and older files ---------------------------------------------------------------------

namespace mpiq::store {
namespace {

TEST(CheckpointSchema, EveryCheckpointedColumnRoundTrips) {
  TempDir dir;
  const core::TaskTable table = core::testing::distinctive_table(7);
  ASSERT_EQ(core::find_table_problem(table), "");
  write_checkpoint(dir.file("c.h5"), table, sample_meta());
  CheckpointMeta meta;
  const core::TaskTable back = read_checkpoint(dir.file("c.h5"), &meta);
  EXPECT_EQ(meta.format_version, kCheckpointFormatVersion) << "function tasks need the newest format";
  core::testing::expect_same_columns(table, back);
}

TEST(CheckpointSchema, ATableOfCommandsIsWrittenInTheNewestFormatToo) {
  TempDir dir;
  const core::TaskTable table = core::testing::distinctive_table(5, false);
  write_checkpoint(dir.file("c.h5"), table, sample_meta());
  CheckpointMeta meta;
  const core::TaskTable back = read_checkpoint(dir.file("c.h5"), &meta);
  EXPECT_EQ(meta.format_version, kCheckpointFormatVersion);
  core::testing::expect_same_columns(table, back);
}

TEST(CheckpointSchema, ReadsAFormat1FileWrittenBeforeTheSchema) {
  CheckpointMeta meta;
  const core::TaskTable table = read_checkpoint(test::kOldFormats + "/checkpoint-format1.h5", &meta);
  EXPECT_EQ(meta.format_version, 1u);
  EXPECT_EQ(meta.journal_epoch, 7u);
  EXPECT_EQ(meta.slurm_job_ids, std::vector<std::string>{"77"});
  test::expect_tables_equal(table, test::old_command_table());
  EXPECT_EQ(table.command[1], "python3 run.py --grüße ✓");
  EXPECT_EQ(table.state[3], core::TaskState::skipped);
}

TEST(CheckpointSchema, ReadsAFormat2FileWrittenBeforeTheSchema) {
  CheckpointMeta meta;
  const core::TaskTable table = read_checkpoint(test::kOldFormats + "/checkpoint-format2.h5", &meta);
  EXPECT_EQ(meta.format_version, 2u);
  test::expect_tables_equal(table, test::old_function_table());
  EXPECT_EQ(table.kind_name(2), "cube");
  EXPECT_EQ(table.result[1], std::string("result\0bytes", 12));
}

TEST(CheckpointSchema, AStateEnumWithoutTheNewerStatesIsRead) {
  // A file written before a state was added has a smaller enum: it cannot hold the new state, and
  // must still load (H5Tequal would refuse it).
  TempDir dir;
  const std::string path = dir.file("c.h5");
  core::TaskTable table = test::old_command_table();
  write_checkpoint(path, table, test::old_meta());
  {
    H5File file = open_for_editing(path);
    H5Group tasks(check_h5(H5Gopen2(file.get(), "tasks", H5P_DEFAULT), "H5Gopen2"));
    check_h5(H5Ldelete(tasks.get(), "state", H5P_DEFAULT), "H5Ldelete");
    H5Type older(check_h5(H5Tenum_create(H5T_STD_U8LE), "H5Tenum_create"));
    for (uint8_t v = 0; v < 7; ++v) {
      if (v == 2) continue;  // as if `assigned` had come later
      const std::string name(core::kTaskStateNames[v]);
      check_h5(H5Tenum_insert(older.get(), name.c_str(), &v), "H5Tenum_insert");
    }
    const hsize_t dims[1] = {table.size()};
    H5Dataspace space(check_h5(H5Screate_simple(1, dims, nullptr), "H5Screate_simple"));
    H5Dataset state(check_h5(
        H5Dcreate2(tasks.get(), "state", older.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
        "H5Dcreate2"));
    check_h5(H5Dwrite(state.get(), older.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, table.state.data()),
             "H5Dwrite");
    H5Dataspace scalar(check_h5(H5Screate(H5S_SCALAR), "H5Screate"));
    H5Attribute crc(
        check_h5(H5Acreate2(state.get(), "crc32c", H5T_STD_U32LE, scalar.get(), H5P_DEFAULT, H5P_DEFAULT),
                 "H5Acreate2"));
    const uint32_t sum = crc32c(0, table.state.data(), table.state.size());
    check_h5(H5Awrite(crc.get(), H5T_NATIVE_UINT32, &sum), "H5Awrite");
  }
  test::expect_tables_equal(read_checkpoint(path, nullptr), table);
}

TEST(CheckpointSchema, AStateEnumThatRenamesAStateIsRefused) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  write_checkpoint(path, test::old_command_table(), test::old_meta());
  {
    H5File file = open_for_editing(path);
    H5Group tasks(check_h5(H5Gopen2(file.get(), "tasks", H5P_DEFAULT), "H5Gopen2"));
    check_h5(H5Ldelete(tasks.get(), "state", H5P_DEFAULT), "H5Ldelete");
    H5Type other(check_h5(H5Tenum_create(H5T_STD_U8LE), "H5Tenum_create"));
    for (uint8_t v = 0; v < 7; ++v) {
      const std::string name = v == 4 ? "finished" : std::string(core::kTaskStateNames[v]);
      check_h5(H5Tenum_insert(other.get(), name.c_str(), &v), "H5Tenum_insert");
    }
    const hsize_t dims[1] = {4};
    H5Dataspace space(check_h5(H5Screate_simple(1, dims, nullptr), "H5Screate_simple"));
    H5Dataset state(check_h5(
        H5Dcreate2(tasks.get(), "state", other.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
        "H5Dcreate2"));
  }
  expect_refused_unchanged(path, "/tasks/state has the wrong type");
}

}  // namespace
}  // namespace mpiq::store

// --- Earlier attempts (/attempts, format 5) --------------------------------------------------------

namespace mpiq::store {
namespace {

CheckpointMeta meta_with_attempts() {
  CheckpointMeta meta = sample_meta();
  for (const core::EarlierAttempt& a : std::vector<core::EarlierAttempt>{
           {0, 1, 1, 3, 0, core::AttemptEnd::failed, 1700000000.5, 1700000002.25, 4096},
           {2, 1, 2, -1, 9, core::AttemptEnd::timed_out, 1700000001, 1700000031, 0},
           {0, 2, 3, -1, 0, core::AttemptEnd::lost, 1700000003, 0, 0},
           {5, 1, 1, 127, 0, core::AttemptEnd::start_failed, 1700000004, 1700000004.01, 0},
           {1, 1, 1, -1, 15, core::AttemptEnd::stopped, 1700000004, 1700000005, 12}})
    meta.earlier_attempts.add(a);
  meta.earlier_attempts.add_dropped(7);
  return meta;
}

class CheckpointAttemptsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("checkpoint.h5");
    write_checkpoint(path_, sample_table(), meta_with_attempts());
  }
  TempDir dir_;
  std::string path_;
};

TEST_F(CheckpointAttemptsTest, EarlierAttemptsRoundTripWithTheCountOfThoseNotKept) {
  CheckpointMeta meta;
  const core::TaskTable table = read_checkpoint(path_, &meta);
  test::expect_tables_equal(table, sample_table());
  EXPECT_EQ(meta.earlier_attempts.records(), meta_with_attempts().earlier_attempts.records());
  EXPECT_EQ(meta.earlier_attempts.dropped(), 7u);
  EXPECT_EQ(meta.earlier_attempts.kept_of(0), 2u);
}

TEST(CheckpointAttempts, ATableWithoutEarlierAttemptsHasAnEmptyGroup) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  write_checkpoint(path, sample_table(), sample_meta());
  CheckpointMeta meta;
  meta.earlier_attempts.add({0, 1});  // replaced by what the file holds
  read_checkpoint(path, &meta);
  EXPECT_TRUE(meta.earlier_attempts.empty());
  EXPECT_EQ(meta.earlier_attempts.dropped(), 0u);
  H5File file(check_h5(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen"));
  EXPECT_GT(H5Lexists(file.get(), "/attempts/start_time", H5P_DEFAULT), 0);
}

TEST(CheckpointAttempts, AFormat4FileWithoutTheGroupLoadsWithNoEarlierAttempts) {
  CheckpointMeta meta;
  const core::TaskTable table = read_checkpoint(test::kOldFormats + "/checkpoint-format4.h5", &meta);
  EXPECT_EQ(meta.format_version, 4u);
  ASSERT_EQ(table.size(), 3u);
  EXPECT_EQ(table.state[1], core::TaskState::failed);
  EXPECT_EQ(table.attempts[1], 2u);
  EXPECT_TRUE(meta.earlier_attempts.empty());
  EXPECT_EQ(meta.earlier_attempts.dropped(), 0u);
  // Written again, it is format 5 with an empty /attempts.
  TempDir dir;
  write_checkpoint(dir.file("c.h5"), table, meta);
  CheckpointMeta again;
  read_checkpoint(dir.file("c.h5"), &again);
  EXPECT_EQ(again.format_version, kCheckpointFormatVersion);
}

TEST_F(CheckpointAttemptsTest, RefusesAnAttemptOfARowThatDoesNotExist) {
  patch_dataset(path_, "/attempts/task", 4, u32_bytes(6), true);
  expect_refused_unchanged(path_, "/attempts: earlier attempt 1 is of row 6, but the table has 6 rows");
}

TEST_F(CheckpointAttemptsTest, RefusesAnEndOutsideTheEnum) {
  patch_dataset(path_, "/attempts/end", 2, std::string(1, '\x09'), true);
  expect_refused_unchanged(path_, "earlier attempt 2 has an unknown end 9");
}

TEST_F(CheckpointAttemptsTest, RefusesAFlippedByteThroughTheColumnChecksum) {
  patch_dataset(path_, "/attempts/start_time", 3, std::string(1, '\x55'), false);
  expect_refused_unchanged(path_, "/attempts/start_time is damaged");
}

TEST_F(CheckpointAttemptsTest, RefusesAColumnOfAnotherLength) {
  {
    H5File file = open_for_editing(path_);
    check_h5(H5Ldelete(file.get(), "/attempts/signal", H5P_DEFAULT), "H5Ldelete");
    const hsize_t dims[1] = {2};
    H5Dataspace space(check_h5(H5Screate_simple(1, dims, nullptr), "H5Screate_simple"));
    H5Dataset data(check_h5(H5Dcreate2(file.get(), "/attempts/signal", H5T_STD_I32LE, space.get(),
                                       H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                            "H5Dcreate2"));
  }
  expect_refused_unchanged(path_, "/attempts/signal has 2 elements, expected 5");
}

TEST_F(CheckpointAttemptsTest, RefusesADroppedCountThatDoesNotMatchTheAttributesChecksum) {
  {
    H5File file = open_for_editing(path_);
    H5Attribute attr(check_h5(H5Aopen(file.get(), "attempts_dropped", H5P_DEFAULT), "H5Aopen"));
    const uint64_t dropped = 8;
    check_h5(H5Awrite(attr.get(), H5T_NATIVE_UINT64, &dropped), "H5Awrite");
  }
  expect_refused_unchanged(path_, "meta_crc32c");
}

TEST(CheckpointAttempts, WriteRefusesAnAttemptOfARowThatDoesNotExist) {
  TempDir dir;
  CheckpointMeta meta = sample_meta();
  meta.earlier_attempts.add({99, 1});
  EXPECT_THROW(write_checkpoint(dir.file("c.h5"), sample_table(), meta), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.file("c.h5")));
}

TEST_F(CheckpointAttemptsTest, H5pyReadsTheEarlierAttempts) {
  const std::string script =
      "import sys\n"
      "try:\n"
      "    import h5py\n"
      "except ImportError:\n"
      "    sys.exit(77)\n"
      "f = h5py.File('" +
      path_ +
      "', 'r')\n"
      "a = f['attempts']\n"
      "names = {v: k for k, v in h5py.check_enum_dtype(a['end'].dtype).items()}\n"
      "print([names[e] for e in a['end'][:]])\n"
      "print(list(a['task'][:]), list(a['attempt'][:]), list(a['exit_code'][:]), float(a['end_time'][0]))\n"
      "print(int(f.attrs['attempts_dropped']))\n";
  write_bytes(dir_.file("read.py"), script);
  test::CommandResult r;
  for (const char* python : {"/usr/bin/python3", "python3"}) {
    r = test::run_command(std::string(python) + " " + dir_.file("read.py"));
    if (r.exit_code != 77 && r.exit_code != 127) break;
  }
  if (r.exit_code == 77 || r.exit_code == 127) GTEST_SKIP() << "no python3 with h5py";
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output,
            "['failed', 'timed_out', 'lost', 'start_failed', 'stopped']\n"
            "[0, 2, 0, 5, 1] [1, 1, 2, 1, 1] [3, -1, -1, 127, -1] 1700000002.25\n"
            "7\n");
}

}  // namespace
}  // namespace mpiq::store
