// A worker rank's function tasks (worker/function_runner.hpp), driven by hand: results, failures,
// objects kept and recycled, timeouts that abandon a call, steals and stops. No hub, no MPI.

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "exec/clock.hpp"
#include "worker/function_runner.hpp"

namespace mpiq::worker {
namespace {

std::atomic<int> g_built{0}, g_pre{0}, g_post{0}, g_destroyed{0};
std::atomic<bool> g_release{false};  // lets a "hang" task return
std::atomic<int> g_hanging{0};       // "hang" calls in progress

void reset_counters() {
  g_built = g_pre = g_post = g_destroyed = g_hanging = 0;
  g_release = false;
}

// Answers "<payload> #<uses> id=<id> attempt=<attempt> rank=<rank> kind=<kind>"; "throw" throws,
// "hang" waits for g_release, "big" returns 100 bytes.
class Echo final : public TaskWorker {
 public:
  Echo() { ++g_built; }
  ~Echo() override { ++g_destroyed; }
  void pre_work() override { ++g_pre; }
  std::string work(TaskContext& c, std::string_view payload) override {
    ++uses_;
    if (payload == "throw") throw std::runtime_error("bad payload");
    if (payload == "hang") {
      ++g_hanging;
      while (!g_release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      --g_hanging;
    }
    if (payload == "big") return std::string(100, 'x');
    return std::string(payload) + " #" + std::to_string(uses_) + " id=" + std::to_string(c.id()) +
           " attempt=" + std::to_string(c.attempt()) + " rank=" + std::to_string(c.rank()) +
           " kind=" + std::string(c.kind());
  }
  void post_work() override { ++g_post; }

 private:
  int uses_ = 0;  // state kept across tasks
};

// pre_work fails on the first object built, then works.
class FailsFirstPreWork final : public TaskWorker {
 public:
  void pre_work() override {
    if (g_pre++ == 0) throw std::runtime_error("model file missing");
  }
  std::string work(TaskContext&, std::string_view) override { return "ok"; }
};

std::shared_ptr<FunctionSettings> settings(uint32_t recycle_after = 0) {
  auto s = std::make_shared<FunctionSettings>();
  s->kinds.push_back({"echo", [] { return std::make_unique<Echo>(); }, 0});
  s->kinds.push_back({"flaky", [] { return std::make_unique<FailsFirstPreWork>(); }, 0});
  s->kinds.push_back({"null", [] { return std::unique_ptr<TaskWorker>(); }, 0});
  s->recycle_after = recycle_after;
  s->max_result_bytes = 64;
  return s;
}

// One batch of tasks 0..n-1 (ids 100+i, attempt 1) of `kind` with these payloads.
core::FunctionBatch batch(const std::string& kind, const std::vector<std::string>& payloads,
                          uint32_t timeout_s = 0, bool report_starts = false, core::TaskIndex first = 0) {
  core::FunctionBatch b;
  b.report_starts = report_starts;
  b.kinds = {kind};
  for (size_t i = 0; i < payloads.size(); ++i) {
    const core::TaskIndex task = first + static_cast<core::TaskIndex>(i);
    b.orders.push_back({task, 100 + task, 1, timeout_s, 0, payloads[i]});
  }
  return b;
}

// Collects until `count` tasks have finished (10 s at most), as the worker loop would.
std::vector<FunctionRunner::Finished> collect(FunctionRunner& r, size_t count,
                                              std::vector<core::Report::Started>* started = nullptr) {
  std::vector<FunctionRunner::Finished> all, some;
  std::vector<core::Report::Started> starts;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (all.size() < count && std::chrono::steady_clock::now() < deadline) {
    some.clear();
    if (r.collect(some, starts))
      for (auto& f : some) all.push_back(std::move(f));
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(all.size(), count) << "tasks did not finish in time";
  if (started) *started = starts;
  return all;
}

void wait_until(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!condition() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(condition());
}

TEST(FunctionRunner, RunsTasksInOrderOnOneObjectThatKeepsItsState) {
  reset_counters();
  {
    FunctionRunner r(settings(), 5);
    r.push(batch("echo", {"a", "b", "c"}));
    const auto done = collect(r, 3);
    ASSERT_EQ(done.size(), 3u);
    EXPECT_EQ(done[0].output, "a #1 id=100 attempt=1 rank=5 kind=echo");
    EXPECT_EQ(done[1].output, "b #2 id=101 attempt=1 rank=5 kind=echo");
    EXPECT_EQ(done[2].output, "c #3 id=102 attempt=1 rank=5 kind=echo");
    for (const auto& f : done) {
      EXPECT_EQ(f.outcome, FunctionOutcome::done);
      EXPECT_LE(f.start_time, f.end_time);
      EXPECT_GT(f.start_time, 0);
    }
    EXPECT_TRUE(r.idle());
    EXPECT_EQ(g_built, 1);
    EXPECT_EQ(g_pre, 1);
    EXPECT_EQ(g_post, 0) << "post_work before the rank leaves";
  }
  EXPECT_EQ(g_post, 1) << "the runner's end runs post_work";
  EXPECT_EQ(g_destroyed, 1);
}

TEST(FunctionRunner, AThrowingTaskFailsWithTheMessageAndTheObjectRunsTheNext) {
  reset_counters();
  FunctionRunner r(settings(), 1);
  r.push(batch("echo", {"throw", "next"}));
  const auto done = collect(r, 2);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].outcome, FunctionOutcome::failed);
  EXPECT_EQ(done[0].output, "bad payload");
  EXPECT_EQ(done[1].outcome, FunctionOutcome::done);
  EXPECT_EQ(done[1].output.substr(0, 7), "next #2");
  EXPECT_EQ(g_built, 1);
}

TEST(FunctionRunner, AKindNotRegisteredOnThisRankFailsTheTask) {
  reset_counters();
  FunctionRunner r(settings(), 3);
  r.push(batch("unknown", {"x"}));
  const auto done = collect(r, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, FunctionOutcome::failed);
  EXPECT_EQ(done[0].output, "no task kind of this name is registered on rank 3");
}

TEST(FunctionRunner, AFailedPreWorkFailsItsTaskAndTheNextTaskBuildsAgain) {
  reset_counters();
  FunctionRunner r(settings(), 1);
  r.push(batch("flaky", {"1", "2"}));
  const auto done = collect(r, 2);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].outcome, FunctionOutcome::failed);
  EXPECT_EQ(done[0].output, "building the worker object of kind flaky failed: model file missing");
  EXPECT_EQ(done[1].outcome, FunctionOutcome::done);
  EXPECT_EQ(done[1].output, "ok");
}

