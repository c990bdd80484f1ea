// The scheduling core, driven by hand: no processes, no MPI, no clock.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <random>
#include <set>

#include "core/scheduler.hpp"
#include "core/task_file.hpp"
#include "core/task_outcome.hpp"

using namespace mpiq::core;

namespace {

TaskTable parse(const std::string& text) {
  return parse_task_file(text, "test.tasks");
}

// Runs dispatch once and returns what each worker got.
struct Round {
  std::vector<Assignment> assignments;
  std::vector<StealRequest> steals;
  std::vector<TaskIndex> tasks_for(WorkerId w) const {
    std::vector<TaskIndex> out;
    for (const auto& a : assignments)
      if (a.worker == w) out.insert(out.end(), a.tasks.begin(), a.tasks.end());
    return out;
  }
  std::vector<TaskIndex> all() const {
    std::vector<TaskIndex> out;
    for (const auto& a : assignments) out.insert(out.end(), a.tasks.begin(), a.tasks.end());
    return out;
  }
};
Round dispatch(Scheduler& s) {
  Round r;
  s.dispatch(r.assignments, r.steals);
  return r;
}

TaskResult ok(TaskIndex t) {
  TaskResult r;
  r.task = t;
  r.exit_code = 0;
  return r;
}
TaskResult fail(TaskIndex t, int code = 3) {
  TaskResult r;
  r.task = t;
  r.exit_code = code;
  return r;
}

// Starts and finishes `t` on `w` with result `r`.
void run(Scheduler& s, WorkerId w, const TaskResult& r) {
  s.on_started(w, r.task, 1.0);
  s.on_finished(w, r);
}

TaskIndex row(const TaskTable& t, TaskId id) {
  return *t.find(id);
}

}  // namespace

TEST(Scheduler, DiamondRunsInDependencyOrder) {
  TaskTable t = parse("[% name=a %] a\n[# a #] b\n[# a #] c\n[# 2, 3 #] d\n");
  Scheduler s(t, {});
  s.add_worker(1, 4, 0);
  auto r = dispatch(s);
  ASSERT_EQ(r.all(), std::vector<TaskIndex>{0});
  run(s, 1, ok(0));
  const auto second = dispatch(s).all();
  EXPECT_EQ(std::set<TaskIndex>(second.begin(), second.end()), (std::set<TaskIndex>{1, 2}));
  run(s, 1, ok(1));
  EXPECT_TRUE(dispatch(s).all().empty());  // d still waits for c
  run(s, 1, ok(2));
  EXPECT_EQ(dispatch(s).all(), std::vector<TaskIndex>{3});
  run(s, 1, ok(3));
  EXPECT_TRUE(s.all_final());
  EXPECT_EQ(s.counts()[static_cast<size_t>(TaskState::done)], 4u);
}

TEST(Scheduler, HigherPriorityIsDispatchedFirst) {
  TaskTable t = parse("[% priority=1 %] a\n[% priority=5 %] b\n[% priority=3 %] c\n");
  SchedulerOptions o;
  o.prefetch = 2;
  Scheduler s(t, o);
  s.add_worker(1, 1, 0);  // room for 1 running + 2 prefetched
  EXPECT_EQ(dispatch(s).all(), (std::vector<TaskIndex>{1, 2, 0}));
}

TEST(Scheduler, LongerCriticalPathGoesFirstAtEqualPriority) {
  // Line 1 is alone; line 2 heads a chain of three: it goes first although it comes later.
  TaskTable t = parse("solo\nhead\n[# -1 #] mid\n[# -1 #] tail\n");
  SchedulerOptions o;
  o.prefetch = 1;
  Scheduler s(t, o);
  s.add_worker(1, 1, 0);
  EXPECT_EQ(dispatch(s).all(), (std::vector<TaskIndex>{1, 0}));
}

TEST(Scheduler, FileOrderBreaksTies) {
  TaskTable t = parse("a\nb\nc\n");
  SchedulerOptions o;
  o.prefetch = 2;
  Scheduler s(t, o);
  s.add_worker(1, 1, 0);
  EXPECT_EQ(dispatch(s).all(), (std::vector<TaskIndex>{0, 1, 2}));
}

TEST(Scheduler, FailedTaskWithRetriesLeftRunsAgain) {
  TaskTable t = parse("[% retries=2 %] flaky\n[# -1 #] after\n");
  Scheduler s(t, {});
  s.add_worker(1, 1, 0);
  for (int attempt = 1; attempt <= 2; ++attempt) {
    ASSERT_EQ(dispatch(s).all(), std::vector<TaskIndex>{0}) << "attempt " << attempt;
    run(s, 1, fail(0));
    EXPECT_EQ(t.state[0], TaskState::ready);
  }
  ASSERT_EQ(dispatch(s).all(), std::vector<TaskIndex>{0});
  run(s, 1, ok(0));
  EXPECT_EQ(t.state[0], TaskState::done);
  EXPECT_EQ(t.attempts[0], 3u);
  EXPECT_EQ(s.stats().retries, 2u);
  EXPECT_EQ(dispatch(s).all(), std::vector<TaskIndex>{1});
}

TEST(Scheduler, TimeoutAfterLastRetryFails) {
  TaskTable t = parse("[% retries=1 timeout=5 %] slow\n");
  Scheduler s(t, {});
  s.add_worker(1, 1, 0);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(dispatch(s).all(), std::vector<TaskIndex>{0});
    TaskResult r;
    r.task = 0;
    r.signal = 15;
    r.timed_out = true;
    run(s, 1, r);
  }
  EXPECT_EQ(t.state[0], TaskState::failed);
  EXPECT_EQ(t.attempts[0], 2u);
  EXPECT_EQ(t.signal[0], 15);
  EXPECT_TRUE(s.all_final());
}

TEST(Scheduler, FailureSkipsEverythingDownstreamButNotSiblings) {
  TaskTable t = parse("root\n[# 1 #] child\n[# 2 #] grandchild\nsibling\n");
  Scheduler s(t, {});
  s.add_worker(1, 4, 0);
  auto r = dispatch(s);
  ASSERT_EQ(r.all(), (std::vector<TaskIndex>{0, 3}));
  run(s, 1, fail(0));
  EXPECT_EQ(t.state[0], TaskState::failed);
  EXPECT_EQ(t.state[1], TaskState::skipped);
  EXPECT_EQ(t.state[2], TaskState::skipped);
  EXPECT_EQ(t.state[3], TaskState::assigned);
  run(s, 1, ok(3));
  EXPECT_TRUE(s.all_final());
  auto fin = s.take_finalized();
  EXPECT_EQ(fin.size(), 4u);
}

