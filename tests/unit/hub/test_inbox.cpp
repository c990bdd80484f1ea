// The hub's inbox over a real run directory in a temporary directory: verdicts, moves, and a crash
// between journalling a submission and moving its file (no task added twice).

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

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

// What a hub holds of its run directory and inbox: the directory at `run` started with `table` (a
// fresh run), or (no table) resumed from what is there, the half-taken files of the previous hub
// finished first (finish_notes) as launch.cpp does.
struct LiveRun {
  LiveRun(const std::string& run, core::TaskTable fresh) : table(std::move(fresh)), dir(run, {}) { open(); }
  explicit LiveRun(const std::string& run) : dir(run, {}) {
    table = std::move(dir.restored());
    finish_notes = Inbox::finish_taken(dir, table);
    open();
  }
  size_t take(const Inbox::Fits& fits = kAnyWorker) {
    return inbox->take_waiting([this](core::TaskIndex first) { dir.appended(table, first); }, fits);
  }

  core::TaskTable table;
  RunDirectory dir;
  std::vector<std::string> finish_notes;
  Log log{LogLevel::error, false};
  std::unique_ptr<Inbox> inbox;

 private:
  void open() {
    dir.start(table);
    inbox = std::make_unique<Inbox>(dir, table, log);
  }
};

TEST(Inbox, TakesAFileJournalsItAndMovesItWithItsVerdict) {
  TempDir tmp;
  const std::string run = tmp.path() + "/run";
  {
    LiveRun hub(run, core::parse_task_file("[% name=prep %] a\nb\n", "r.tasks"));
    write_bytes(run + "/inbox/1-h-1.tasks", "[# prep #] c\n\nd\n");
    write_bytes(run + "/inbox/.2-h-1.tasks.tmp", "half a fi");  // mpiq submit's temporary name: not taken
    EXPECT_EQ(hub.take(), 1u);
    const core::TaskTable& table = hub.table;
    ASSERT_EQ(table.size(), 4u);
    EXPECT_EQ(table.id[2], 1001u);
    EXPECT_EQ(table.id[3], 1003u);
    EXPECT_EQ(table.deps[table.dep_offsets[2]], 0u);  // waits for prep
    EXPECT_EQ(read_bytes(run + "/inbox/done/1-h-1.tasks.accepted"),
              "accepted base=1000 first=1001 last=1003 tasks=2\n");
    EXPECT_TRUE(fs::exists(run + "/inbox/done/1-h-1.tasks"));
    EXPECT_FALSE(fs::exists(run + "/inbox/1-h-1.tasks"));
    EXPECT_TRUE(fs::exists(run + "/inbox/.2-h-1.tasks.tmp"));
    hub.dir.close();
  }
  RunDirectory again(run, {});
  EXPECT_EQ(again.restored().size(), 4u);  // the journal holds the submission
}

TEST(Inbox, AFileTakenBeforeACrashIsNotTakenTwice) {
  TempDir tmp;
  const std::string run = tmp.path() + "/run";
  {
    LiveRun hub(run, core::parse_task_file("a\n", "r.tasks"));
    write_bytes(run + "/inbox/1-h-1.tasks", "b\nc\n");
    hub.take();
    ASSERT_EQ(hub.table.size(), 3u);
    hub.dir.close();
  }
  // The crash came after the journal record and before the move: the file is back, with no verdict.
  fs::rename(run + "/inbox/done/1-h-1.tasks", run + "/inbox/1-h-1.tasks");
  fs::remove(run + "/inbox/done/1-h-1.tasks.accepted");
  {
    RunDirectory dir(run, {});
    ASSERT_EQ(dir.restored().size(), 3u);
    ASSERT_EQ(dir.replayed_submissions().size(), 1u);
    EXPECT_EQ(dir.replayed_submissions()[0].file, "1-h-1.tasks");
  }
  LiveRun hub(run);
  EXPECT_EQ(hub.finish_notes.size(), 1u);
  EXPECT_FALSE(fs::exists(run + "/inbox/1-h-1.tasks"));
  EXPECT_EQ(read_bytes(run + "/inbox/done/1-h-1.tasks.accepted"),
            "accepted base=1000 first=1001 last=1002 tasks=2\n");
  EXPECT_EQ(hub.take(), 0u);
  EXPECT_EQ(hub.table.size(), 3u);
}

