#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "mpiq/error.hpp"
#include "old_formats.hpp"
#include "store/crc32c.hpp"
#include "store/journal.hpp"
#include "test_support.hpp"

namespace mpiq::store {
namespace {

using test::read_bytes;
using test::TempDir;
using test::write_bytes;

constexpr size_t kHeaderBytes = 32;
constexpr size_t kUpdateBytes = 64;  // format 2: with the crash count

JournalRecord update(core::TaskIndex row, core::TaskState state, int32_t exit_code = 0) {
  JournalRecord r;
  r.row = row;
  r.state = state;
  r.attempts = row + 1;
  r.exit_code = exit_code;
  r.signal = exit_code < 0 ? 9 : 0;
  r.worker_rank = static_cast<int32_t>(row % 3) + 1;
  r.start_time = 1700000000.5 + row;
  r.end_time = 1700000001.25 + row;
  r.max_rss_kb = 4096 + row;
  return r;
}

std::vector<JournalRecord> replay_updates(const std::string& path, uint64_t epoch,
                                          ReplayResult* result = nullptr) {
  std::vector<JournalRecord> seen;
  const ReplayResult r = replay_journal(
      path, epoch, [&](const JournalRecord& record, uint64_t) { seen.push_back(record); },
      [](const AppendedTasks&, uint64_t) { ADD_FAILURE() << "unexpected tasks-appended record"; });
  if (result) *result = r;
  return seen;
}

/// A journal at epoch 5 holding three updates, flushed.
std::string write_three_updates(const TempDir& dir) {
  const std::string path = dir.file("journal");
  Journal journal = Journal::open(path, 5);
  journal.append(update(0, core::TaskState::done));
  journal.append(update(2, core::TaskState::failed, 3));
  journal.append(update(1, core::TaskState::done, -1));
  journal.sync();
  return path;
}

/// Expects replay to throw InputError containing `expected`, with the file left as it was.
void expect_replay_refused(const std::string& path, uint64_t epoch, const std::string& expected) {
  const std::string before = read_bytes(path);
  try {
    replay_updates(path, epoch);
    ADD_FAILURE() << "replay accepted " << path;
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_bytes(path), before);
}

TEST(Journal, UpdatesRoundTripInOrder) {
  TempDir dir;
  const std::string path = write_three_updates(dir);
  EXPECT_EQ(std::filesystem::file_size(path), kHeaderBytes + 3 * kUpdateBytes);
  ReplayResult result;
  const std::vector<JournalRecord> seen = replay_updates(path, 5, &result);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], update(0, core::TaskState::done));
  EXPECT_EQ(seen[1], update(2, core::TaskState::failed, 3));
  EXPECT_EQ(seen[2], update(1, core::TaskState::done, -1));
  EXPECT_EQ(result.records, 3u);
  EXPECT_EQ(result.epoch, 5u);
  EXPECT_EQ(result.dropped_bytes, 0u);
  EXPECT_EQ(result.valid_bytes, kHeaderBytes + 3 * kUpdateBytes);
  EXPECT_FALSE(result.stale);
}

TEST(Journal, AppendedRecordsStayInMemoryUntilFlush) {
  TempDir dir;
  const std::string path = dir.file("journal");
  Journal journal = Journal::open(path, 1);
  journal.append(update(0, core::TaskState::done));
  EXPECT_EQ(journal.pending_records(), 1u);
  EXPECT_EQ(journal.pending_bytes(), kUpdateBytes);
  EXPECT_EQ(std::filesystem::file_size(path), kHeaderBytes);
  journal.flush();
  EXPECT_EQ(journal.pending_records(), 0u);
  EXPECT_EQ(std::filesystem::file_size(path), kHeaderBytes + kUpdateBytes);
}

TEST(Journal, DestructorFlushesWhatIsBuffered) {
  TempDir dir;
  const std::string path = dir.file("journal");
  {
    Journal journal = Journal::open(path, 1);
    journal.append(update(4, core::TaskState::skipped));
  }
  EXPECT_EQ(replay_updates(path, 1).size(), 1u);
}