// 200,000 levels: a recursive walk with frames of 48 bytes or more would overflow an 8 MiB stack
// (8 MiB / 200,000 = 42 bytes a level), while the test stays well under a second.
TEST(Scheduler, SkipPropagationHandlesA200000DeepChainWithoutRecursion) {
  std::string text = "first\n";
  for (int i = 0; i < 200000; ++i) text += "[# -1 #] x\n";
  TaskTable t = parse(text);
  Scheduler s(t, {});
  s.add_worker(1, 1, 0);
  dispatch(s);
  run(s, 1, fail(0));
  EXPECT_TRUE(s.all_final());
  EXPECT_EQ(s.counts()[static_cast<size_t>(TaskState::skipped)], 200000u);
}

// The whole run under --fail-fast, as the hub drives it: the first final failure stops dispatch; the
// task running elsewhere still reports; the stop recalls the queued tasks; the run is then over with
// the never-started tasks left ready for a resume, not skipped and not run.
TEST(Scheduler, FailFastEndsTheRunAfterTheTasksInFlightWithTheRestLeftReady) {
  TaskTable t = parse("a\nb\nc\nd\ne\nf\n");
  SchedulerOptions o;
  o.fail_fast = true;
  o.prefetch = 1;
  Scheduler s(t, o);
  s.add_worker(1, 1, 0);
  s.add_worker(2, 1, 0);
  const Round r = dispatch(s);
  const std::vector<TaskIndex> on1 = r.tasks_for(1), on2 = r.tasks_for(2);
  ASSERT_EQ(on1.size(), 2u);
  ASSERT_EQ(on2.size(), 2u);
  s.on_started(2, on2[0], 1.0);
  run(s, 1, fail(on1[0]));
  EXPECT_TRUE(s.dispatch_stopped());
  EXPECT_FALSE(s.finished()) << "a task still runs on worker 2";
  EXPECT_TRUE(dispatch(s).all().empty());
  s.on_finished(2, ok(on2[0]));  // the task in flight still reports
  EXPECT_EQ(t.state[on2[0]], TaskState::done);
  EXPECT_TRUE(dispatch(s).all().empty()) << "no dispatch after the failure, even to a free worker";
  s.recall_unstarted();  // the workers dropped their queues and left
  EXPECT_TRUE(s.finished());
  EXPECT_FALSE(s.all_final());
  EXPECT_EQ(s.counts()[static_cast<size_t>(TaskState::failed)], 1u);
  EXPECT_EQ(s.counts()[static_cast<size_t>(TaskState::done)], 1u);
  EXPECT_EQ(s.counts()[static_cast<size_t>(TaskState::ready)], 4u);
  EXPECT_EQ(s.counts()[static_cast<size_t>(TaskState::skipped)], 0u);
  for (TaskIndex x : {on1[1], on2[1]}) EXPECT_EQ(t.attempts[x], 0u) << "row " << x << " never started";
}

TEST(Scheduler, IdleWorkerStealsHalfOfTheBusiestQueue) {
  TaskTable t = parse("a\nb\nc\nd\ne\nf\n");
  SchedulerOptions o;
  o.prefetch = 10;
  Scheduler s(t, o);
  s.add_worker(1, 1, 0);
  auto r = dispatch(s);
  ASSERT_EQ(r.tasks_for(1).size(), 6u);  // the first worker up takes everything it may
  s.on_started(1, 0, 1.0);
  s.add_worker(2, 1, 0);
  r = dispatch(s);
  EXPECT_TRUE(r.all().empty());
  ASSERT_EQ(r.steals.size(), 1u);
  EXPECT_EQ(r.steals[0].victim, 1u);
  EXPECT_EQ(r.steals[0].count, 3u);  // half of the 5 unstarted, rounded up
  // The victim started one more meanwhile and gives back the three newest.
  s.on_started(1, 1, 1.0);
  std::vector<TaskIndex> back{5, 4, 3};
  s.on_returned(1, back);
  r = dispatch(s);
  EXPECT_EQ(r.tasks_for(2), (std::vector<TaskIndex>{3, 4, 5}));
  EXPECT_EQ(s.stats().tasks_stolen, 3u);
}

TEST(Scheduler, StolenTasksGoToTheIdleWorkerBeforeOneThatMerelyHasRoom) {
  TaskTable t = parse("a\nb\nc\nd\n");
  SchedulerOptions o;
  o.prefetch = 1;  // a one-core worker holds two tasks
  Scheduler s(t, o);
  s.add_worker(1, 1, 0);
  s.add_worker(2, 1, 0);
  auto r = dispatch(s);
  ASSERT_EQ(r.tasks_for(1), (std::vector<TaskIndex>{0, 1}));
  ASSERT_EQ(r.tasks_for(2), (std::vector<TaskIndex>{2, 3}));
  run(s, 2, ok(2));  // worker 2 has room again (and still holds task 3): first in line
  EXPECT_TRUE(dispatch(s).all().empty());
  s.add_worker(3, 1, 0);  // idle, in line after worker 2
  r = dispatch(s);
  ASSERT_EQ(r.steals.size(), 1u);
  EXPECT_EQ(r.steals[0].victim, 1u);
  s.on_returned(1, std::vector<TaskIndex>{1});
  r = dispatch(s);
  EXPECT_EQ(r.tasks_for(3), (std::vector<TaskIndex>{1}));
  EXPECT_TRUE(r.tasks_for(2).empty());
}

TEST(Scheduler, ReturnedTaskThatAlreadyStartedIsNotRequeued) {
  TaskTable t = parse("a\nb\n");
  SchedulerOptions o;
  o.prefetch = 10;
  Scheduler s(t, o);
  s.add_worker(1, 1, 0);
  dispatch(s);
  s.on_started(1, 0, 1.0);
  s.add_worker(2, 1, 0);
  dispatch(s);
  // A confused (or forged) reply names a running task and another worker's task: neither moves.
  std::vector<TaskIndex> back{0};
  s.on_returned(2, std::vector<TaskIndex>{1});
  s.on_returned(1, back);
  EXPECT_EQ(t.state[0], TaskState::running);
  EXPECT_EQ(t.state[1], TaskState::assigned);
  EXPECT_TRUE(dispatch(s).tasks_for(2).empty());
}

