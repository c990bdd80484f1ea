// The hub and worker loops together over the in-process transport, with real child processes:
// everything `mpiq run` does except MPI and the run directory.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/messages.hpp"
#include "core/task_file.hpp"
#include "exec/clock.hpp"
#include "exec/signals.hpp"
#include "hub/hub.hpp"
#include "mpiq/error.hpp"
#include "support/temp_dir.hpp"
#include "worker/worker.hpp"

using namespace mpiq;
namespace fs = std::filesystem;

namespace {

using mpiq::test::TempDir;

core::WorkerShare one_core_share(int cpu) {
  core::WorkerShare s;
  s.cores.push_back({{cpu}, 0});
  return s;
}

struct RunResult {
  int code = -1;
  core::TaskTable table;
  std::string status;
  uint64_t stolen = 0;
};

// Runs `text` with `workers` one-core workers; `options` tweaks the hub.
RunResult run_tasks(const std::string& text, int workers, hub::HubOptions options = {},
                    std::function<void()> during = nullptr, hub::RunRecorder* recorder = nullptr) {
  TempDir dir;
  RunResult result;
  result.table = core::parse_task_file(text, "test.tasks");
  transport::LocalNetwork net(workers + 1);
  std::vector<std::unique_ptr<transport::Transport>> ends;
  for (int r = 0; r <= workers; ++r) ends.push_back(net.endpoint(r));
  std::vector<std::thread> threads;
  const unsigned ncpu = std::max(1u, std::thread::hardware_concurrency());
  for (int r = 1; r <= workers; ++r) {
    threads.emplace_back([&, r] {
      worker::WorkerOptions wo;
      wo.run_dir = dir.path();
      wo.out_dir = dir.path();
      wo.host = "testhost";
      wo.grace_s = 1;
      wo.bind = false;
      worker::Worker(*ends[static_cast<size_t>(r)], one_core_share(static_cast<int>((r - 1) % ncpu)), wo)
          .run();
    });
  }
  std::thread side;
  if (during) side = std::thread(during);
  hub::Log log(hub::LogLevel::error, false);
  options.out_dir = dir.path();
  hub::Hub h(*ends[0], result.table, options, log, recorder);
  result.code = h.run();
  result.status = h.status_json("finished");
  result.stolen = h.scheduler().stats().tasks_stolen;
  for (auto& t : threads) t.join();
  if (side.joinable()) side.join();
  return result;
}

// Alive and not a zombie: an orphan killed in a container whose init does not reap stays a zombie.
bool process_alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  if (!(stat >> pid_field >> comm >> state)) return false;
  return state != "Z" && state != "X";
}

size_t count(const core::TaskTable& t, core::TaskState s) {
  return static_cast<size_t>(std::count(t.state.begin(), t.state.end(), s));
}

}  // namespace

TEST(HubAndWorkers, RunEveryTaskOnceAndExitZero) {
  TempDir out;
  std::string text;
  for (int i = 0; i < 300; ++i) text += "echo $MPIQ_TASK_ID >> " + out.path() + "/ids\n";
  RunResult r = run_tasks(text, 2);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(count(r.table, core::TaskState::done), 300u);
  std::ifstream in(out.path() + "/ids");
  std::multiset<int> ids;
  for (int id; in >> id;) ids.insert(id);
  ASSERT_EQ(ids.size(), 300u);
  for (int id = 1; id <= 300; ++id) EXPECT_EQ(ids.count(id), 1u) << "task " << id;
}

TEST(HubAndWorkers, FailureSkipsDependantsAndExitsOne) {
  RunResult r = run_tasks("exit 3\n[# 1 #] echo never\n[# 2 #] echo never\ntrue\n", 2);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.table.state[0], core::TaskState::failed);
  EXPECT_EQ(r.table.exit_code[0], 3);
  EXPECT_EQ(r.table.state[1], core::TaskState::skipped);
  EXPECT_EQ(r.table.state[2], core::TaskState::skipped);
  EXPECT_EQ(r.table.state[3], core::TaskState::done);
}

TEST(HubAndWorkers, RetryRunsAFailedTaskAgain) {
  TempDir d;
  const std::string marker = d.path() + "/tried";
  // Fails the first time (no marker yet), succeeds the second.
  RunResult r = run_tasks("[% retries=2 %] test -e " + marker + " || { touch " + marker + "; exit 1; }\n", 1);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.table.state[0], core::TaskState::done);
  EXPECT_EQ(r.table.attempts[0], 2u);
}