TEST(Journal, ApplySetsTheRuntimeColumnsOfEachRow) {
  TempDir dir;
  const std::string path = write_three_updates(dir);
  core::TaskTable table = test::sample_table();
  const ReplayResult result = apply_journal(path, 5, table);
  EXPECT_EQ(result.records, 3u);
  EXPECT_EQ(JournalRecord::from_row(table, 0), update(0, core::TaskState::done));
  EXPECT_EQ(JournalRecord::from_row(table, 1), update(1, core::TaskState::done, -1));
  EXPECT_EQ(JournalRecord::from_row(table, 2), update(2, core::TaskState::failed, 3));
  EXPECT_EQ(table.state[3], test::sample_table().state[3]);
}

TEST(Journal, MissingOrEmptyFileIsAnEmptyJournal) {
  TempDir dir;
  EXPECT_EQ(replay_journal(dir.file("absent"), 3, nullptr, nullptr).records, 0u);
  write_bytes(dir.file("empty"), "");
  EXPECT_EQ(replay_journal(dir.file("empty"), 3, nullptr, nullptr).records, 0u);
}

TEST(Journal, TornLastRecordIsIgnoredAndReported) {
  TempDir dir;
  const std::string path = write_three_updates(dir);
  const std::string whole = read_bytes(path);
  for (size_t cut : {size_t{1}, size_t{7}, size_t{12}, kUpdateBytes - 1}) {
    write_bytes(path, whole.substr(0, whole.size() - cut));
    const std::string before = read_bytes(path);
    ReplayResult result;
    EXPECT_EQ(replay_updates(path, 5, &result).size(), 2u) << "cut " << cut;
    EXPECT_EQ(result.dropped_bytes, kUpdateBytes - cut);
    EXPECT_EQ(result.valid_bytes, kHeaderBytes + 2 * kUpdateBytes);
    EXPECT_EQ(read_bytes(path), before) << "replay changed the file";
  }
}

TEST(Journal, LastRecordWithABadChecksumIsIgnored) {
  TempDir dir;
  const std::string path = write_three_updates(dir);
  std::string bytes = read_bytes(path);
  bytes[bytes.size() - 20] ^= 0x40;
  write_bytes(path, bytes);
  ReplayResult result;
  EXPECT_EQ(replay_updates(path, 5, &result).size(), 2u);
  EXPECT_EQ(result.dropped_bytes, kUpdateBytes);
}

TEST(Journal, ZeroFilledTailIsIgnored) {
  // What a crash can leave when the file's size reached the disk before its last blocks did.
  TempDir dir;
  const std::string path = write_three_updates(dir);
  write_bytes(path, read_bytes(path) + std::string(4096, '\0'));
  ReplayResult result;
  EXPECT_EQ(replay_updates(path, 5, &result).size(), 3u);
  EXPECT_EQ(result.dropped_bytes, 4096u);
}

TEST(Journal, DamageInTheMiddleIsRefusedWithItsByteOffset) {
  TempDir dir;
  const std::string path = write_three_updates(dir);
  std::string bytes = read_bytes(path);
  bytes[kHeaderBytes + kUpdateBytes + 10] ^= 0x01;
  write_bytes(path, bytes);
  expect_replay_refused(path, 5, "byte " + std::to_string(kHeaderBytes + kUpdateBytes) + ": damaged record");
}

TEST(Journal, DamagedLengthInTheMiddleIsRefused) {
  // A length pointing past the end must not turn every later record into a "torn end".
  TempDir dir;
  const std::string path = write_three_updates(dir);
  std::string bytes = read_bytes(path);
  bytes[kHeaderBytes + 2] = 0x7f;
  write_bytes(path, bytes);
  expect_replay_refused(path, 5, "byte 32: damaged record");
}