TEST(Scheduler, StealRequestsAreNotRepeatedWhileOneIsPending) {
  TaskTable t = parse("a\nb\nc\nd\n");
  SchedulerOptions o;
  o.prefetch = 10;
  Scheduler s(t, o);
  s.add_worker(1, 1, 0);
  dispatch(s);
  s.add_worker(2, 1, 0);
  EXPECT_EQ(dispatch(s).steals.size(), 1u);
  EXPECT_TRUE(dispatch(s).steals.empty());
}

TEST(Scheduler, TaskLargerThanEveryWorkerIsUnplaceable) {
  TaskTable t = parse("[% cores=2 %] ok\n[% cores=8 %] big\n[% gpus=1 %] gpu\n");
  Scheduler s(t, {});
  s.add_worker(1, 4, 0);
  s.add_worker(2, 2, 0);
  EXPECT_EQ(s.unplaceable(10), (std::vector<TaskIndex>{1, 2}));
}

TEST(Scheduler, MixedRequestsPackIntoWorkersThatFit) {
  TaskTable t = parse("[% gpus=1 %] g\n[% cores=4 %] wide\nsmall\n");
  SchedulerOptions o;
  o.prefetch = 1;
  Scheduler s(t, o);
  s.add_worker(1, 2, 0);  // small CPU worker
  s.add_worker(2, 4, 1);  // GPU worker
  auto r = dispatch(s);
  EXPECT_EQ(r.tasks_for(1), std::vector<TaskIndex>{2}) << "only the 1-core task fits worker 1";
  EXPECT_EQ(r.tasks_for(2), (std::vector<TaskIndex>{0, 1})) << "the GPU and the 4-core task need worker 2";
}

TEST(Scheduler, WorkerHoldsNoMoreThanItsCoresPlusPrefetch) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "x\n";
  TaskTable t = parse(text);
  Scheduler s(t, {});  // default prefetch max(2, cores) = 4 for 4 cores
  s.add_worker(1, 4, 0);
  EXPECT_EQ(dispatch(s).all().size(), 8u);
  EXPECT_TRUE(dispatch(s).all().empty());
  run(s, 1, ok(0));
  EXPECT_EQ(dispatch(s).all().size(), 1u);  // one finished, one more fits
}

// A finished command task that ran `seconds`, as a worker reports it (wall times).
TaskResult ok_after(TaskIndex t, double seconds) {
  TaskResult r = ok(t);
  r.start_time = 1000.0;
  r.end_time = 1000.0 + seconds;
  return r;
}

// Runs one assigned task after another on worker 1 (each `seconds` long) and dispatches after each:
// the most tasks the worker held at once.
size_t most_held(Scheduler& s, double seconds, size_t tasks) {
  std::deque<TaskIndex> held;
  size_t most = 0;
  for (size_t i = 0; i < tasks; ++i) {
    for (TaskIndex x : dispatch(s).all()) held.push_back(x);
    most = std::max(most, held.size());
    if (held.empty()) break;
    run(s, 1, ok_after(held.front(), seconds));
    held.pop_front();
  }
  return most;
}

TEST(Scheduler, ShortCommandTasksDeepenTheDefaultPrefetch) {
  // 100 us tasks on a 2-core worker: about kCommandQueueSeconds of them per core are queued, so the
  // worker never waits on the hub between two of them; 1 s tasks keep the default of max(2, cores).
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "x\n";
  {
    TaskTable t = parse(text);
    Scheduler s(t, {});
    s.add_worker(1, 2, 0);
    const size_t want = 2 + static_cast<size_t>(2 * kCommandQueueSeconds / 100e-6);
    const size_t most = most_held(s, 100e-6, 1500);
    EXPECT_GE(most, want - 2);
    EXPECT_LE(most, want + 2);
  }
  {
    TaskTable t = parse(text);
    Scheduler s(t, {});
    s.add_worker(1, 2, 0);
    EXPECT_EQ(most_held(s, 1.0, 200), 4u);  // 2 running + 2 queued
  }
  {
    // Never more than kMaxPrefetchPerCore per core, however short the tasks.
    TaskTable t = parse(text);
    Scheduler s(t, {});
    s.add_worker(1, 1, 0);
    EXPECT_EQ(most_held(s, 1e-9, 1500), 1u + kMaxPrefetchPerCore);
  }
}

TEST(Scheduler, FixedPrefetchAndMemoryRequestsKeepTheShallowQueue) {
  std::string text;
  for (int i = 0; i < 600; ++i) text += "x\n";
  {
    TaskTable t = parse(text);
    SchedulerOptions o;
    o.prefetch = 3;  // --prefetch 3: exactly that, whatever the tasks take
    Scheduler s(t, o);
    s.add_worker(1, 1, 0);
    EXPECT_EQ(most_held(s, 100e-6, 500), 4u);
  }
  {
    // Tasks with mem= reserve their node's budget while queued: one worker's deep queue must not take
    // it from the others.
    std::string mem;
    for (int i = 0; i < 600; ++i) mem += "[% mem=1M %] x\n";
    TaskTable t = parse(mem);
    Scheduler s(t, {});
    s.add_worker(1, 1, 0);
    s.set_worker_node(1, 0, 1ull << 30);
    EXPECT_EQ(most_held(s, 100e-6, 500), 3u);  // 1 running + max(2, cores)
  }
}

TEST(Scheduler, ResumedRunningTaskIsReadyAndItsAttemptNotCounted) {
  TaskTable t = parse("a\n[# 1 #] b\nc\n");
  t.state = {TaskState::done, TaskState::running, TaskState::failed};
  t.attempts = {1, 2, 1};
  Scheduler s(t, {});
  EXPECT_EQ(t.state[1], TaskState::ready);
  EXPECT_EQ(t.attempts[1], 1u);
  EXPECT_EQ(t.state[2], TaskState::failed);
  EXPECT_FALSE(s.all_final());
  EXPECT_TRUE(s.take_finalized().empty());
}