TEST(HubAndWorkers, TimeoutKillsTheWholeProcessGroup) {
  TempDir d;
  const std::string pidfile = d.path() + "/child.pid";
  // The task starts a grandchild in the background and waits: both must die at the timeout.
  RunResult r = run_tasks("[% timeout=1 %] sleep 60 & echo $! > " + pidfile + "; wait\n", 1);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.table.state[0], core::TaskState::failed);
  EXPECT_EQ(r.table.signal[0], SIGTERM);
  std::ifstream in(pidfile);
  pid_t grandchild = 0;
  ASSERT_TRUE(in >> grandchild);
  usleep(100000);
  EXPECT_FALSE(process_alive(grandchild)) << "the background sleep outlived its task";
  EXPECT_LT(r.table.end_time[0] - r.table.start_time[0], 10.0);
}

TEST(HubAndWorkers, IdleWorkerStealsFromOneHoldingEverything) {
  hub::HubOptions o;
  o.scheduler.prefetch = 20;  // the first worker to say hello may take every task
  std::string text;
  for (int i = 0; i < 8; ++i) text += "sleep 0.2\n";
  RunResult r = run_tasks(text, 2, o);
  EXPECT_EQ(r.code, 0);
  std::set<int32_t> ranks(r.table.worker_rank.begin(), r.table.worker_rank.end());
  EXPECT_EQ(ranks, (std::set<int32_t>{1, 2})) << "both workers ran tasks";
  EXPECT_GT(r.stolen, 0u);
  EXPECT_EQ(count(r.table, core::TaskState::done), 8u);
}

TEST(HubAndWorkers, StopSignalEndsRunningTasksAndExitsThree) {
  exec::clear_stop_signal();
  exec::install_stop_handlers();
  RunResult r = run_tasks("sleep 30\nsleep 30\n[# 1 #] true\n", 2, {}, [] {
    usleep(500000);
    kill(getpid(), SIGTERM);
  });
  exec::clear_stop_signal();
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.table.state[0], core::TaskState::ready);  // runs again on resume
  EXPECT_EQ(r.table.attempts[0], 0u);                   // the interrupted try does not count
  EXPECT_EQ(r.table.state[2], core::TaskState::waiting);
}

TEST(HubAndWorkers, TaskTooLargeForEveryWorkerIsRefusedBeforeAnythingRuns) {
  RunResult r = run_tasks("true\n[% cores=64 %] true\n", 1);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.table.attempts[0], 0u);
}

TEST(HubAndWorkers, MissingProgramIsASpawnFailure) {
  RunResult r = run_tasks("/nonexistent/program\n", 1);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.table.state[0], core::TaskState::failed);
  EXPECT_EQ(r.table.exit_code[0], 127);
}

TEST(HubAndWorkers, StatusDocumentCountsEveryState) {
  RunResult r = run_tasks("true\nfalse\n[# 2 #] true\n", 1);
  auto doc = nlohmann::json::parse(r.status);
  EXPECT_EQ(doc["total"], 3);
  EXPECT_EQ(doc["counts"]["done"], 1);
  EXPECT_EQ(doc["counts"]["failed"], 1);
  EXPECT_EQ(doc["counts"]["skipped"], 1);
  EXPECT_EQ(doc["workers"].size(), 1u);
  EXPECT_EQ(doc["recent_failures"].size(), 1u);
}

namespace {
// Remembers what the hub asked to journal.
class Recorder final : public hub::RunRecorder {
 public:
  void finalized(const core::TaskTable&, std::span<const core::TaskIndex> rows) override {
    final_rows.insert(final_rows.end(), rows.begin(), rows.end());
  }
  void changed(const core::TaskTable& table, std::span<const core::TaskIndex> rows) override {
    for (core::TaskIndex t : rows) changed_states.push_back(table.state[t]);
  }
  void earlier_attempts(std::span<const core::EarlierAttempt> attempts) override {
    earlier.insert(earlier.end(), attempts.begin(), attempts.end());
    earlier_unwritten = true;
  }
  void snapshot(const core::TaskTable&) override {}
  void status(const std::string&) override {}
  std::vector<core::TaskIndex> final_rows;
  std::vector<core::TaskState> changed_states;
  std::vector<core::EarlierAttempt> earlier;
  bool earlier_unwritten = false;  // earlier attempts given, and no changed() since
};
}  // namespace