TEST(FunctionRunner, AFactoryThatReturnsNoObjectFailsTheTask) {
  reset_counters();
  FunctionRunner r(settings(), 1);
  r.push(batch("null", {"x"}));
  const auto done = collect(r, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, FunctionOutcome::failed);
  EXPECT_EQ(done[0].output, "building the worker object of kind null failed: the factory returned no object");
}

TEST(FunctionRunner, AResultOverTheLimitFailsTheTask) {
  reset_counters();
  FunctionRunner r(settings(), 1);
  r.push(batch("echo", {"big"}));
  const auto done = collect(r, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, FunctionOutcome::failed);
  EXPECT_EQ(done[0].output, "the result of 100 bytes exceeds the limit of 64 bytes");
}

TEST(FunctionRunner, RecycleAfterRebuildsTheObjectEveryNTasks) {
  reset_counters();
  {
    FunctionRunner r(settings(2), 1);
    r.push(batch("echo", {"a", "b", "c", "d", "e"}));
    const auto done = collect(r, 5);
    ASSERT_EQ(done.size(), 5u);
    const char* uses[] = {"a #1", "b #2", "c #1", "d #2", "e #1"};
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(done[i].output.substr(0, 4), uses[i]) << i;
    EXPECT_EQ(g_built, 3);
    EXPECT_EQ(g_post, 2);  // the third object is still in use
  }
  EXPECT_EQ(g_post, 3);
  EXPECT_EQ(g_destroyed, 3);
}

