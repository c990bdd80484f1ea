// The worker's event loop against a hub played by hand over the in-process transport: hello, task
// environment, reports, a steal and a stop that ends the running task. Real child processes.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mpi/transport.hpp"
#include "support/temp_dir.hpp"
#include "worker/worker.hpp"

namespace mpiq::worker {
namespace {

using core::MessageKind;
using test::read_bytes;
using test::TempDir;

// The hub's end: the next message of `kind` within 20 s (others are kept in `seen`).
class FakeHub {
 public:
  explicit FakeHub(transport::Transport& net) : net_(net) {}
  std::optional<transport::Message> next(MessageKind kind) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    transport::Message m;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!net_.poll(m)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      if (m.kind == kind) return m;
      if (m.kind == MessageKind::report) absorb(core::decode_report(m.bytes));
    }
    return std::nullopt;
  }
  // Waits for the end of task row `task` in the reports.
  std::optional<core::TaskResult> finished(core::TaskIndex task) {
    for (;;) {
      for (const auto& f : finished_)
        if (f.task == task) return f;
      const auto m = next(MessageKind::report);
      if (!m) return std::nullopt;
      absorb(core::decode_report(m->bytes));
    }
  }
  std::vector<core::TaskIndex> started;
  void send(MessageKind kind, std::vector<char> bytes) { net_.send(1, kind, std::move(bytes)); }

 private:
  void absorb(const core::Report& r) {
    for (const auto& s : r.started) started.push_back(s.task);
    finished_.insert(finished_.end(), r.finished.begin(), r.finished.end());
  }
  transport::Transport& net_;
  std::vector<core::TaskResult> finished_;
};

core::TaskOrder order(core::TaskIndex task, const std::string& command, const std::string& dir) {
  core::TaskOrder o;
  o.task = task;
  o.id = 40 + task;
  o.attempt = 2;
  // "t<row>", built without copying a string literal: both "t" + std::to_string(task) and
  // assigning "t" before appending trip GCC 12's false -Wrestrict in a Release build (PR 105329).
  o.name = std::to_string(task);
  o.name.insert(o.name.begin(), 't');
  o.command = command;
  o.workdir = dir;
  return o;
}

TEST(WorkerLoop, RunsAssignedTasksWithTheirEnvironmentGivesBackOnStealAndStopsOnRequest) {
  TempDir dir;
  transport::LocalNetwork net(2);
  auto hub_end = net.endpoint(0);
  auto worker_end = net.endpoint(1);
  core::WorkerShare share;
  share.cores.push_back({{0}, 0});
  WorkerOptions options;
  options.run_dir = dir.path();
  options.out_dir = dir.path();
  options.host = "node-a";
  options.bind = false;
  options.grace_s = 1;
  std::thread worker([&] { Worker(*worker_end, share, options).run(); });
  FakeHub hub(*hub_end);

  const auto hello = hub.next(MessageKind::hello);
  ASSERT_TRUE(hello);
  const core::Hello h = core::decode_hello(hello->bytes);
  EXPECT_EQ(h.host, "node-a");
  EXPECT_EQ(h.cores, 1u);
  EXPECT_EQ(h.cpus, "0");
  EXPECT_EQ(h.gpu_count, 0u);

  hub.send(MessageKind::assign,
           core::encode(std::vector<core::TaskOrder>{
               order(0,
                     "echo $MPIQ_TASK_ID $MPIQ_TASK_NAME $MPIQ_ATTEMPT $MPIQ_RANK $MPIQ_HOST "
                     "$OMP_NUM_THREADS $MPIQ_RUN_DIR > env.txt",
                     dir.path()),
               order(1, "exit 3", dir.path())}));
  const auto first = hub.finished(0), second = hub.finished(1);
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(first->succeeded());
  EXPECT_EQ(read_bytes(dir.file("env.txt")), "40 t0 2 1 node-a 1 " + dir.path() + "\n");
  EXPECT_EQ(second->exit_code, 3);
  EXPECT_GE(second->end_time, second->start_time);

  // One core: the first task runs, the others wait in the local queue; a steal takes the newest.
  hub.send(MessageKind::assign, core::encode(std::vector<core::TaskOrder>{
                                    order(2, "touch running; exec sleep 30", dir.path()),
                                    order(3, "true", dir.path()), order(4, "true", dir.path())}));
  for (int i = 0; i < 10000 && !std::filesystem::exists(dir.file("running")); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  hub.send(MessageKind::steal, core::encode_count(2));
  const auto returned = hub.next(MessageKind::returned);
  ASSERT_TRUE(returned);
  EXPECT_EQ(core::decode_indices(returned->bytes), (std::vector<core::TaskIndex>{4, 3}));

  hub.send(MessageKind::stop, core::encode(core::Stop{true}));
  const auto stopped = hub.finished(2);
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->signal, SIGTERM);
  EXPECT_TRUE(hub.next(MessageKind::bye)) << "no bye after the stop";
  worker.join();
}

}  // namespace
}  // namespace mpiq::worker