TEST(HubAndWorkers, ARetriedTrysTimesAndExitGoToTheRecorderAsAnEarlierAttempt) {
  TempDir d;
  const std::string marker = d.path() + "/tried";
  struct Checked final : hub::RunRecorder {
    Recorder inner;
    void finalized(const core::TaskTable& t, std::span<const core::TaskIndex> rows) override {
      inner.finalized(t, rows);
    }
    void changed(const core::TaskTable& t, std::span<const core::TaskIndex> rows) override {
      inner.earlier_unwritten = false;
      inner.changed(t, rows);
    }
    void earlier_attempts(std::span<const core::EarlierAttempt> a) override { inner.earlier_attempts(a); }
    void snapshot(const core::TaskTable&) override {}
    void status(const std::string&) override {}
  } recorder;
  RunResult r = run_tasks("[% retries=2 %] test -e " + marker + " || { touch " + marker + "; exit 6; }\n", 1,
                          {}, nullptr, &recorder);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.table.attempts[0], 2u);
  ASSERT_EQ(recorder.inner.earlier.size(), 1u);
  const core::EarlierAttempt& a = recorder.inner.earlier[0];
  EXPECT_EQ(a.task, 0u);
  EXPECT_EQ(a.attempt, 1u);
  EXPECT_EQ(a.worker_rank, 1);
  EXPECT_EQ(a.exit_code, 6);
  EXPECT_EQ(a.end, core::AttemptEnd::failed);
  EXPECT_GT(a.start_time, 1e9);
  EXPECT_GE(a.end_time, a.start_time);
  EXPECT_LE(a.end_time, r.table.start_time[0]) << "the earlier try ended before the last one started";
  EXPECT_FALSE(recorder.inner.earlier_unwritten) << "changed() must follow, to write them with the rows";
}

TEST(HubAndWorkers, AWorkerThatFallsSilentIsLostAndTheRunStopsWithItsTaskLeftRunning) {
  // Rank 1 is a real worker; rank 2 says hello, reports the start of what it is given, and is never
  // heard from again (its node was lost). The hub stops the run (exit 3) once rank 2 has been silent
  // for worker_silence_s, with rank 2's task journalled as running: the resume counts it a crash.
  TempDir dir;
  core::TaskTable table = core::parse_task_file("sleep 0.2\nsleep 0.2\nsleep 0.2\nsleep 0.2\n", "t.tasks");
  transport::LocalNetwork net(3);
  auto hub_end = net.endpoint(0), worker_end = net.endpoint(1), silent_end = net.endpoint(2);
  std::thread worker([&] {
    worker::WorkerOptions wo;
    wo.out_dir = dir.path();
    wo.host = "n2";
    wo.bind = false;
    wo.grace_s = 1;
    worker::Worker(*worker_end, one_core_share(0), wo).run();
  });
  std::atomic<int> started_on_silent{-1};
  std::thread silent([&] {
    core::Hello hello;
    hello.host = "n3";
    hello.cores = 1;
    silent_end->send(0, core::MessageKind::hello, core::encode(hello));
    for (;;) {
      transport::Message m;
      if (!silent_end->poll(m)) {
        usleep(1000);
        continue;
      }
      if (m.kind != core::MessageKind::assign) continue;
      const auto orders = core::decode_orders(m.bytes);
      core::Report r;
      r.started.push_back({orders.front().task, 1.0});
      silent_end->send(0, core::MessageKind::report, core::encode(r));
      started_on_silent = static_cast<int>(orders.front().task);
      return;  // gone
    }
  });
  hub::HubOptions options;
  options.out_dir = dir.path();
  options.worker_silence_s = 0.5;
  hub::Log log(hub::LogLevel::error, false);
  Recorder recorder;
  hub::Hub h(*hub_end, table, options, log, &recorder);
  const double t0 = exec::mono_now();
  EXPECT_EQ(h.run(), 3);
  EXPECT_LT(exec::mono_now() - t0, 5.0);
  worker.join();
  silent.join();
  ASSERT_GE(started_on_silent.load(), 0);
  const auto lost_task = static_cast<core::TaskIndex>(started_on_silent.load());
  EXPECT_EQ(table.state[lost_task], core::TaskState::running);
  EXPECT_NE(
      std::find(recorder.changed_states.begin(), recorder.changed_states.end(), core::TaskState::running),
      recorder.changed_states.end())
      << "the start was not journalled";
  EXPECT_TRUE(h.workers()[2].lost);
  EXPECT_FALSE(h.workers()[1].lost);
  EXPECT_NE(h.status_json("stopped").find("\"lost\": true"), std::string::npos);
}