TEST(Scheduler, TaskLeftRunningCountsACrashAtLoadForTheJournal) {
  TaskTable t = parse("a\nb\n");
  t.state = {TaskState::running, TaskState::ready};
  t.attempts = {1, 0};
  t.crashes = {1, 0};
  Scheduler s(t, {});
  EXPECT_EQ(t.crashes[0], 2u);
  EXPECT_EQ(t.crashes[1], 0u);
  EXPECT_EQ(t.state[0], TaskState::ready);
  EXPECT_EQ(t.attempts[0], 0u);
  EXPECT_EQ(s.take_changed(), std::vector<TaskIndex>{0});  // the new count must be journalled
}

TEST(Scheduler, TaskAtTheCrashLimitFailsAtLoadAndSkipsItsDependants) {
  TaskTable t = parse("a\n[# 1 #] b\nc\n");
  t.state = {TaskState::running, TaskState::waiting, TaskState::running};
  t.attempts = {1, 0, 1};
  t.crashes = {2, 0, 1};
  SchedulerOptions o;
  o.crash_limit = 3;
  Scheduler s(t, o);
  EXPECT_EQ(t.state[0], TaskState::failed);
  EXPECT_EQ(t.result[0], "mpiq: its worker was lost 3 times\n");
  EXPECT_EQ(describe_end(t, 0), "its worker was lost 3 times");
  EXPECT_EQ(t.state[1], TaskState::skipped);
  EXPECT_EQ(t.state[2], TaskState::ready);  // 2 crashes: one more try
  EXPECT_EQ(t.crashes[2], 2u);
  EXPECT_EQ(s.take_finalized(), (std::vector<TaskIndex>{0, 1}));
  EXPECT_EQ(s.counts()[static_cast<size_t>(TaskState::failed)], 1u);
}

TEST(Scheduler, CrashLimitZeroNeverFailsATask) {
  TaskTable t = parse("a\n");
  t.state = {TaskState::running};
  t.crashes = {99};
  SchedulerOptions o;
  o.crash_limit = 0;
  Scheduler s(t, o);
  EXPECT_EQ(t.state[0], TaskState::ready);
  EXPECT_EQ(t.crashes[0], 100u);
}

TEST(Scheduler, StartsAndReturnsToReadyAreJournalledButFinalEndsAreNot) {
  // A start is journalled (a resume that finds it running counts a crash); so is a retry or an
  // interruption that makes it ready again; a final end is journalled as finalized instead.
  TaskTable t = parse("[% retries=1 %] a\nb\n");
  Scheduler s(t, {});
  s.add_worker(1, 2, 0);
  dispatch(s);
  s.on_started(1, 0, 1.0);
  s.on_started(1, 1, 1.0);
  EXPECT_EQ(s.take_changed(), (std::vector<TaskIndex>{0, 1}));
  s.on_finished(1, fail(0));  // a retry: ready again
  s.on_finished(1, ok(1));
  EXPECT_EQ(s.take_changed(), std::vector<TaskIndex>{0});
  EXPECT_EQ(s.take_finalized(), std::vector<TaskIndex>{1});
}

TEST(Scheduler, BarrierPassesWhenEveryEarlierTaskIsDone) {
  TaskTable t = parse("a\nb\n#MPIQ barrier\nc\n");
  Scheduler s(t, {});
  s.add_worker(1, 4, 0);
  auto r = dispatch(s).all();
  ASSERT_EQ(r.size(), 2u);
  run(s, 1, ok(r[0]));
  EXPECT_TRUE(dispatch(s).all().empty());
  run(s, 1, ok(r[1]));
  EXPECT_EQ(dispatch(s).all(), std::vector<TaskIndex>{row(t, 4)});
  EXPECT_EQ(s.task_count(), 3u);  // the barrier is not a task
}

TEST(Scheduler, InterruptedTaskGoesBackToReadyUncounted) {
  TaskTable t = parse("a\n");
  Scheduler s(t, {});
  s.add_worker(1, 1, 0);
  dispatch(s);
  s.on_started(1, 0, 1.0);
  TaskResult r;
  r.task = 0;
  r.signal = 15;
  r.interrupted = true;
  s.stop_dispatch();
  s.on_finished(1, r);
  EXPECT_EQ(t.state[0], TaskState::ready);
  EXPECT_EQ(t.attempts[0], 0u);
  EXPECT_TRUE(s.finished());  // stopped and nothing in flight
  EXPECT_FALSE(s.all_final());
}

TEST(Scheduler, StopRecallsUnstartedTasks) {
  TaskTable t = parse("a\nb\nc\n");
  SchedulerOptions o;
  o.prefetch = 10;
  Scheduler s(t, o);
  s.add_worker(1, 1, 0);
  dispatch(s);
  s.stop_dispatch();
  s.recall_unstarted();
  for (TaskState st : t.state) EXPECT_EQ(st, TaskState::ready);
  EXPECT_TRUE(s.idle());
}

TEST(Scheduler, ReportForAnotherWorkersTaskIsIgnored) {
  TaskTable t = parse("a\n");
  Scheduler s(t, {});
  s.add_worker(1, 1, 0);
  s.add_worker(2, 1, 0);
  auto r = dispatch(s);
  const WorkerId owner = r.assignments.at(0).worker;
  const WorkerId other = owner == 1 ? 2 : 1;
  s.on_finished(other, ok(0));
  EXPECT_EQ(t.state[0], TaskState::assigned);
}

namespace {
// Appends a function task of kind "f" after rows `deps` (the way the embedding API submits).
TaskIndex append_function(TaskTable& t, std::initializer_list<TaskIndex> deps,
                          std::string_view payload = "") {
  const std::vector<TaskIndex> rows(deps);
  TaskSpec spec;
  spec.id = t.id.empty() ? 1 : t.id.back() + 1;
  spec.deps = rows;
  spec.kind = "f";
  spec.payload = payload;
  const TaskIndex row = t.append(spec);
  t.init_runtime_columns();
  return row;
}
}  // namespace

