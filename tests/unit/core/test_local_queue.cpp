// The worker's own queue: what it starts, what it gives back, and timeouts on a fake clock.

#include <gtest/gtest.h>

#include <algorithm>

#include "core/local_queue.hpp"

using namespace mpiq::core;

namespace {
WorkerShare cores(int n) {
  WorkerShare s;
  for (int i = 0; i < n; ++i) s.cores.push_back({{i}, 0});
  return s;
}
TaskOrder order(TaskIndex t, uint32_t ncores = 1, uint32_t timeout = 0) {
  TaskOrder o;
  o.task = t;
  o.id = t + 1;
  o.cores = ncores;
  o.timeout_s = timeout;
  o.command = "true";
  return o;
}
// Tasks 0 .. n-1 pushed and started at time 0 on `q` (which has a core for each).
void start_tasks(LocalQueue& q, TaskIndex n) {
  for (TaskIndex t = 0; t < n; ++t) q.push(order(t));
  for (TaskIndex t = 0; t < n; ++t) {
    auto next = q.next();
    ASSERT_TRUE(next);
    q.started(std::move(*next), 0);
  }
}
}  // namespace

TEST(LocalQueue, StartsOnlyWhatFitsTheFreeCores) {
  LocalQueue q(cores(2), 5);
  q.push(order(0));
  q.push(order(1));
  q.push(order(2));
  auto a = q.next();
  auto b = q.next();
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->allocation.cores, b->allocation.cores);  // two different cores
  q.started(std::move(*a), 0);
  q.started(std::move(*b), 0);
  EXPECT_FALSE(q.next());
  q.finished(0);
  auto c = q.next();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->order.task, 2u);
}

TEST(LocalQueue, SmallTaskOvertakesOneThatDoesNotFitYet) {
  LocalQueue q(cores(2), 5);
  q.push(order(0));
  q.push(order(1, 2));  // needs both cores
  q.push(order(2));
  auto first = q.next();
  q.started(std::move(*first), 0);
  auto second = q.next();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->order.task, 2u);
}

TEST(LocalQueue, TaskLargerThanTheWorkerComesOutMarkedUnfit) {
  LocalQueue q(cores(1), 5);
  q.push(order(0, 4));
  auto n = q.next();
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->fits);
}

TEST(LocalQueue, GivesBackNewestUnstartedTasks) {
  LocalQueue q(cores(1), 5);
  for (TaskIndex t = 0; t < 5; ++t) q.push(order(t));
  auto n = q.next();
  q.started(std::move(*n), 0);
  EXPECT_EQ(q.give_back(2), (std::vector<TaskIndex>{4, 3}));
  EXPECT_EQ(q.queued(), 2u);
  EXPECT_EQ(q.give_back(10), (std::vector<TaskIndex>{2, 1}));
  EXPECT_EQ(q.running(), 1u);  // a started task is never given back
}

TEST(LocalQueue, TimeoutSendsTermThenKillAfterGrace) {
  LocalQueue q(cores(1), 5);
  q.push(order(0, 1, 30));
  auto n = q.next();
  q.started(std::move(*n), 100.0);
  EXPECT_TRUE(q.due(129.9).empty());
  auto term = q.due(130.0);
  ASSERT_EQ(term.size(), 1u);
  EXPECT_EQ(term[0].second, KillStep::terminate);
  EXPECT_TRUE(q.due(134.9).empty());  // TERM is sent once
  auto kill = q.due(135.0);
  ASSERT_EQ(kill.size(), 1u);
  EXPECT_EQ(kill[0].second, KillStep::kill);
  EXPECT_TRUE(q.due(1000).empty());
  EXPECT_TRUE(q.finished(0).timed_out);
}

TEST(LocalQueue, TaskWithoutTimeoutNeverExpires) {
  LocalQueue q(cores(1), 5);
  q.push(order(0));
  auto n = q.next();
  q.started(std::move(*n), 0);
  EXPECT_TRUE(q.due(1e9).empty());
}

TEST(LocalQueue, TerminateAllThenKillAfterGrace) {
  LocalQueue q(cores(2), 3);
  start_tasks(q, 2);
  EXPECT_EQ(q.terminate_all(10).size(), 2u);
  EXPECT_TRUE(q.due(12.9).empty());
  EXPECT_EQ(q.due(13).size(), 2u);
  EXPECT_FALSE(q.finished(0).timed_out);
}

// A second stop signal: every running task is KILLed at once, each once, whether or not it had its TERM.
TEST(LocalQueue, KillAllNowEndsTheRunningTasksWithoutTheirGraceAndOnce) {
  LocalQueue q(cores(2), 3);
  start_tasks(q, 2);
  ASSERT_TRUE(q.terminate(0, 10, 30));  // TERM'd, its KILL 30 s away
  auto now = q.kill_all_now();
  std::sort(now.begin(), now.end());
  EXPECT_EQ(now, (std::vector<TaskIndex>{0, 1}));
  EXPECT_TRUE(q.kill_all_now().empty());
  EXPECT_TRUE(q.due(1e9).empty());  // nothing more to send: the KILL went
}

TEST(LocalQueue, CancelDropsAQueuedTaskAndEndsARunningOneAfterItsGrace) {
  LocalQueue q(cores(1), 5);
  q.push(order(0));
  q.push(order(1));
  auto a = q.next();
  ASSERT_TRUE(a);
  q.started(std::move(*a), 0);
  EXPECT_TRUE(q.remove_queued(1));
  EXPECT_FALSE(q.remove_queued(1));  // gone
  EXPECT_EQ(q.queued(), 0u);
  EXPECT_FALSE(q.terminate(1, 10, 2));  // not running here
  EXPECT_TRUE(q.terminate(0, 10, 2));   // TERM now (the caller), KILL at 12
  EXPECT_FALSE(q.terminate(0, 10, 2));  // already on its way out
  EXPECT_TRUE(q.due(11).empty());
  const auto due = q.due(12);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].second, KillStep::kill);
  const LocalQueue::Running r = q.finished(0);
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(r.timed_out);
}