TEST(Journal, AppendedBytesThatAreNoRecordAreRefusedNotCutOff) {
  // Only a record cut short (or zeros) is the trace of a crash; anything else after the last record
  // may hide finished tasks and is reported, with nothing changed.
  TempDir dir;
  const std::string path = write_three_updates(dir);
  const std::string whole = read_bytes(path);
  const auto u32 = [](uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
  const std::string end = "byte " + std::to_string(whole.size()) + ": damaged journal";
  write_bytes(path, whole + "appended text, not a record\n");
  expect_replay_refused(path, 5, end);
  expect_replay_refused(path, 5,
                        "a size field of " + std::to_string(0x65707061) + " bytes, which no record has");
  write_bytes(path, whole + u32(kUpdateBytes) + u32(99) + std::string(20, 'x'));
  expect_replay_refused(path, 5, "a record of kind 99, which this format does not have");
  // A record's size, but more bytes after it than the record has: not a cut-short write either.
  std::string longer = whole.substr(kHeaderBytes + kUpdateBytes, kUpdateBytes);
  longer[20] ^= 1;
  write_bytes(path, whole + longer + "more");
  expect_replay_refused(path, 5, "a record of 64 bytes with a bad checksum, and 4 bytes after it");
  try {
    Journal journal = Journal::open(path, 5);
    ADD_FAILURE() << "open continued a journal with garbage at its end";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("damaged journal"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_bytes(path), whole + longer + "more");
  // A few bytes of a size field, or a record cut short whatever its bytes, are still a torn end.
  for (const std::string& tail :
       {std::string("\x40\x00", 2), u32(kUpdateBytes) + u32(1) + "abc", u32(kUpdateBytes) + "\x01"}) {
    write_bytes(path, whole + tail);
    ReplayResult result;
    EXPECT_EQ(replay_updates(path, 5, &result).size(), 3u);
    EXPECT_EQ(result.dropped_bytes, tail.size());
  }
}

TEST(Journal, ResyncFindsAValidRecordAfterMebibytesOfPlausibleSizes) {
  // Garbage whose words are record sizes at three byte offsets of four, then one valid record: the
  // search must cross it all (in linear time: bench/journal_resync.cpp) and find that record.
  TempDir dir;
  const std::string path = write_three_updates(dir);
  const std::string whole = read_bytes(path);
  std::string bytes = whole.substr(0, kHeaderBytes + kUpdateBytes);
  std::string damaged = whole.substr(kHeaderBytes + kUpdateBytes, kUpdateBytes);
  damaged[20] ^= 1;
  std::string garbage(3u << 20, '\0');
  const char word[4] = {0, 0, 0x10, 0};
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = word[i % 4];
  bytes += damaged + garbage + whole.substr(kHeaderBytes + 2 * kUpdateBytes);
  write_bytes(path, bytes);
  expect_replay_refused(path, 5,
                        "byte " + std::to_string(kHeaderBytes + kUpdateBytes) +
                            ": damaged record (short, or its checksum does not match) followed by a valid "
                            "record at byte " +
                            std::to_string(kHeaderBytes + 2 * kUpdateBytes + garbage.size()));
}

TEST(Journal, AFullDiskIsDiskFullAndTheRecordsStayForTheNextFlush) {
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no writable /dev/full";
  TempDir dir;
  const std::string path = write_three_updates(dir);
  Journal journal = Journal::open(path, 5);
  journal.append(update(3, core::TaskState::done));
  // The journal's descriptor made one that answers every write with ENOSPC, as a full disk does.
  const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(full, 0);
  ASSERT_GE(::dup2(full, journal.native_handle()), 0);
  ::close(full);
  try {
    journal.flush();
    ADD_FAILURE() << "a write to /dev/full succeeded";
  } catch (const DiskFull& e) {
    EXPECT_EQ(e.path(), path);
    EXPECT_EQ(std::string(e.what()), path + ": pwrite: No space left on device");
  }
  EXPECT_EQ(journal.pending_records(), 1u) << "a failed flush must keep its records for the next one";
  EXPECT_EQ(replay_updates(path, 5).size(), 3u);
}

TEST(Journal, BadMagicIsRefused) {
  TempDir dir;
  write_bytes(dir.file("journal"), "#!/bin/sh\necho this is not a journal\n");
  expect_replay_refused(dir.file("journal"), 0, "not an mpiq journal");
}

TEST(Journal, AnotherFormatVersionIsRefused) {
  TempDir dir;
  const std::string path = write_three_updates(dir);
  std::string bytes = read_bytes(path);
  for (const uint32_t version : {kJournalFormatVersion + 1, kOldestJournalFormatVersion - 1}) {
    std::memcpy(bytes.data() + 8, &version, 4);
    const uint32_t crc = crc32c(std::string_view(bytes).substr(0, 28));
    bytes.replace(28, 4, reinterpret_cast<const char*>(&crc), 4);
    write_bytes(path, bytes);
    expect_replay_refused(
        path, 5,
        "journal format version " + std::to_string(version) + ", but this mpiq reads only versions " +
            std::to_string(kOldestJournalFormatVersion) + " to " + std::to_string(kJournalFormatVersion));
  }
}

TEST(Journal, DamagedHeaderFollowedByRecordsIsRefused) {
  TempDir dir;
  const std::string path = write_three_updates(dir);
  std::string bytes = read_bytes(path);
  bytes[17] ^= 0x01;  // the epoch, under the header's checksum
  write_bytes(path, bytes);
  expect_replay_refused(path, 5, "damaged journal header");
}

TEST(Journal, TornHeaderIsAnEmptyJournalThatOpenRestarts) {
  TempDir dir;
  const std::string path = write_three_updates(dir);
  write_bytes(path, read_bytes(path).substr(0, 13));
  ReplayResult result;
  EXPECT_TRUE(replay_updates(path, 5, &result).empty());
  EXPECT_EQ(result.dropped_bytes, 13u);
  { Journal journal = Journal::open(path, 5); }
  EXPECT_EQ(std::filesystem::file_size(path), kHeaderBytes);
  EXPECT_EQ(replay_updates(path, 5, &result).size(), 0u);
  EXPECT_EQ(result.epoch, 5u);
}

TEST(Journal, RecordOfAnUnknownKindIsRefused) {
  TempDir dir;
  const std::string path = write_three_updates(dir);
  std::string record(16, '\0');
  const uint32_t size = 16, kind = 9;
  std::memcpy(record.data(), &size, 4);
  std::memcpy(record.data() + 4, &kind, 4);
  const uint32_t crc = crc32c(std::string_view(record).substr(0, 12));
  std::memcpy(record.data() + 12, &crc, 4);
  write_bytes(path, read_bytes(path) + record);
  expect_replay_refused(path, 5, "unknown record kind 9");
}

TEST(Journal, UpdateOfARowOutsideTheTableIsRefused) {
  TempDir dir;
  const std::string path = dir.file("journal");
  {
    Journal journal = Journal::open(path, 0);
    journal.append(update(1, core::TaskState::done));
    journal.append(update(6, core::TaskState::done));
  }
  core::TaskTable table = test::sample_table();
  try {
    apply_journal(path, 0, table);
    FAIL() << "row 6 of a 6-row table was accepted";
  } catch (const InputError& e) {
    // The second record starts after the 32-byte header and one 64-byte update.
    EXPECT_NE(std::string(e.what()).find("byte 96: update of row 6, but the table has 6 rows"),
              std::string::npos)
        << e.what();
  }
}

TEST(Journal, JournalOfAnOlderSnapshotIsSkipped) {
  TempDir dir;
  const std::string path = write_three_updates(dir);
  ReplayResult result;
  EXPECT_TRUE(replay_updates(path, 6, &result).empty());
  EXPECT_TRUE(result.stale);
  EXPECT_EQ(result.epoch, 5u);
}

TEST(Journal, JournalNewerThanTheSnapshotIsRefused) {
  TempDir dir;
  const std::string path = write_three_updates(dir);
  expect_replay_refused(path, 4, "follows snapshot 5, but the checkpoint is snapshot 4");
}

TEST(Journal, OpenContinuesAJournalOfTheSameEpochAfterCuttingItsTornEnd) {
  TempDir dir;
  const std::string path = write_three_updates(dir);
  const std::string whole = read_bytes(path);
  write_bytes(path, whole.substr(0, whole.size() - 5));
  {
    Journal journal = Journal::open(path, 5);
    journal.append(update(3, core::TaskState::done));
    journal.sync();
  }
  ReplayResult result;
  const std::vector<JournalRecord> seen = replay_updates(path, 5, &result);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2], update(3, core::TaskState::done));
  EXPECT_EQ(result.dropped_bytes, 0u);
}