TEST(Scheduler, TasksAddedDuringARunJoinTheGraph) {
  TaskTable t = parse("a\nb\n");
  Scheduler s(t, {});
  s.add_worker(1, 4, 0);
  ASSERT_EQ(dispatch(s).all().size(), 2u);
  run(s, 1, ok(0));
  run(s, 1, fail(1));
  const TaskIndex after_done = append_function(t, {0});
  const TaskIndex after_failed = append_function(t, {1});
  const TaskIndex waits = append_function(t, {after_done});
  s.add_tasks(after_done);
  EXPECT_EQ(t.state[after_done], TaskState::ready);
  EXPECT_EQ(t.state[after_failed], TaskState::skipped);
  EXPECT_EQ(t.state[waits], TaskState::waiting);
  EXPECT_EQ(s.task_count(), 5u);
  EXPECT_EQ(dispatch(s).all(), std::vector<TaskIndex>{after_done});
  TaskResult r = ok(after_done);
  r.output = "result bytes";
  run(s, 1, r);
  EXPECT_EQ(t.result[after_done], "result bytes");
  EXPECT_EQ(t.state[waits], TaskState::ready);  // released through the edge added at run time
  run(s, 1, ok(dispatch(s).all().at(0)));
  EXPECT_TRUE(s.all_final());
}

TEST(Scheduler, FunctionWindowGrowsForShortTasksAndShrinksForLongOnes) {
  TaskTable t;
  for (int i = 0; i < 100000; ++i) append_function(t, {});
  Scheduler s(t, {});
  s.add_worker(1, 1, 0);
  auto first = dispatch(s).all();
  EXPECT_EQ(first.size(), kInitialFunctionWindow);
  for (TaskIndex task : first) {
    TaskResult r = ok(task);
    r.start_time = 1.0;
    r.end_time = 1.0 + 1e-7;  // 100 ns tasks
    s.on_finished(1, r);
  }
  EXPECT_GT(s.function_window(1), 10000u);
  EXPECT_GT(dispatch(s).all().size(), 10000u);
  TaskTable slow;
  for (int i = 0; i < 10; ++i) append_function(slow, {});
  Scheduler s2(slow, {});
  s2.add_worker(1, 1, 0);
  TaskResult r = ok(dispatch(s2).all().at(0));
  r.start_time = 1.0;
  r.end_time = 3.0;  // 2 s tasks: hold only a couple
  s2.on_finished(1, r);
  EXPECT_EQ(s2.function_window(1), kMinFunctionWindow);
}

TEST(Scheduler, ABurstOfReadyFunctionTasksIsSharedAmongTheHungryWorkers) {
  // A root with 1,000 dependants, as a fan-out: once the root ends, both workers are hungry and the
  // burst fits either one's window. Each gets half, not the first one all (the other would have to
  // steal it, round trips later).
  TaskTable t;
  const TaskIndex root = append_function(t, {});
  for (int i = 0; i < 1000; ++i) append_function(t, {root});
  SchedulerOptions o;
  o.function_window = 4096;
  Scheduler s(t, o);
  s.add_worker(1, 1, 0);
  s.add_worker(2, 1, 0);
  const auto first = dispatch(s);
  ASSERT_EQ(first.all(), std::vector<TaskIndex>{root});
  s.on_finished(first.assignments.at(0).worker, ok(root));
  const auto burst = dispatch(s);
  ASSERT_EQ(burst.assignments.size(), 2u);
  EXPECT_EQ(burst.assignments[0].tasks.size(), 500u);
  EXPECT_EQ(burst.assignments[1].tasks.size(), 500u);
  EXPECT_NE(burst.assignments[0].worker, burst.assignments[1].worker);
  // One hungry worker takes what its window allows.
  TaskTable one;
  for (int i = 0; i < 1000; ++i) append_function(one, {});
  Scheduler s1(one, o);
  s1.add_worker(1, 1, 0);
  EXPECT_EQ(dispatch(s1).all().size(), 1000u);
}

// --- mpiq cancel (docs/design.md §3, §8) ---

TEST(Scheduler, CancelOfAWaitingTaskSkipsItsDependantsAndNeedsNoWorker) {
  TaskTable t = parse("[% name=a %] a\n[# a #] b\n[# 2 #] c\nd\n");
  Scheduler s(t, {});
  EXPECT_FALSE(s.cancel(0).has_value());  // not on a worker: nothing to tell
  EXPECT_EQ(t.state[0], TaskState::cancelled);
  EXPECT_EQ(t.state[1], TaskState::skipped);
  EXPECT_EQ(t.state[2], TaskState::skipped);
  EXPECT_EQ(s.counts()[static_cast<size_t>(TaskState::cancelled)], 1u);
  s.add_worker(1, 4, 0);
  EXPECT_EQ(dispatch(s).all(), std::vector<TaskIndex>{3});  // the cancelled task is never sent
  run(s, 1, ok(3));
  EXPECT_TRUE(s.all_final());
  EXPECT_FALSE(s.cancel(3).has_value());  // done: a cancel changes nothing
  EXPECT_EQ(t.state[3], TaskState::done);
}

TEST(Scheduler, CancelledTaskKeepsItsRoomUntilTheWorkerReportsIt) {
  TaskTable t = parse("a\nb\nc\n");
  SchedulerOptions o;
  o.prefetch = 1;
  Scheduler s(t, o);
  s.add_worker(1, 1, 0);
  ASSERT_EQ(dispatch(s).all(), (std::vector<TaskIndex>{0, 1}));  // one runs, one queued
  s.on_started(1, 0, 1.0);
  EXPECT_EQ(s.cancel(0), std::optional<WorkerId>(1));
  EXPECT_EQ(s.cancel(1), std::optional<WorkerId>(1));
  EXPECT_EQ(t.state[0], TaskState::cancelled);
  EXPECT_EQ(s.held_tasks(1), 2u);  // still on the worker: its cores are not given away
  EXPECT_TRUE(dispatch(s).all().empty());
  TaskResult dropped;
  dropped.task = 1;
  dropped.interrupted = true;
  s.on_finished(1, dropped);  // dropped from the queue
  TaskResult killed = fail(0);
  killed.signal = 15;
  s.on_finished(1, killed);  // ended by TERM
  EXPECT_EQ(t.state[0], TaskState::cancelled);
  EXPECT_EQ(s.held_tasks(1), 0u);
  EXPECT_EQ(s.running_tasks(1), 0u);
  EXPECT_EQ(dispatch(s).all(), std::vector<TaskIndex>{2});
}