namespace {
// A recorder whose journal finds the disk full from its second batch of finished tasks on.
class FullAfterOneBatch final : public hub::RunRecorder {
 public:
  void finalized(const core::TaskTable& table, std::span<const core::TaskIndex> rows) override {
    if (batches++ > 0) throw DiskFull("RUN/journal", "RUN/journal: pwrite: No space left on device");
    for (core::TaskIndex t : rows)
      if (table.state[t] == core::TaskState::done) journalled_done.push_back(t);
  }
  void snapshot(const core::TaskTable&) override {
    ++snapshots;
    if (batches > 1)
      throw DiskFull("RUN/checkpoint.h5.tmp", "RUN/checkpoint.h5.tmp: write: No space left on device");
  }
  void status(const std::string&) override {}
  int batches = 0, snapshots = 0;
  std::vector<core::TaskIndex> journalled_done;
};

// Runs `table` on a hub that records through `recorder` and one worker thread (one core, output in
// `dir`, grace 1 s); returns the hub's exit code and whether it found the disk full.
std::pair<int, bool> run_with_one_worker(core::TaskTable& table, const TempDir& dir,
                                         hub::RunRecorder* recorder) {
  transport::LocalNetwork net(2);
  auto hub_end = net.endpoint(0), worker_end = net.endpoint(1);
  std::thread worker([&] {
    worker::WorkerOptions wo;
    wo.out_dir = dir.path();
    wo.host = "n1";
    wo.bind = false;
    wo.grace_s = 1;
    worker::Worker(*worker_end, one_core_share(0), wo).run();
  });
  hub::HubOptions options;
  options.out_dir = dir.path();
  hub::Log log(hub::LogLevel::error, false);
  hub::Hub h(*hub_end, table, options, log, recorder);
  int code = -1;
  EXPECT_NO_THROW(code = h.run());
  worker.join();
  return {code, h.disk_full()};
}

}  // namespace

TEST(HubAndWorkers, AFullDiskInTheJournalIsAStopWithExit3AndTheWorkersJoined) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 40; ++i) text += "sleep 0.05\n";
  core::TaskTable table = core::parse_task_file(text, "t.tasks");
  FullAfterOneBatch recorder;
  const auto [code, disk_full] = run_with_one_worker(table, dir, &recorder);
  EXPECT_EQ(code, 3);
  EXPECT_TRUE(disk_full);
  EXPECT_GE(recorder.batches, 2);
  EXPECT_GE(recorder.snapshots, 1) << "the final snapshot must still be tried";
  size_t done = 0;
  for (size_t t = 0; t < table.size(); ++t) done += table.state[t] == core::TaskState::done ? 1 : 0;
  EXPECT_LT(done, table.size()) << "the run went on after the disk was full";
  for (core::TaskIndex t : recorder.journalled_done) EXPECT_EQ(table.state[t], core::TaskState::done);
}

TEST(HubAndWorkers, AFullDiskUnderAWorkersOutputStreamStopsTheRunAndNoTaskOfItIsDone) {
  // /dev/full answers every write with ENOSPC: the worker's stream lands there.
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no writable /dev/full";
  TempDir dir;
  fs::create_symlink("/dev/full", dir.file("rank-1.stream"));
  core::TaskTable table = core::parse_task_file("echo a\necho b\necho c\nsleep 5\n", "t.tasks");
  Recorder recorder;
  const auto [code, disk_full] = run_with_one_worker(table, dir, &recorder);
  EXPECT_EQ(code, 3);
  EXPECT_TRUE(disk_full);
  for (size_t t = 0; t < table.size(); ++t)
    EXPECT_NE(table.state[t], core::TaskState::done) << "task " << t << " is done without its output";
}