TEST(Journal, OpenRestartsAJournalOfAnOlderEpoch) {
  TempDir dir;
  const std::string path = write_three_updates(dir);
  { Journal journal = Journal::open(path, 6); }
  EXPECT_EQ(std::filesystem::file_size(path), kHeaderBytes);
  ReplayResult result;
  EXPECT_TRUE(replay_updates(path, 6, &result).empty());
  EXPECT_EQ(result.epoch, 6u);
}

TEST(Journal, OpenRefusesAForeignFileAndLeavesItAlone) {
  TempDir dir;
  const std::string path = dir.file("journal");
  write_bytes(path, "important data that is not a journal");
  EXPECT_THROW(Journal::open(path, 0), InputError);
  EXPECT_EQ(read_bytes(path), "important data that is not a journal");
}

TEST(Journal, OpenRefusesDamageInTheMiddle) {
  TempDir dir;
  const std::string path = write_three_updates(dir);
  std::string bytes = read_bytes(path);
  bytes[kHeaderBytes + 5] ^= 0x10;
  write_bytes(path, bytes);
  EXPECT_THROW(Journal::open(path, 5), InputError);
  EXPECT_EQ(read_bytes(path), bytes);
}

TEST(Journal, TruncateAfterASnapshotEmptiesItUnderTheNewEpoch) {
  TempDir dir;
  const std::string path = dir.file("journal");
  Journal journal = Journal::open(path, 1);
  journal.append(update(0, core::TaskState::done));
  journal.sync();
  journal.append(update(1, core::TaskState::done));
  journal.truncate(2);
  EXPECT_EQ(journal.epoch(), 2u);
  EXPECT_EQ(journal.pending_records(), 0u);
  EXPECT_EQ(std::filesystem::file_size(path), kHeaderBytes);
  journal.append(update(2, core::TaskState::failed, 1));
  journal.sync();
  const std::vector<JournalRecord> seen = replay_updates(path, 2);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].row, 2u);
  EXPECT_TRUE(replay_updates(path, 3).empty());
}

