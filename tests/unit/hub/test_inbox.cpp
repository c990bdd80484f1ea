// The hub's inbox over a real run directory in a temporary directory: verdicts, moves, and a crash
// between journalling a submission and moving its file (no task added twice).

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/task_file.hpp"
#include "hub/inbox.hpp"
#include "hub/run_directory.hpp"
#include "mpiq/error.hpp"
#include "support/temp_dir.hpp"

namespace mpiq::hub {
namespace {

namespace fs = std::filesystem;
using test::read_bytes;
using test::TempDir;
using test::write_bytes;

const auto kAnyWorker = [](uint32_t, uint32_t, uint64_t) { return true; };

TEST(Inbox, TakesAFileJournalsItAndMovesItWithItsVerdict) {
  TempDir tmp;
  const std::string run = tmp.path() + "/run";
  core::TaskTable table = core::parse_task_file("[% name=prep %] a\nb\n", "r.tasks");
  RunDirectory dir(run, {});
  dir.start(table);
  Log log(LogLevel::error, false);
  Inbox inbox(dir, table, log);
  write_bytes(run + "/inbox/1-h-1.tasks", "[# prep #] c\n\nd\n");
  write_bytes(run + "/inbox/.2-h-1.tasks.tmp", "half a fi");  // mpiq submit's temporary name: not taken
  EXPECT_EQ(inbox.take_waiting([&](core::TaskIndex first) { dir.appended(table, first); }, kAnyWorker), 1u);
  ASSERT_EQ(table.size(), 4u);
  EXPECT_EQ(table.id[2], 1001u);
  EXPECT_EQ(table.id[3], 1003u);
  EXPECT_EQ(table.deps[table.dep_offsets[2]], 0u);  // waits for prep
  EXPECT_EQ(read_bytes(run + "/inbox/done/1-h-1.tasks.accepted"),
            "accepted base=1000 first=1001 last=1003 tasks=2\n");
  EXPECT_TRUE(fs::exists(run + "/inbox/done/1-h-1.tasks"));
  EXPECT_FALSE(fs::exists(run + "/inbox/1-h-1.tasks"));
  EXPECT_TRUE(fs::exists(run + "/inbox/.2-h-1.tasks.tmp"));
  dir.close();

  RunDirectory again(run, {});
  EXPECT_EQ(again.restored().size(), 4u);  // the journal holds the submission
}

TEST(Inbox, AFileTakenBeforeACrashIsNotTakenTwice) {
  TempDir tmp;
  const std::string run = tmp.path() + "/run";
  core::TaskTable table = core::parse_task_file("a\n", "r.tasks");
  {
    RunDirectory dir(run, {});
    dir.start(table);
    Log log(LogLevel::error, false);
    Inbox inbox(dir, table, log);
    write_bytes(run + "/inbox/1-h-1.tasks", "b\nc\n");
    inbox.take_waiting([&](core::TaskIndex first) { dir.appended(table, first); }, kAnyWorker);
    ASSERT_EQ(table.size(), 3u);
    dir.close();
  }
  // The crash came after the journal record and before the move: the file is back, with no verdict.
  fs::rename(run + "/inbox/done/1-h-1.tasks", run + "/inbox/1-h-1.tasks");
  fs::remove(run + "/inbox/done/1-h-1.tasks.accepted");

  RunDirectory dir(run, {});
  core::TaskTable restored = std::move(dir.restored());
  ASSERT_EQ(restored.size(), 3u);
  ASSERT_EQ(dir.replayed_submissions().size(), 1u);
  EXPECT_EQ(dir.replayed_submissions()[0].file, "1-h-1.tasks");
  EXPECT_EQ(Inbox::finish_taken(dir, restored).size(), 1u);
  EXPECT_FALSE(fs::exists(run + "/inbox/1-h-1.tasks"));
  EXPECT_EQ(read_bytes(run + "/inbox/done/1-h-1.tasks.accepted"),
            "accepted base=1000 first=1001 last=1002 tasks=2\n");
  dir.start(restored);
  Log log(LogLevel::error, false);
  Inbox inbox(dir, restored, log);
  EXPECT_EQ(inbox.take_waiting([&](core::TaskIndex first) { dir.appended(restored, first); }, kAnyWorker),
            0u);
  EXPECT_EQ(restored.size(), 3u);
}

// Issue 17: a file journalled but not moved (inbox/done cannot be written), then a snapshot (which
// empties the journal), then a crash: the next hub must not take the file again. The checkpoint names
// it until it moves, through however many restarts the move keeps failing.
TEST(Inbox, AFileThatCannotBeMovedIsNotTakenTwiceAfterASnapshot) {
  TempDir tmp;
  const std::string run = tmp.path() + "/run";
  core::TaskTable table = core::parse_task_file("a\n", "r.tasks");
  {
    RunDirectory dir(run, {});
    dir.start(table);
    Log log(LogLevel::error, false);
    Inbox inbox(dir, table, log);
    write_bytes(run + "/inbox/done", "not a directory");  // every verdict and move fails
    write_bytes(run + "/inbox/1-h-1.tasks", "b\nc\n");
    const auto add = [&](core::TaskIndex first) { dir.appended(table, first); };
    EXPECT_EQ(inbox.take_waiting(add, kAnyWorker), 1u);
    ASSERT_EQ(table.size(), 3u);
    EXPECT_TRUE(fs::exists(run + "/inbox/1-h-1.tasks"));
    EXPECT_FALSE(inbox.keeps_open());  // taken: it does not hold the run open
    EXPECT_EQ(inbox.take_waiting(add, kAnyWorker), 1u);  // the move is retried, nothing is added
    EXPECT_EQ(table.size(), 3u);
    ASSERT_EQ(dir.unmoved_submissions().size(), 1u);
    dir.snapshot(table);  // the journal that named the file is empty now
    dir.close();
  }
  for (int restart = 0; restart < 2; ++restart) {
    RunDirectory dir(run, {});
    core::TaskTable restored = std::move(dir.restored());
    ASSERT_EQ(restored.size(), 3u);
    ASSERT_EQ(dir.replayed_submissions().size(), 1u) << "restart " << restart;
    EXPECT_EQ(dir.replayed_submissions()[0],
              (store::TakenSubmission{"1-h-1.tasks", 1000, 1001, 1002, 2}));
    const std::vector<std::string> notes = Inbox::finish_taken(dir, restored);
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_NE(notes[0].find("cannot be moved to inbox/done"), std::string::npos) << notes[0];
    dir.start(restored);  // its snapshot names the file again
    Log log(LogLevel::error, false);
    Inbox inbox(dir, restored, log);
    EXPECT_EQ(inbox.take_waiting([&](core::TaskIndex first) { dir.appended(restored, first); }, kAnyWorker),
              1u);
    EXPECT_EQ(restored.size(), 3u) << "taken twice at restart " << restart;
    EXPECT_EQ(dir.unmoved_submissions().size(), 1u);
    if (restart == 1) {
      // The file system mended: the running hub's retry moves it, and the next snapshot forgets it.
      fs::remove(run + "/inbox/done");
      inbox.take_waiting([&](core::TaskIndex first) { dir.appended(restored, first); }, kAnyWorker);
      EXPECT_EQ(restored.size(), 3u);
      EXPECT_FALSE(fs::exists(run + "/inbox/1-h-1.tasks"));
      EXPECT_EQ(read_bytes(run + "/inbox/done/1-h-1.tasks.accepted"),
                "accepted base=1000 first=1001 last=1002 tasks=2\n");
      EXPECT_TRUE(dir.unmoved_submissions().empty());
      dir.snapshot(restored);
    }
    dir.close();
  }
  RunDirectory last(run, {});
  EXPECT_TRUE(last.replayed_submissions().empty());
  EXPECT_EQ(last.restored().size(), 3u);
}

TEST(Inbox, BadFilesAndTasksNoWorkerFitsAreRejectedWithTheirPosition) {
  TempDir tmp;
  const std::string run = tmp.path() + "/run";
  core::TaskTable table = core::parse_task_file("a\n", "r.tasks");
  RunDirectory dir(run, {});
  dir.start(table);
  Log log(LogLevel::error, false);
  Inbox inbox(dir, table, log);
  write_bytes(run + "/inbox/1-h-1.tasks", "b\n[# nope #] c\n");
  write_bytes(run + "/inbox/2-h-1.tasks", "b\n[% cores=64 %] c\n");
  write_bytes(run + "/inbox/3-h-1.tasks", "b\n\n[% mem=32G %] c\n");
  const auto small = [](uint32_t cores, uint32_t gpus, uint64_t mem_kb) {
    return cores <= 4 && gpus == 0 && mem_kb <= (16u << 20);
  };
  EXPECT_EQ(inbox.take_waiting([&](core::TaskIndex first) { dir.appended(table, first); }, small), 3u);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(
      read_bytes(run + "/inbox/done/1-h-1.tasks.rejected"),
      "1-h-1.tasks:2:4: unknown dependency 'nope' (no task of this file or of the run has that name)\n");
  EXPECT_EQ(read_bytes(run + "/inbox/done/2-h-1.tasks.rejected"),
            "2-h-1.tasks:2:1: the task asks for 64 cores and 0 GPUs, which no worker of this run has\n");
  EXPECT_EQ(read_bytes(run + "/inbox/done/3-h-1.tasks.rejected"),
            "3-h-1.tasks:3:1: the task asks for 1 core and 0 GPUs on a node with 32G of memory for tasks, "
            "which no worker of this run has\n");
  EXPECT_FALSE(inbox.keeps_open());
}

}  // namespace
}  // namespace mpiq::hub

