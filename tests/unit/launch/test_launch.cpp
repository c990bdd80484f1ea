// The launch layer over its serial twin: the same start as `mpiq run` without a launcher and an
// embedding program alone, with real child processes and a real run directory. (Over MPI it runs in
// every e2e test with NP > 1.)

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

#include "core/task_file.hpp"
#include "exec/clock.hpp"
#include "hub/run_directory.hpp"
#include "launch/launch.hpp"
#include "mpiq/error.hpp"
#include "store/output_stream.hpp"
#include "support/temp_dir.hpp"

using namespace mpiq;
namespace fs = std::filesystem;

namespace {

// A run of `text` in `run_dir`, as `mpiq run` describes it.
struct TaskFileRun {
  core::TaskTable table;
  std::unique_ptr<hub::RunDirectory> dir;
  launch::RunSpec spec;
  bool prepared = false;

  TaskFileRun(const std::string& text, const std::string& run_dir) {
    spec.hub.log_level = hub::LogLevel::error;
    spec.prepare = [this, text, run_dir](const std::vector<core::WorkerCapacity>&) {
      prepared = true;
      table = core::parse_task_file(text, "test.tasks");
      dir = std::make_unique<hub::RunDirectory>(run_dir, hub::ResumeMode{});
      launch::HubRun run;
      run.table = &table;
      run.dir = dir.get();
      run.what = "test";
      return run;
    };
  }
};

}  // namespace

TEST(SerialJob, RunsTheWorkerOnASecondThreadAndReturnsTheHubsCode) {
  auto job = launch::make_serial_job();
  EXPECT_EQ(job->rank(), 0);
  EXPECT_EQ(job->size(), 1);
  std::atomic<bool> worker_ran{false};
  const int code = job->run_loops(
      [](transport::Transport& net) {
        EXPECT_EQ(net.rank(), 0);
        EXPECT_EQ(net.size(), 2);
        transport::Message m;
        while (!net.poll(m)) usleep(100);  // the worker's hello below
        EXPECT_EQ(m.source, 1);
        net.send(1, core::MessageKind::stop, core::encode(core::Stop{true}));
        return 3;
      },
      [&](transport::Transport& net) {
        EXPECT_EQ(net.rank(), 1);
        net.send(0, core::MessageKind::bye, {});
        transport::Message m;
        while (!net.poll(m)) usleep(100);
        EXPECT_EQ(m.kind, core::MessageKind::stop);
        worker_ran = true;
      });
  EXPECT_EQ(code, 3);
  EXPECT_TRUE(worker_ran);
}

TEST(SerialJob, AnExceptionOfTheHubStopsTheWorkerAndIsRethrown) {
  auto job = launch::make_serial_job();
  std::atomic<bool> worker_left{false};
  EXPECT_THROW(job->run_loops([](transport::Transport&) -> int { throw std::runtime_error("hub failed"); },
                              [&](transport::Transport& net) {
                                transport::Message m;
                                while (!net.poll(m) || m.kind != core::MessageKind::stop) usleep(100);
                                worker_left = true;
                              }),
               std::runtime_error);
  EXPECT_TRUE(worker_left);
}

TEST(SerialJob, IsAlone) {
  auto job = launch::make_serial_job();
  const launch::NodePlace p = job->node_place();
  EXPECT_EQ(p.index, 0);
  EXPECT_EQ(p.count, 1);
  EXPECT_TRUE(job->all_agree(true));
  EXPECT_FALSE(job->all_agree(false));
  EXPECT_EQ(job->broadcast("x\ny"), "x\ny");
}

TEST(Launch, RunsATaskFileToTheEndInARunDirectory) {
  test::TempDir scratch;
  const std::string run_dir = scratch.path() + "/t.mpiq";
  TaskFileRun r("true\n[# 1 #] true\n", run_dir);
  auto job = launch::make_serial_job();
  EXPECT_EQ(launch::run(*job, r.spec), ExitCode::done);
  EXPECT_EQ(r.table.state[0], core::TaskState::done);
  EXPECT_EQ(r.table.state[1], core::TaskState::done);
  EXPECT_TRUE(fs::exists(run_dir + "/checkpoint.h5"));
  EXPECT_TRUE(fs::exists(run_dir + "/hub.log"));  // opened after the directory was made
  EXPECT_TRUE(fs::is_directory(run_dir + "/out"));
}

TEST(Launch, AFailedTaskGivesExitOne) {
  test::TempDir scratch;
  TaskFileRun r("false\n", scratch.path() + "/f.mpiq");
  auto job = launch::make_serial_job();
  EXPECT_EQ(launch::run(*job, r.spec), ExitCode::failed);
}

TEST(Launch, BadInputInPrepareGivesExitTwoAndWritesNothing) {
  test::TempDir scratch;
  const std::string run_dir = scratch.path() + "/bad.mpiq";
  TaskFileRun r("[# 7 #] true\n", run_dir);  // a dependency past the last line
  auto job = launch::make_serial_job();
  testing::internal::CaptureStderr();
  EXPECT_EQ(launch::run(*job, r.spec), ExitCode::bad_input);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("test.tasks:1"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(run_dir));
}