// --- Tasks appended during a run -------------------------------------------------------------------

TEST(Journal, TasksAppendedDuringARunAreReplayedAsNewRows) {
  TempDir dir;
  const std::string path = dir.file("journal");
  const core::TaskTable snapshot = test::sample_table();
  core::TaskTable live = snapshot;
  test::add_task(live, 20, "./post.sh 'a b'", "post", {0, 5});
  test::add_task(live, 21, "", "", {6}, core::kBarrier);
  test::add_task(live, 22, "echo ünïcode", "", {});
  live.init_runtime_columns();
  live.state[7] = core::TaskState::done;
  live.exit_code[7] = 0;
  {
    Journal journal = Journal::open(path, 9);
    journal.append(update(0, core::TaskState::done));
    journal.append_tasks(live, 6);
    journal.append(JournalRecord::from_row(live, 7));
  }
  live.state[0] = core::TaskState::done;
  const core::TaskTable expected = [&] {
    core::TaskTable t = live;
    const JournalRecord r = update(0, core::TaskState::done);
    t.attempts[0] = r.attempts;
    t.exit_code[0] = r.exit_code;
    t.signal[0] = r.signal;
    t.worker_rank[0] = r.worker_rank;
    t.start_time[0] = r.start_time;
    t.end_time[0] = r.end_time;
    t.max_rss_kb[0] = r.max_rss_kb;
    return t;
  }();

  std::vector<AppendedTasks> appended;
  replay_journal(path, 9, nullptr, [&](const AppendedTasks& a, uint64_t) { appended.push_back(a); });
  ASSERT_EQ(appended.size(), 1u);
  EXPECT_EQ(appended[0].first_row, 6u);
  EXPECT_EQ(appended[0].tasks.id, (std::vector<core::TaskId>{20, 21, 22}));
  EXPECT_EQ(appended[0].tasks.command[0], "./post.sh 'a b'");
  EXPECT_EQ(appended[0].tasks.deps, (std::vector<core::TaskIndex>{0, 5, 6}));

  core::TaskTable replayed = snapshot;
  EXPECT_EQ(apply_journal(path, 9, replayed).records, 3u);
  test::expect_tables_equal(replayed, expected);
}