namespace mpiq::hub {
namespace {

TEST(SteerRequest, RoundTripsThroughItsFileFormat) {
  SteerRequest r;
  r.grace_s = 30;
  r.tasks = {"3", "7-9", "prep"};
  r.states = {core::TaskState::waiting};
  const SteerRequest back = parse_steer_request(format_steer_request(r), "x.cancel");
  EXPECT_EQ(back.grace_s, 30);
  EXPECT_EQ(back.tasks, r.tasks);
  EXPECT_EQ(back.states, r.states);
  EXPECT_FALSE(back.drain);
  EXPECT_TRUE(parse_steer_request("drain\n", "x.cancel").drain);
}

TEST(SteerRequest, AnythingElseIsRefusedWithItsLine) {
  try {
    parse_steer_request("grace 10\nkill everything\n", "x.cancel");
    FAIL() << "accepted a bad line";
  } catch (const mpiq::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("x.cancel:2:1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_steer_request("state sleeping\n", "x.cancel"), mpiq::InputError);
  EXPECT_THROW(parse_steer_request("grace -1\n", "x.cancel"), mpiq::InputError);
}

TEST(Inbox, TakesACancelRequestThroughSteerAndGivesItsVerdict) {
  TempDir tmp;
  const std::string run = tmp.path() + "/run";
  core::TaskTable table = core::parse_task_file("[% name=prep %] a\nb\n", "r.tasks");
  RunDirectory dir(run, {});
  dir.start(table);
  Log log(LogLevel::error, false);
  Inbox inbox(dir, table, log);
  write_bytes(run + "/inbox/1-h-1.cancel", "grace 5\ntask prep\n");
  write_bytes(run + "/inbox/2-h-1.cancel", "task\n");  // malformed: rejected, nothing done
  std::vector<SteerRequest> seen;
  const auto steer = [&](const SteerRequest& r) {
    seen.push_back(r);
    return std::string("cancelled waiting=1 queued=0 running=0 final=0 skipped=0\n");
  };
  // Without a steer callback requests are not the inbox's to take.
  EXPECT_EQ(inbox.take_waiting([](core::TaskIndex) {}, kAnyWorker), 0u);
  EXPECT_EQ(inbox.take_waiting([](core::TaskIndex) {}, kAnyWorker, steer), 2u);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].tasks, std::vector<std::string>{"prep"});
  EXPECT_EQ(seen[0].grace_s, 5);
  EXPECT_TRUE(fs::exists(run + "/inbox/done/1-h-1.cancel.accepted"));
  EXPECT_TRUE(fs::exists(run + "/inbox/done/2-h-1.cancel.rejected"));
  EXPECT_FALSE(fs::exists(run + "/inbox/1-h-1.cancel"));
}

}  // namespace
}  // namespace mpiq::hub