TEST(Launch, AWorkerShareThatCannotBeHadGivesExitTwoBeforeThePreparation) {
  test::TempDir scratch;
  const std::string run_dir = scratch.path() + "/w.mpiq";
  TaskFileRun r("true\n", run_dir);
  r.spec.worker.cores = 1'000'000;  // --worker-cores beyond any share
  auto job = launch::make_serial_job();
  testing::internal::CaptureStderr();
  EXPECT_EQ(launch::run(*job, r.spec), ExitCode::bad_input);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("mpiq: "), std::string::npos);
  EXPECT_FALSE(r.prepared);
  EXPECT_FALSE(fs::exists(run_dir));
}

TEST(Launch, CommandTasksSeeTheRunDirectoryAsMpiqRunDir) {
  test::TempDir scratch;
  const std::string run_dir = scratch.path() + "/e.mpiq";
  TaskFileRun r("echo \"$MPIQ_RUN_DIR\" > " + scratch.path() + "/seen; echo hi\n", run_dir);
  r.spec.prepare = [inner = r.spec.prepare,
                    out = scratch.path() + "/elsewhere"](const std::vector<core::WorkerCapacity>& workers) {
    launch::HubRun run = inner(workers);
    run.out_dir = out;  // --output elsewhere: MPIQ_RUN_DIR is still the run directory
    return run;
  };
  auto job = launch::make_serial_job();
  ASSERT_EQ(launch::run(*job, r.spec), ExitCode::done);
  std::ifstream seen(scratch.path() + "/seen");
  std::string line;
  std::getline(seen, line);
  EXPECT_EQ(line, run_dir);
  EXPECT_FALSE(store::output_stream_paths(scratch.path() + "/elsewhere").empty());  // echo's output
}

TEST(StopDeadline, StopsTheMarginBeforeTheEndButNeverMoreThanHalfTheTimeLeft) {
  const double now = exec::mono_now();
  EXPECT_NEAR(launch::stop_deadline(3600, 120) - now, 3480, 1);
  EXPECT_NEAR(launch::stop_deadline(60, 120) - now, 30, 1);
}

namespace {
// launch_mistake over a fixed environment.
std::string mistake(int world_size, std::map<std::string, std::string> vars) {
  return launch::launch_mistake(world_size, [&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}
}  // namespace

TEST(LaunchMistake, MoreSlurmTasksThanRanksIsRefusedWithTheHint) {
  const std::string m = mistake(1, {{"SLURM_JOB_ID", "7"}, {"SLURM_NTASKS", "5"}});
  EXPECT_NE(m.find("SLURM_NTASKS=5 but MPI sees 1 rank"), std::string::npos) << m;
  EXPECT_NE(m.find("srun --mpi=pmix -n 5"), std::string::npos) << m;
  EXPECT_NE(
      mistake(3, {{"SLURM_JOB_ID", "7"}, {"SLURM_NPROCS", "4"}}).find("SLURM_NPROCS=4 but MPI sees 3 ranks"),
      std::string::npos);
}

TEST(LaunchMistake, RightCountsOutsideSlurmAndTasksOfMpiqAreNoMistake) {
  EXPECT_EQ(mistake(5, {{"SLURM_JOB_ID", "7"}, {"SLURM_NTASKS", "5"}}), "");
  EXPECT_EQ(mistake(8, {{"SLURM_JOB_ID", "7"}, {"SLURM_NTASKS", "2"}}), "");  // mpirun inside a job
  EXPECT_EQ(mistake(1, {{"SLURM_NTASKS", "5"}}), "");                         // not a Slurm job
  EXPECT_EQ(mistake(1, {{"SLURM_JOB_ID", "7"}, {"SLURM_NTASKS", "5"}, {"MPIQ_TASK_ID", "3"}}), "");
  EXPECT_EQ(mistake(1, {{"SLURM_JOB_ID", "7"}, {"SLURM_NTASKS", "x"}}), "");
}

TEST(RunDirectory, TwoHubsThatFoundNoDirectoryCannotBothStartARunInIt) {
  // Several single-rank hubs started at once (srun without PMI) all find no run directory; the first
  // to start it wins; the others are refused with the hint, while it runs and after it has ended.
  test::TempDir tmp;
  const std::string path = tmp.path() + "/r.mpiq";
  core::TaskTable table = core::parse_task_file("echo a\n", "t.tasks");
  hub::RunDirectory first(path, {}), second(path, {}), third(path, {});
  first.start(table);
  for (hub::RunDirectory* late : {&second, &third}) {
    try {
      late->start(table);
      ADD_FAILURE() << "a second hub started a run in a directory another hub holds";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("srun --mpi=pmix"), std::string::npos) << e.what();
    }
    if (late == &second) first.close();
  }
  EXPECT_TRUE(fs::exists(path + "/checkpoint.h5"));
}