TEST(Journal, ManyAppendedTasksAreSplitIntoRecordsOfAboutOneMebibyte) {
  TempDir dir;
  const std::string path = dir.file("journal");
  core::TaskTable live;
  live.init_runtime_columns();
  const std::string command(400, 'x');
  for (core::TaskId id = 1; id <= 6000; ++id) test::add_task(live, id, command, "", {});
  live.init_runtime_columns();
  {
    Journal journal = Journal::open(path, 0);
    journal.append_tasks(live, 0);
    EXPECT_GE(journal.pending_records(), 3u);
    EXPECT_LE(journal.pending_records(), 4u);
  }
  core::TaskTable replayed;
  replayed.init_runtime_columns();
  apply_journal(path, 0, replayed);
  test::expect_tables_equal(replayed, live);
}

TEST(Journal, ASubmissionIsOneRecordThatNamesItsFile) {
  TempDir dir;
  const std::string path = dir.file("journal");
  const core::TaskTable snapshot = test::sample_table();
  core::TaskTable live = snapshot;
  const auto first = static_cast<core::TaskIndex>(live.size());
  const std::string command(3000, 'y');  // more than one record would hold with append_tasks' split
  for (core::TaskId id = 1001; id <= 1400; ++id) test::add_task(live, id, command, "", {0});
  live.init_runtime_columns();
  {
    Journal journal = Journal::open(path, 2);
    journal.append_submission(live, first, "123-h-9.tasks", 1000);
    EXPECT_EQ(journal.pending_records(), 1u);
  }
  core::TaskTable replayed = snapshot;
  const ReplayResult result = apply_journal(path, 2, replayed);
  test::expect_tables_equal(replayed, live);
  ASSERT_EQ(result.submissions.size(), 1u);
  EXPECT_EQ(result.submissions[0].file, "123-h-9.tasks");
  EXPECT_EQ(result.submissions[0].base, 1000u);
  EXPECT_EQ(result.submissions[0].first_id, 1001u);
  EXPECT_EQ(result.submissions[0].last_id, 1400u);
  EXPECT_EQ(result.submissions[0].rows, 400u);

  // Cut anywhere inside, the record is torn: replay keeps none of the submission, not a part of it.
  const std::string bytes = read_bytes(path);
  write_bytes(path, bytes.substr(0, bytes.size() - 1000));
  core::TaskTable torn = snapshot;
  const ReplayResult cut = apply_journal(path, 2, torn);
  EXPECT_EQ(torn.size(), snapshot.size());
  EXPECT_TRUE(cut.submissions.empty());
  EXPECT_GT(cut.dropped_bytes, 0u);
}

TEST(Journal, TasksAppendedAtAnotherRowThanTheTableEndAreRefused) {
  TempDir dir;
  const std::string path = dir.file("journal");
  core::TaskTable live = test::sample_table();
  test::add_task(live, 30, "true");
  live.init_runtime_columns();
  {
    Journal journal = Journal::open(path, 0);
    journal.append_tasks(live, 6);
  }
  core::TaskTable shorter;
  shorter.init_runtime_columns();
  EXPECT_THROW(apply_journal(path, 0, shorter), InputError);
}

TEST(Journal, AppendedIdsMustAscendPastTheTable) {
  TempDir dir;
  const std::string path = dir.file("journal");
  core::TaskTable live = test::sample_table();
  test::add_task(live, 3, "true");  // not above the last id, 12
  live.init_runtime_columns();
  {
    Journal journal = Journal::open(path, 0);
    journal.append_tasks(live, 6);
  }
  core::TaskTable replayed = test::sample_table();
  EXPECT_THROW(apply_journal(path, 0, replayed), InputError);
}

}  // namespace
}  // namespace mpiq::store