TEST(Scheduler, CancelledTaskGivenBackByAStealOrAStopFreesItsRoom) {
  TaskTable t = parse("a\nb\n");
  SchedulerOptions o;
  o.prefetch = 1;
  Scheduler s(t, o);
  s.add_worker(1, 1, 0);
  ASSERT_EQ(dispatch(s).all().size(), 2u);
  s.cancel(1);
  const std::vector<TaskIndex> back{1};
  s.on_returned(1, back);
  EXPECT_EQ(s.held_tasks(1), 1u);
  EXPECT_EQ(t.state[1], TaskState::cancelled);
  EXPECT_EQ(s.stats().tasks_stolen, 0u);
  s.cancel(0);  // queued, then the run stops and the worker drops its queue
  s.recall_unstarted();
  EXPECT_EQ(s.held_tasks(1), 0u);
  EXPECT_TRUE(s.idle());
}

// --- Time-aware dispatch ---

TEST(Scheduler, TaskWhoseTimeoutExceedsTheTimeLeftIsHeldBack) {
  TaskTable t = parse("[% timeout=10m %] long\n[% timeout=30s %] short\nnone\n");
  Scheduler s(t, {});
  s.add_worker(1, 4, 0);
  s.set_time_left(120);
  const auto sent = dispatch(s).all();
  EXPECT_EQ(std::set<TaskIndex>(sent.begin(), sent.end()), (std::set<TaskIndex>{1, 2}));
  EXPECT_EQ(t.state[0], TaskState::ready);  // for the next run
  EXPECT_EQ(s.time_held(), 1u);
  EXPECT_FALSE(s.only_time_held());
  run(s, 1, ok(1));
  run(s, 1, ok(2));
  EXPECT_TRUE(s.only_time_held());  // nothing more can happen before the limit
}

TEST(Scheduler, TaskExpectedToTakeLongerThanTheTimeLeftIsHeldBack) {
  std::string text;
  for (int i = 0; i < 20; ++i) text += "x\n";
  TaskTable t = parse(text);
  Scheduler s(t, {});
  s.add_worker(1, 1, 0);
  for (TaskIndex i = 0; i < 10; ++i) {  // ten done, each 100 s
    ASSERT_FALSE(dispatch(s).all().empty());
    TaskResult r = ok(i);
    r.start_time = 1000;
    r.end_time = 1100;
    run(s, 1, r);
  }
  s.set_time_left(500);
  const auto sent = dispatch(s).all();
  ASSERT_FALSE(sent.empty());  // 100 s tasks fit in 500 s
  for (TaskIndex i : sent) run(s, 1, ok(i));
  s.set_time_left(20);
  EXPECT_TRUE(dispatch(s).all().empty());  // but not in 20 s
  EXPECT_EQ(s.time_held(), 7u);            // 13..19; 10 and 11 were sent earlier and still run
  EXPECT_FALSE(s.only_time_held());
  for (TaskIndex i : {10u, 11u}) run(s, 1, ok(i));
  EXPECT_TRUE(s.only_time_held());
}

TEST(Scheduler, AClosedWorkerGetsNothingUntilOpened) {
  TaskTable t = parse("a\nb\n");
  Scheduler s(t, {});
  s.add_worker(1, 1, 0, /*open=*/false);
  s.add_worker(2, 1, 0, /*open=*/false);
  EXPECT_TRUE(s.unplaceable(5).empty());  // closed workers count for what fits
  EXPECT_TRUE(dispatch(s).all().empty());
  s.open_worker(2);
  const Round r = dispatch(s);
  EXPECT_TRUE(r.tasks_for(1).empty());
  EXPECT_EQ(r.tasks_for(2).size(), 2u);
  EXPECT_TRUE(r.steals.empty());  // a closed worker is not idle: nobody steals for it
}