TEST(FunctionRunner, StartsAreReportedOnlyWhenTheHubAsks) {
  reset_counters();
  FunctionRunner r(settings(), 1);
  std::vector<core::Report::Started> started;
  r.push(batch("echo", {"a", "b"}, 0, false));
  collect(r, 2, &started);
  EXPECT_TRUE(started.empty());
  r.push(batch("echo", {"c", "d"}, 0, true, 2));
  const auto done = collect(r, 2, &started);
  ASSERT_EQ(started.size(), 2u);
  EXPECT_EQ(started[0].task, 2u);
  EXPECT_EQ(started[1].task, 3u);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(started[0].time, done[0].start_time);
}

TEST(FunctionRunner, TheWakeDescriptorIsReadableWhenResultsWait) {
  reset_counters();
  FunctionRunner r(settings(), 1);
  ASSERT_GE(r.wake_fd(), 0);
  r.push(batch("echo", {"a"}));
  pollfd p{r.wake_fd(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 10'000), 1);
  EXPECT_EQ(collect(r, 1).size(), 1u);
}

TEST(FunctionRunner, ACallPastItsDeadlineIsAbandonedAndAFreshObjectRunsTheRest) {
  reset_counters();
  {
    FunctionRunner r(settings(), 1);
    r.push(batch("echo", {"hang", "after"}, 1));
    wait_until([] { return g_hanging == 1; });
    r.enforce(exec::mono_now());  // before the deadline: nothing happens
    EXPECT_FALSE(r.idle());
    r.enforce(exec::mono_now() + 2);
    const auto done = collect(r, 2);
    ASSERT_EQ(done.size(), 2u);
    EXPECT_EQ(done[0].task, 0u);
    EXPECT_EQ(done[0].outcome, FunctionOutcome::timed_out);
    EXPECT_EQ(done[0].output, "timed out after 1 s; the call was abandoned and its worker object replaced");
    EXPECT_EQ(done[1].outcome, FunctionOutcome::done);
    EXPECT_EQ(done[1].output.substr(0, 8), "after #1") << "the poisoned object ran the next task";
    EXPECT_EQ(g_built, 2);
  }
  EXPECT_EQ(g_post, 1) << "only the fresh object's post_work runs while the abandoned call hangs";
  g_release = true;  // the abandoned call returns: its thread retires its own object
  wait_until([] { return g_post == 2 && g_destroyed == 2; });
}

TEST(FunctionRunner, AStopInterruptsTheRunningCallAtItsTime) {
  reset_counters();
  FunctionRunner r(settings(), 1);
  r.push(batch("echo", {"hang"}));
  wait_until([] { return g_hanging == 1; });
  const double at = exec::mono_now() + 1000;
  r.interrupt_running(at);
  r.enforce(at - 1);
  EXPECT_FALSE(r.idle());
  r.enforce(at);
  const auto done = collect(r, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, FunctionOutcome::interrupted);
  EXPECT_EQ(done[0].output, "interrupted by a stop");
  EXPECT_TRUE(r.idle());
  g_release = true;
  wait_until([] { return g_destroyed == 1; });
}

TEST(FunctionRunner, GiveBackTakesTheNewestUnstartedTasksAndDropQueueTheRest) {
  reset_counters();
  FunctionRunner r(settings(), 1);
  r.push(batch("echo", {"hang", "b", "c", "d", "e"}));
  wait_until([] { return g_hanging == 1; });
  EXPECT_EQ(r.give_back(2), (std::vector<core::TaskIndex>{4, 3}));
  r.drop_queue();
  EXPECT_TRUE(r.give_back(5).empty());
  EXPECT_FALSE(r.idle()) << "a task is still running";
  g_release = true;
  const auto done = collect(r, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].task, 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::vector<FunctionRunner::Finished> more;
  std::vector<core::Report::Started> starts;
  r.collect(more, starts);
  EXPECT_TRUE(more.empty()) << "a dropped task ran";
  EXPECT_TRUE(r.idle());
}

}  // namespace
}  // namespace mpiq::worker