// --- The schema and older journals ------------------------------------------------------------------

namespace mpiq::store {
namespace {

TEST(JournalSchema, EveryJournalledColumnRoundTrips) {
  test::TempDir dir;
  const std::string path = dir.file("journal");
  const core::TaskTable full = core::testing::distinctive_table(8);
  // The snapshot held the first three rows, as they were before they ran; the journal holds the rest.
  core::TaskTable table;
  for (core::TaskIndex r = 0; r < 3; ++r) table.append(full.spec(r));
  table.init_runtime_columns();
  {
    Journal journal = Journal::open(path, 4);
    journal.append_tasks(full, 3);
    for (core::TaskIndex r = 0; r < full.size(); ++r) journal.append(JournalRecord::from_row(full, r));
    journal.sync();
  }
  apply_journal(path, 4, table);
  core::testing::expect_same_columns(full, table);
}

TEST(JournalSchema, ACommandRunWritesNoFunctionColumns) {
  test::TempDir dir;
  const std::string path = dir.file("journal");
  const core::TaskTable full = core::testing::distinctive_table(3, false);
  core::TaskTable table;
  {
    Journal journal = Journal::open(path, 1);
    journal.append_tasks(full, 0);
    for (core::TaskIndex r = 0; r < full.size(); ++r) journal.append(JournalRecord::from_row(full, r));
    journal.sync();
  }
  std::vector<uint32_t> kinds;
  replay_journal(
      path, 1, [&](const JournalRecord&, uint64_t) { kinds.push_back(1); },
      [&](const AppendedTasks& a, uint64_t) { kinds.push_back(a.tasks.size() == 3 ? 2 : 0); });
  EXPECT_EQ(kinds, (std::vector<uint32_t>{2, 1, 1, 1}));
  // Record kinds 2 and 1: the first record's kind is at byte 36 (after the header and its size).
  const std::string bytes = test::read_bytes(path);
  uint32_t first_kind = 0;
  std::memcpy(&first_kind, bytes.data() + 36, 4);
  EXPECT_EQ(first_kind, 2u);
  apply_journal(path, 1, table);
  core::testing::expect_same_columns(full, table);
}

TEST(JournalSchema, WritesTheNewestFormatWithTheSameMeaningAsFormat1) {
  // The records of format 1 (tests/data/old-formats), written now: the newest format, whose updates also carry
  // the crash count and whose appended tasks their sweep element, output id (format 2) and mem_kb; replayed,
  // the same table as the format 1 file gives.
  test::TempDir dir;
  for (const bool functions : {false, true}) {
    core::TaskTable written = functions ? test::old_function_table() : test::old_command_table();
    const std::string path = dir.file(functions ? "functions" : "commands");
    if (functions)
      test::old_function_journal(path, written);
    else
      test::old_command_journal(path, written);
    const std::string bytes = test::read_bytes(path);
    uint32_t version = 0;
    std::memcpy(&version, bytes.data() + 8, 4);
    EXPECT_EQ(version, kJournalFormatVersion);
    const char* checkpoint = functions ? "/checkpoint-format2.h5" : "/checkpoint-format1.h5";
    core::TaskTable from_old = read_checkpoint(test::kOldFormats + checkpoint, nullptr);
    apply_journal(test::kOldFormats + (functions ? "/journal-format1-functions" : "/journal-format1"), 7,
                  from_old);
    core::TaskTable from_new = read_checkpoint(test::kOldFormats + checkpoint, nullptr);
    apply_journal(path, 7, from_new);
    test::expect_tables_equal(from_new, from_old);
  }
}

TEST(JournalSchema, ReplaysFormat1JournalsWrittenBeforeTheSchema) {
  test::TempDir dir;
  {
    core::TaskTable table = read_checkpoint(test::kOldFormats + "/checkpoint-format1.h5", nullptr);
    const ReplayResult result = apply_journal(test::kOldFormats + "/journal-format1", 7, table);
    EXPECT_EQ(result.records, 3u);
    ASSERT_EQ(result.submissions.size(), 1u);
    EXPECT_EQ(result.submissions[0].file, "x.tasks");
    EXPECT_EQ(result.submissions[0].base, 1000u);
    core::TaskTable expected = test::old_command_table();
    test::old_command_journal(dir.file("j1"), expected);
    test::expect_tables_equal(table, expected);
    EXPECT_EQ(table.workdir[4], "/tmp/x");
    EXPECT_EQ(table.max_rss_kb[3], 777);
  }
  {
    core::TaskTable table = read_checkpoint(test::kOldFormats + "/checkpoint-format2.h5", nullptr);
    apply_journal(test::kOldFormats + "/journal-format1-functions", 7, table);
    core::TaskTable expected = test::old_function_table();
    test::old_function_journal(dir.file("j2"), expected);
    test::expect_tables_equal(table, expected);
    EXPECT_EQ(table.kind_name(3), "square");
    EXPECT_EQ(table.result[3], "sixteen");
  }
}

}  // namespace
}  // namespace mpiq::store