TEST(Scheduler, RemovingWorkersFailsWhatNoneLeftCanRun) {
  TaskTable t = parse("[% gpus=1 name=g %] a\n[# g #] b\nc\n");
  Scheduler s(t, {});
  s.add_worker(1, 1, 1, false);  // the only GPU
  s.add_worker(2, 1, 0, false);
  s.remove_worker(1);
  const auto failed = s.fail_unplaceable("node n1's start command failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(t.id[failed[0]], 1u);
  EXPECT_EQ(t.state[row(t, 1)], TaskState::failed);
  EXPECT_EQ(t.result[row(t, 1)], "mpiq: node n1's start command failed\n");
  EXPECT_EQ(t.state[row(t, 2)], TaskState::skipped);
  s.open_worker(2);
  const Round r = dispatch(s);
  ASSERT_EQ(r.tasks_for(2).size(), 1u);
  EXPECT_EQ(t.id[r.tasks_for(2)[0]], 3u);
  run(s, 2, ok(r.tasks_for(2)[0]));
  EXPECT_TRUE(s.all_final());
}

namespace {

// Memory (mem=) is the node's: workers placed on one node share its budget, other nodes have their own.
TEST(SchedulerMemory, TwoWorkersOfOneNodeNeverTogetherExceedItsBudget) {
  TaskTable t = parse("[% mem=14G %] a\n[% mem=14G %] b\n[% mem=14G %] c\n");
  Scheduler s(t, {});
  s.add_worker(1, 4, 0);
  s.add_worker(2, 4, 0);
  s.set_worker_node(1, 0, 24ull << 20);
  s.set_worker_node(2, 0, 24ull << 20);
  Round r = dispatch(s);
  ASSERT_EQ(r.all().size(), 1u) << "only one 14G task fits a 24G node, queued ones included";
  EXPECT_EQ(s.node_memory(0).reserved_kb, 14ull << 20);
  const WorkerId first = r.assignments[0].worker;
  run(s, first, ok(r.all()[0]));
  EXPECT_EQ(s.node_memory(0).reserved_kb, 0u);
  r = dispatch(s);
  ASSERT_EQ(r.all().size(), 1u) << "the freed memory goes to the next task, on either worker";
  EXPECT_EQ(r.all()[0], 1u);
}

TEST(SchedulerMemory, TheOtherWorkerOfTheNodeGetsTheTaskOnceMemoryIsFreed) {
  // Worker 1 holds a 14G task; worker 2 (same node, idle) must be woken when it ends, even if
  // worker 1 has no room left (cores=4 on 4 cores and a prefetch of 0 extra).
  TaskTable t = parse("[% mem=14G cores=4 %] a\n[% mem=14G cores=1 %] b\n");
  SchedulerOptions o;
  o.prefetch = 1;
  Scheduler s(t, o);
  s.add_worker(1, 4, 0);
  s.set_worker_node(1, 7, 24ull << 20);
  Round r = dispatch(s);
  ASSERT_EQ(r.tasks_for(1), std::vector<TaskIndex>{0});
  s.add_worker(2, 4, 0);
  s.set_worker_node(2, 7, 24ull << 20);
  EXPECT_TRUE(dispatch(s).all().empty()) << "task b's memory is not free on node 7";
  s.on_started(1, 0, 1.0);
  s.on_finished(1, ok(0));
  r = dispatch(s);
  EXPECT_EQ(r.all(), std::vector<TaskIndex>{1});
}

TEST(SchedulerMemory, DifferentNodesAreIndependent) {
  TaskTable t = parse("[% mem=14G %] a\n[% mem=14G %] b\n");
  Scheduler s(t, {});
  s.add_worker(1, 4, 0);
  s.add_worker(2, 4, 0);
  s.set_worker_node(1, 0, 24ull << 20);
  s.set_worker_node(2, 1, 24ull << 20);
  const Round r = dispatch(s);
  EXPECT_EQ(r.tasks_for(1).size(), 1u);
  EXPECT_EQ(r.tasks_for(2).size(), 1u);
  EXPECT_EQ(s.node_memory(0).reserved_kb, 14ull << 20);
  EXPECT_EQ(s.node_memory(1).reserved_kb, 14ull << 20);
}

TEST(SchedulerMemory, SmallRequestsShareANodeAndNoMemoryAsksNothing) {
  TaskTable t = parse("[% mem=1G %] a\n[% mem=1G %] b\nc\nd\n");
  Scheduler s(t, {});
  s.add_worker(1, 2, 0);
  s.add_worker(2, 2, 0);
  s.set_worker_node(1, 0, 2ull << 20);
  s.set_worker_node(2, 0, 2ull << 20);
  EXPECT_EQ(dispatch(s).all().size(), 4u);
  EXPECT_EQ(s.node_memory(0).reserved_kb, 2ull << 20);
}

TEST(SchedulerMemory, ARequestAboveEveryNodesBudgetIsUnplaceable) {
  TaskTable t = parse("[% mem=30G %] big\nsmall\n");
  Scheduler s(t, {});
  s.add_worker(1, 4, 0);
  s.set_worker_node(1, 0, 24ull << 20);
  EXPECT_EQ(s.unplaceable(10), std::vector<TaskIndex>{0});
  EXPECT_EQ(dispatch(s).all(), std::vector<TaskIndex>{1});
  EXPECT_EQ(s.fail_unplaceable("too big"), std::vector<TaskIndex>{0});
}

TEST(SchedulerMemory, AStealGivesTheMemoryBackBeforeTheThiefReservesIt) {
  TaskTable t = parse("[% mem=5G %] a\n[% mem=5G %] b\n[% mem=5G %] c\n");
  Scheduler s(t, {});
  s.add_worker(1, 2, 0);
  s.set_worker_node(1, 0, 16ull << 20);
  Round r = dispatch(s);
  ASSERT_EQ(r.tasks_for(1).size(), 3u);
  EXPECT_EQ(s.node_memory(0).reserved_kb, 15ull << 20);
  s.on_started(1, 0, 1.0);
  s.add_worker(2, 2, 0);
  s.set_worker_node(2, 0, 16ull << 20);
  r = dispatch(s);
  ASSERT_EQ(r.steals.size(), 1u);
  EXPECT_EQ(r.steals[0].victim, 1u);
  const std::vector<TaskIndex> back{2};
  s.on_returned(1, back);
  EXPECT_EQ(s.node_memory(0).reserved_kb, 10ull << 20);
  r = dispatch(s);
  EXPECT_EQ(r.tasks_for(2), back);
  EXPECT_EQ(s.node_memory(0).reserved_kb, 15ull << 20) << "reserved again by the thief, once";
}

}  // namespace
// --- Earlier attempts (core/attempt_log.hpp) --------------------------------------------------------

TEST(SchedulerEarlierAttempts, EachRetriedFailureIsKeptWithItsWorkerTimesAndEnd) {
  TaskTable t = parse("[% retries=2 timeout=5 %] flaky\n");
  Scheduler s(t, {});
  s.add_worker(1, 1, 0);
  s.add_worker(2, 1, 0);
  dispatch(s);
  TaskResult first = fail(0, 7);
  first.start_time = 10;
  first.end_time = 12.5;
  first.max_rss_kb = 900;
  const WorkerId w1 = static_cast<WorkerId>(t.worker_rank[0]);
  s.on_started(w1, 0, 10);
  s.on_finished(w1, first);
  dispatch(s);
  const WorkerId w2 = static_cast<WorkerId>(t.worker_rank[0]);
  TaskResult second;
  second.task = 0;
  second.signal = 15;
  second.timed_out = true;
  second.start_time = 13;
  second.end_time = 18;
  s.on_started(w2, 0, 13);
  s.on_finished(w2, second);
  const std::vector<EarlierAttempt> kept = s.take_earlier_attempts();
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0],
            (EarlierAttempt{0, 1, static_cast<int32_t>(w1), 7, 0, AttemptEnd::failed, 10, 12.5, 900}));
  EXPECT_EQ(kept[1],
            (EarlierAttempt{0, 2, static_cast<int32_t>(w2), -1, 15, AttemptEnd::timed_out, 13, 18, 0}));
  EXPECT_TRUE(s.take_earlier_attempts().empty()) << "taken once";
  dispatch(s);
  run(s, static_cast<WorkerId>(t.worker_rank[0]), ok(0));
  EXPECT_EQ(t.state[0], TaskState::done);
  EXPECT_EQ(t.attempts[0], 3u);
  EXPECT_TRUE(s.take_earlier_attempts().empty()) << "the last attempt is the row's";
}

TEST(SchedulerEarlierAttempts, AFinalFailureAndASuccessAreNotEarlierAttempts) {
  TaskTable t = parse("a\nb\n");
  Scheduler s(t, {});
  s.add_worker(1, 2, 0);
  dispatch(s);
  run(s, 1, fail(0));
  run(s, 1, ok(1));
  EXPECT_TRUE(s.take_earlier_attempts().empty());
}

