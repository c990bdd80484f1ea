// The ready queue gives the same order as a binary heap, whatever order entries arrive in.
#include <gtest/gtest.h>

#include <queue>
#include <random>

#include "core/ready_queue.hpp"

namespace {
struct E {
  int key;
  int id;
  bool operator<(const E& o) const { return key != o.key ? key < o.key : id > o.id; }
};

// Pushes and pops in the same pattern on both queues; every top must agree.
void same_as_heap(const std::vector<E>& input, int pops_every) {
  mpiq::core::ReadyQueue<E> q;
  std::priority_queue<E> h;
  int n = 0;
  for (const E& e : input) {
    q.push(e);
    h.push(e);
    ASSERT_EQ(q.size(), h.size());
    if (pops_every > 0 && ++n % pops_every == 0) {
      ASSERT_EQ(q.top().id, h.top().id);
      q.pop();
      h.pop();
    }
  }
  while (!h.empty()) {
    ASSERT_FALSE(q.empty());
    ASSERT_EQ(q.top().id, h.top().id);
    q.pop();
    h.pop();
  }
  EXPECT_TRUE(q.empty());
}
}  // namespace

TEST(ReadyQueue, InOrderArrivalsComeOutInOrder) {
  std::vector<E> in;
  for (int i = 0; i < 1000; ++i) in.push_back({0, i});
  same_as_heap(in, 0);
  same_as_heap(in, 3);
}

TEST(ReadyQueue, MoreUrgentArrivalsOvertakeTheRun) {
  std::vector<E> in;
  for (int i = 0; i < 100; ++i) in.push_back({0, i});
  for (int i = 100; i < 150; ++i) in.push_back({5, i});  // higher priority, later
  for (int i = 150; i < 200; ++i) in.push_back({0, 199 - i + 150});  // file order reversed
  same_as_heap(in, 0);
  same_as_heap(in, 7);
}

TEST(ReadyQueue, RandomArrivalsMatchAHeap) {
  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    std::vector<E> in;
    for (int i = 0; i < 500; ++i) in.push_back({static_cast<int>(rng() % 4), static_cast<int>(rng() % 1000)});
    same_as_heap(in, static_cast<int>(round % 5));
  }
}