namespace mpiq::store {
namespace {

std::vector<core::EarlierAttempt> sample_attempts() {
  return {{0, 1, 1, 3, 0, core::AttemptEnd::failed, 1700000000.5, 1700000002.25, 4096},
          {2, 1, 2, -1, 9, core::AttemptEnd::timed_out, 1700000001, 1700000031, 0},
          {0, 2, 3, -1, 0, core::AttemptEnd::lost, 1700000003, 0, 0},
          {1, 1, 1, -1, 15, core::AttemptEnd::stopped, 1700000004, 1700000005, 12}};
}

TEST(JournalEarlierAttempts, RoundTripWithTheCountOfThoseNotKept) {
  TempDir dir;
  const std::string path = dir.file("journal");
  const std::vector<core::EarlierAttempt> written = sample_attempts();
  {
    Journal journal = Journal::open(path, 5);
    journal.append(update(0, core::TaskState::ready, 3));
    journal.append_earlier_attempts(written, 2);
    journal.append_earlier_attempts({}, 0);  // writes nothing
    journal.sync();
  }
  core::TaskTable table = test::sample_table();
  core::AttemptLog log;
  const ReplayResult r = apply_journal(path, 5, table, &log);
  EXPECT_EQ(r.records, 2u);
  EXPECT_EQ(log.records(), written);
  EXPECT_EQ(log.dropped(), 2u);
  // Without a log to fill, the records are checked and skipped.
  core::TaskTable again = test::sample_table();
  EXPECT_EQ(apply_journal(path, 5, again).records, 2u);
}

TEST(JournalEarlierAttempts, AnAttemptOfARowOutsideTheTableIsRefused) {
  TempDir dir;
  const std::string path = dir.file("journal");
  {
    Journal journal = Journal::open(path, 5);
    std::vector<core::EarlierAttempt> a = sample_attempts();
    a[1].task = 1000;
    journal.append_earlier_attempts(a, 0);
    journal.sync();
  }
  core::TaskTable table = test::sample_table();
  core::AttemptLog log;
  try {
    apply_journal(path, 5, table, &log);
    ADD_FAILURE() << "accepted an attempt of row 1000";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("earlier attempt of row 1000"), std::string::npos) << e.what();
  }
}

TEST(JournalEarlierAttempts, AnUnknownEndIsRefused) {
  TempDir dir;
  const std::string path = dir.file("journal");
  {
    Journal journal = Journal::open(path, 5);
    std::vector<core::EarlierAttempt> a = sample_attempts();
    a[0].end = static_cast<core::AttemptEnd>(9);
    journal.append_earlier_attempts(a, 0);
    journal.sync();
  }
  core::TaskTable table = test::sample_table();
  try {
    apply_journal(path, 5, table);
    ADD_FAILURE() << "accepted an unknown attempt end";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown attempt end 9"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mpiq::store