// Issue 17: a file journalled but not moved (inbox/done cannot be written), then a snapshot (which
// empties the journal), then a crash: the next hub must not take the file again. The checkpoint names
// it until it moves, through however many restarts the move keeps failing.
TEST(Inbox, AFileThatCannotBeMovedIsNotTakenTwiceAfterASnapshot) {
  TempDir tmp;
  const std::string run = tmp.path() + "/run";
  {
    LiveRun hub(run, core::parse_task_file("a\n", "r.tasks"));
    write_bytes(run + "/inbox/done", "not a directory");  // every verdict and move fails
    write_bytes(run + "/inbox/1-h-1.tasks", "b\nc\n");
    EXPECT_EQ(hub.take(), 1u);
    ASSERT_EQ(hub.table.size(), 3u);
    EXPECT_TRUE(fs::exists(run + "/inbox/1-h-1.tasks"));
    EXPECT_FALSE(hub.inbox->keeps_open());  // taken: it does not hold the run open
    EXPECT_EQ(hub.take(), 1u);              // the move is retried, nothing is added
    EXPECT_EQ(hub.table.size(), 3u);
    ASSERT_EQ(hub.dir.unmoved_submissions().size(), 1u);
    hub.dir.snapshot(hub.table);  // the journal that named the file is empty now
    hub.dir.close();
  }
  for (int restart = 0; restart < 2; ++restart) {
    {
      RunDirectory dir(run, {});
      ASSERT_EQ(dir.replayed_submissions().size(), 1u) << "restart " << restart;
      EXPECT_EQ(dir.replayed_submissions()[0], (store::TakenSubmission{"1-h-1.tasks", 1000, 1001, 1002, 2}));
    }
    LiveRun hub(run);  // finish_taken cannot move it either; start()'s snapshot names it again
    ASSERT_EQ(hub.finish_notes.size(), 1u);
    EXPECT_NE(hub.finish_notes[0].find("cannot be moved to inbox/done"), std::string::npos) << hub.finish_notes[0];
    EXPECT_EQ(hub.take(), 1u);
    EXPECT_EQ(hub.table.size(), 3u) << "taken twice at restart " << restart;
    EXPECT_EQ(hub.dir.unmoved_submissions().size(), 1u);
    if (restart == 1) {
      // The file system mended: the running hub's retry moves it, and the next snapshot forgets it.
      fs::remove(run + "/inbox/done");
      hub.take();
      EXPECT_EQ(hub.table.size(), 3u);
      EXPECT_FALSE(fs::exists(run + "/inbox/1-h-1.tasks"));
      EXPECT_EQ(read_bytes(run + "/inbox/done/1-h-1.tasks.accepted"),
                "accepted base=1000 first=1001 last=1002 tasks=2\n");
      EXPECT_TRUE(hub.dir.unmoved_submissions().empty());
      hub.dir.snapshot(hub.table);
    }
    hub.dir.close();
  }
  RunDirectory last(run, {});
  EXPECT_TRUE(last.replayed_submissions().empty());
  EXPECT_EQ(last.restored().size(), 3u);
}

TEST(Inbox, BadFilesAndTasksNoWorkerFitsAreRejectedWithTheirPosition) {
  TempDir tmp;
  const std::string run = tmp.path() + "/run";
  LiveRun hub(run, core::parse_task_file("a\n", "r.tasks"));
  write_bytes(run + "/inbox/1-h-1.tasks", "b\n[# nope #] c\n");
  write_bytes(run + "/inbox/2-h-1.tasks", "b\n[% cores=64 %] c\n");
  write_bytes(run + "/inbox/3-h-1.tasks", "b\n\n[% mem=32G %] c\n");
  const auto small = [](uint32_t cores, uint32_t gpus, uint64_t mem_kb) {
    return cores <= 4 && gpus == 0 && mem_kb <= (16u << 20);
  };
  EXPECT_EQ(hub.take(small), 3u);
  EXPECT_EQ(hub.table.size(), 1u);
  EXPECT_EQ(
      read_bytes(run + "/inbox/done/1-h-1.tasks.rejected"),
      "1-h-1.tasks:2:4: unknown dependency 'nope' (no task of this file or of the run has that name)\n");
  EXPECT_EQ(read_bytes(run + "/inbox/done/2-h-1.tasks.rejected"),
            "2-h-1.tasks:2:1: the task asks for 64 cores and 0 GPUs, which no worker of this run has\n");
  EXPECT_EQ(read_bytes(run + "/inbox/done/3-h-1.tasks.rejected"),
            "3-h-1.tasks:3:1: the task asks for 1 core and 0 GPUs on a node with 32G of memory for tasks, "
            "which no worker of this run has\n");
  EXPECT_FALSE(hub.inbox->keeps_open());
}

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
  LiveRun hub(run, core::parse_task_file("[% name=prep %] a\nb\n", "r.tasks"));
  Inbox& inbox = *hub.inbox;
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