TEST(SchedulerEarlierAttempts, ATryAStopEndedIsKeptAsStopped) {
  TaskTable t = parse("a\n");
  Scheduler s(t, {});
  s.add_worker(1, 1, 0);
  dispatch(s);
  s.on_started(1, 0, 5.0);
  TaskResult r;
  r.task = 0;
  r.signal = 15;
  r.interrupted = true;
  r.start_time = 5;
  r.end_time = 6;
  s.stop_dispatch();
  s.on_finished(1, r);
  const std::vector<EarlierAttempt> kept = s.take_earlier_attempts();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0], (EarlierAttempt{0, 1, 1, -1, 15, AttemptEnd::stopped, 5, 6, 0}));
  EXPECT_EQ(t.attempts[0], 0u);  // not counted: the next try is attempt 1 again
}

TEST(SchedulerEarlierAttempts, ATryLeftRunningAtLoadIsKeptAsLostWithNoEnd) {
  TaskTable t = parse("a\nb\n");
  t.state = {TaskState::running, TaskState::done};
  t.attempts = {2, 1};
  t.worker_rank = {3, 1};
  t.start_time = {100, 50};
  Scheduler s(t, {});
  const std::vector<EarlierAttempt> kept = s.take_earlier_attempts();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0], (EarlierAttempt{0, 2, 3, -1, 0, AttemptEnd::lost, 100, 0, 0}));
}

TEST(AttemptLog, KeepsTheFirstAttemptsOfATaskUpToItsBoundAndCountsTheRest) {
  AttemptLog log;
  for (uint32_t k = 1; k <= AttemptLog::kMaxPerTask + 3; ++k) log.add({7, k});
  EXPECT_TRUE(log.add({8, 1}));
  EXPECT_EQ(log.size(), AttemptLog::kMaxPerTask + 1);
  EXPECT_EQ(log.kept_of(7), AttemptLog::kMaxPerTask);
  EXPECT_EQ(log.records()[AttemptLog::kMaxPerTask - 1].attempt, AttemptLog::kMaxPerTask);
  EXPECT_EQ(log.dropped(), 3u);
}

TEST(AttemptLog, KeepsAtMostItsBoundInAll) {
  AttemptLog log;
  for (TaskIndex t = 0; t < AttemptLog::kMaxRecords + 5; ++t) log.add({t, 1});
  EXPECT_EQ(log.size(), AttemptLog::kMaxRecords);
  EXPECT_EQ(log.dropped(), 5u);
  EXPECT_EQ(log.kept_of(AttemptLog::kMaxRecords + 1), 0u);
}

TEST(AttemptLog, RemapFollowsMovedRowsAndDropsTheOthersUncounted) {
  AttemptLog log;
  log.add({0, 1});
  log.add({1, 1});
  log.add({1, 2});
  log.remap({5, AttemptLog::kNoRow});
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log.records()[0].task, 5u);
  EXPECT_EQ(log.dropped(), 0u);
  EXPECT_EQ(log.find_problem(6), "");
  EXPECT_NE(log.find_problem(5).find("of row 5"), std::string::npos);
}

// The duration histogram's bucket, taken from the exponent and mantissa, is floor(2 log2 s) + 20
// clamped to [0, 63], the formula it replaced, for durations from 1 ns to 10^9 s (values within a
// relative 1e-12 of a bucket edge, where log2's rounding decides, are left out), and 0 for what is
// not a positive duration.
TEST(Scheduler, DurationBucketIsHalfOctavesFromOneMillisecond) {
  const auto by_log2 = [](double s) {
    return static_cast<size_t>(std::clamp(std::floor(2 * std::log2(s)) + 20, 0.0, 63.0));
  };
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(-30, 30);
  size_t compared = 0;
  for (int i = 0; i < 200000; ++i) {
    const double s = std::pow(10.0, exponent(rng) * 0.3);
    const double half_octaves = 2 * std::log2(s);
    if (std::abs(half_octaves - std::round(half_octaves)) < 1e-12 * std::max(1.0, std::abs(half_octaves))) continue;
    ASSERT_EQ(duration_bucket(s), by_log2(s)) << "s = " << s;
    ++compared;
  }
  EXPECT_GT(compared, 199000u);
  EXPECT_EQ(duration_bucket(1.0), 20u);
  EXPECT_EQ(duration_bucket(1.5), 21u);
  EXPECT_EQ(duration_bucket(0.75), 19u);
  EXPECT_EQ(duration_bucket(2.0), 22u);
  EXPECT_EQ(duration_bucket(0.0009), 0u);
  EXPECT_EQ(duration_bucket(1e12), 63u);
  EXPECT_EQ(duration_bucket(0), 0u);
  EXPECT_EQ(duration_bucket(-1), 0u);
  EXPECT_EQ(duration_bucket(std::numeric_limits<double>::quiet_NaN()), 0u);
  EXPECT_EQ(duration_bucket(std::numeric_limits<double>::infinity()), 63u);
  EXPECT_EQ(duration_bucket(std::numeric_limits<double>::denorm_min()), 0u);
}

// dispatch replaces what the vector held (the hub passes the same one each time, and its task lists
// are reused): only this round's assignments are in it, each with only its own tasks.
TEST(Scheduler, DispatchReplacesTheAssignmentsItIsGiven) {
  TaskTable t = parse("a\nb\nc\nd\n");
  SchedulerOptions o;
  o.prefetch = 1;  // a one-core worker holds two tasks
  Scheduler s(t, o);
  s.add_worker(1, 1, 0);
  std::vector<Assignment> assignments;
  std::vector<StealRequest> steals;
  s.dispatch(assignments, steals);
  ASSERT_EQ(assignments.size(), 1u);
  EXPECT_EQ(assignments[0].tasks, (std::vector<TaskIndex>{0, 1}));
  run(s, 1, ok(0));
  s.dispatch(assignments, steals);
  ASSERT_EQ(assignments.size(), 1u);
  EXPECT_EQ(assignments[0].worker, 1u);
  EXPECT_EQ(assignments[0].tasks, (std::vector<TaskIndex>{2}));
  s.dispatch(assignments, steals);  // nothing has room: nothing to send
  EXPECT_TRUE(assignments.empty());
  run(s, 1, ok(1));
  run(s, 1, ok(2));
  s.dispatch(assignments, steals);
  ASSERT_EQ(assignments.size(), 1u);
  EXPECT_EQ(assignments[0].tasks, (std::vector<TaskIndex>{3}));
}
