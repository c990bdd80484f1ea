#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "core/resource_pool.hpp"
#include "mpiq/error.hpp"

namespace mpiq::core {
namespace {

/// `numa_cores[i]` cores on NUMA node i (one PU each, numbered in order) and `numa_gpus[i]` GPUs there.
WorkerShare make_share(const std::vector<int>& numa_cores, const std::vector<int>& numa_gpus) {
  WorkerShare share;
  int pu = 0;
  for (size_t n = 0; n < numa_cores.size(); ++n)
    for (int c = 0; c < numa_cores[n]; ++c) share.cores.push_back({{pu++}, static_cast<int>(n)});
  int index = 0;
  for (size_t n = 0; n < numa_gpus.size(); ++n)
    for (int g = 0; g < numa_gpus[n]; ++g) {
      GpuSlot slot;
      slot.index = index;
      slot.vendor = "nvidia";
      slot.visible_id = std::to_string(index++);
      slot.numa = static_cast<int>(n);
      share.gpus.push_back(slot);
    }
  return share;
}

std::set<int> core_numas(const ResourcePool& pool, const Allocation& a) {
  std::set<int> out;
  for (uint32_t c : a.cores) out.insert(pool.share().cores[c].numa);
  return out;
}

std::set<int> gpu_numas(const ResourcePool& pool, const Allocation& a) {
  std::set<int> out;
  for (uint32_t g : a.gpus) out.insert(pool.share().gpus[g].numa);
  return out;
}

bool contiguous(const std::vector<uint32_t>& v) {
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] != v[i - 1] + 1) return false;
  return true;
}

TEST(ResourcePool, StartsAllFree) {
  const ResourcePool pool(make_share({4, 4}, {2, 2}));
  EXPECT_EQ(pool.free_cores(), 8u);
  EXPECT_EQ(pool.free_gpus(), 4u);
  EXPECT_EQ(pool.total_cores(), 8u);
  EXPECT_EQ(pool.total_gpus(), 4u);
}

TEST(ResourcePool, GpuTaskGetsCoresOnItsGpusNumaNode) {
  ResourcePool pool(make_share({4, 4}, {2, 2}));
  const auto a = pool.allocate(2, 1);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->gpus.size(), 1u);
  ASSERT_EQ(a->cores.size(), 2u);
  EXPECT_EQ(core_numas(pool, *a), gpu_numas(pool, *a));
  EXPECT_TRUE(contiguous(a->cores));
}

TEST(ResourcePool, MultiGpuTaskStaysOnOneNumaNode) {
  ResourcePool pool(make_share({4, 4}, {2, 2}));
  const auto a = pool.allocate(4, 2);
  ASSERT_TRUE(a);
  EXPECT_EQ(gpu_numas(pool, *a).size(), 1u);
  EXPECT_EQ(core_numas(pool, *a), gpu_numas(pool, *a));
}

TEST(ResourcePool, PrefersTheNumaNodeThatFitsTheGpuRequestTightly) {
  ResourcePool pool(make_share({4, 4}, {2, 2}));
  const auto first = pool.allocate(1, 1);  // takes one GPU of some node
  ASSERT_TRUE(first);
  const int used = *gpu_numas(pool, *first).begin();
  // One GPU task more goes to the node with one GPU left, keeping the other node's pair whole.
  const auto second = pool.allocate(1, 1);
  ASSERT_TRUE(second);
  EXPECT_EQ(*gpu_numas(pool, *second).begin(), used);
  const auto pair = pool.allocate(2, 2);
  ASSERT_TRUE(pair);
  EXPECT_EQ(gpu_numas(pool, *pair).size(), 1u);
}

TEST(ResourcePool, GpusSpanNumaNodesOnlyWhenNoNodeHasEnough) {
  ResourcePool pool(make_share({4, 4}, {2, 2}));
  ASSERT_TRUE(pool.allocate(1, 1));
  const auto a = pool.allocate(3, 3);
  ASSERT_TRUE(a);
  EXPECT_EQ(gpu_numas(pool, *a).size(), 2u);
  // Cores first on the node that gave two of the GPUs.
  std::map<int, int> gpus_per_numa;
  for (uint32_t g : a->gpus) ++gpus_per_numa[pool.share().gpus[g].numa];
  const int main_numa =
      gpus_per_numa.begin()->second == 2 ? gpus_per_numa.begin()->first : gpus_per_numa.rbegin()->first;
  EXPECT_EQ(core_numas(pool, *a), std::set<int>{main_numa});
}

TEST(ResourcePool, GpuTaskOverflowsToTheNearestNumaNode) {
  // Three NUMA nodes, the GPU on node 0; node 0 has 2 cores, so a 4-core task needs the nearest others.
  ResourcePool pool(make_share({2, 2, 2}, {1, 0, 0}));
  const auto a = pool.allocate(4, 1);
  ASSERT_TRUE(a);
  EXPECT_EQ(core_numas(pool, *a), (std::set<int>{0, 1}));
}

TEST(ResourcePool, CpuOnlyTasksAvoidNumaNodesWithFreeGpus) {
  ResourcePool pool(make_share({4, 4, 4}, {2, 2, 0}));
  const auto a = pool.allocate(2, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(core_numas(pool, *a), std::set<int>{2});
  EXPECT_TRUE(contiguous(a->cores));
}

TEST(ResourcePool, CpuOnlyTasksUseNodesWhoseGpusAreBusy) {
  ResourcePool pool(make_share({4, 4}, {2, 2}));
  ASSERT_TRUE(pool.allocate(1, 2));  // both GPUs of one node, one of its cores
  const auto busy_numa = 0;
  // The 2-GPU task went to node 0 (tie broken by id); a CPU task now prefers node 0, whose GPUs are busy.
  const auto a = pool.allocate(3, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(core_numas(pool, *a), std::set<int>{busy_numa});
}

TEST(ResourcePool, CpuOnlyTaskStaysOnOneNodeWhenOneHasRoom) {
  ResourcePool pool(make_share({4, 4}, {}));
  ASSERT_TRUE(pool.allocate(3, 0));
  const auto a = pool.allocate(3, 0);  // node 0 has 1 free, node 1 has 4
  ASSERT_TRUE(a);
  EXPECT_EQ(core_numas(pool, *a).size(), 1u);
  EXPECT_TRUE(contiguous(a->cores));
}

TEST(ResourcePool, PacksIntoTheShortestFreeRun) {
  ResourcePool pool(make_share({8}, {}));
  auto a = pool.allocate(2, 0);  // 0-1
  auto b = pool.allocate(1, 0);  // 2
  auto c = pool.allocate(2, 0);  // 3-4
  ASSERT_TRUE(a && b && c);
  pool.release(*b);  // free: 2 and 5-7
  const auto d = pool.allocate(1, 0);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->cores, std::vector<uint32_t>{2});  // the hole, not the big run
  const auto e = pool.allocate(3, 0);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->cores, (std::vector<uint32_t>{5, 6, 7}));
}

TEST(ResourcePool, MixedRequestsNeverOverlapAndFillTheWorker) {
  ResourcePool pool(make_share({6, 6}, {2, 2}));
  std::vector<Allocation> held;
  for (const auto& [c, g] :
       std::vector<std::pair<uint32_t, uint32_t>>{{2, 1}, {4, 0}, {3, 2}, {1, 1}, {2, 0}}) {
    const auto a = pool.allocate(c, g);
    ASSERT_TRUE(a) << c << " cores " << g << " gpus";
    EXPECT_EQ(a->cores.size(), c);
    EXPECT_EQ(a->gpus.size(), g);
    held.push_back(*a);
  }
  std::set<uint32_t> cores, gpus;
  for (const auto& a : held) {
    for (uint32_t c : a.cores) EXPECT_TRUE(cores.insert(c).second) << "core " << c << " given twice";
    for (uint32_t g : a.gpus) EXPECT_TRUE(gpus.insert(g).second) << "GPU " << g << " given twice";
  }
  EXPECT_EQ(pool.free_cores(), 0u);
  EXPECT_EQ(pool.free_gpus(), 0u);
  EXPECT_FALSE(pool.allocate(1, 0));
  pool.release(held[1]);
  EXPECT_EQ(pool.free_cores(), 4u);
  EXPECT_TRUE(pool.allocate(4, 0));
}

TEST(ResourcePool, RequestThatDoesNotFitNowTakesNothing) {
  ResourcePool pool(make_share({4, 4}, {2, 2}));
  ASSERT_TRUE(pool.allocate(6, 0));
  EXPECT_FALSE(pool.allocate(3, 0));
  EXPECT_FALSE(pool.allocate(1, 5));
  EXPECT_EQ(pool.free_cores(), 2u);
  EXPECT_EQ(pool.free_gpus(), 4u);
  EXPECT_TRUE(pool.fits_at_all(3, 0));
}

TEST(ResourcePool, ImpossibleRequestIsNeverSatisfied) {
  ResourcePool pool(make_share({4, 4}, {2, 2}));
  EXPECT_FALSE(pool.fits_at_all(9, 0));
  EXPECT_FALSE(pool.fits_at_all(1, 5));
  EXPECT_TRUE(pool.fits_at_all(8, 4));
  EXPECT_FALSE(pool.allocate(9, 0));
  EXPECT_FALSE(pool.allocate(1, 5));
  EXPECT_EQ(pool.free_cores(), 8u);
  const ResourcePool cpu_only(make_share({4}, {}));
  EXPECT_FALSE(cpu_only.fits_at_all(1, 1));
}

TEST(ResourcePool, ReleaseOfWhatIsNotHeldThrowsAndChangesNothing) {
  ResourcePool pool(make_share({4}, {1}));
  const auto a = pool.allocate(2, 1);
  ASSERT_TRUE(a);
  pool.release(*a);
  EXPECT_THROW(pool.release(*a), Error);  // double release
  EXPECT_THROW(pool.release(Allocation{{7}, {}}), Error);
  const auto b = pool.allocate(1, 0);
  ASSERT_TRUE(b);
  Allocation mixed{{b->cores[0], 3}, {}};  // one held, one free
  EXPECT_THROW(pool.release(mixed), Error);
  EXPECT_EQ(pool.free_cores(), 3u);
  Allocation twice{{b->cores[0], b->cores[0]}, {}};
  EXPECT_THROW(pool.release(twice), Error);
  EXPECT_EQ(pool.free_cores(), 3u);
}

TEST(ResourcePool, ZeroCoreGpuOnlyRequest) {
  ResourcePool pool(make_share({2}, {1}));
  const auto a = pool.allocate(0, 1);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->cores.empty());
  EXPECT_EQ(a->gpus.size(), 1u);
}

TEST(ResourcePool, ReportsThePusAndGpusOfAnAllocation) {
  WorkerShare share;
  share.cores = {{{0, 8}, 0}, {{1, 9}, 0}, {{2, 10}, 1}};
  GpuSlot g;
  g.index = 5;
  g.visible_id = "5";
  g.numa = 1;
  share.gpus = {g};
  ResourcePool pool(share);
  const auto a = pool.allocate(1, 1);
  ASSERT_TRUE(a);
  EXPECT_EQ(pool.pus_of(*a), (std::vector<int>{2, 10}));
  ASSERT_EQ(pool.gpus_of(*a).size(), 1u);
  EXPECT_EQ(pool.gpus_of(*a)[0].index, 5);
}

TEST(ResourcePool, UnknownNumaStillAllocates) {
  WorkerShare share;
  share.cores = {{{0}, -1}, {{1}, -1}};
  GpuSlot g;
  g.numa = -1;
  share.gpus = {g};
  ResourcePool pool(share);
  EXPECT_TRUE(pool.allocate(2, 1));
}

TEST(ResourcePool, RandomAllocateReleaseKeepsTheBooksStraight) {
  std::mt19937 rng(42);
  ResourcePool pool(make_share({8, 8, 8, 8}, {2, 2, 2, 2}));
  std::vector<Allocation> held;
  std::vector<int> core_owner(32, -1), gpu_owner(8, -1);
  for (int step = 0; step < 5000; ++step) {
    if (!held.empty() && rng() % 3 == 0) {
      const size_t k = rng() % held.size();
      for (uint32_t c : held[k].cores) core_owner[c] = -1;
      for (uint32_t g : held[k].gpus) gpu_owner[g] = -1;
      pool.release(held[k]);
      held.erase(held.begin() + static_cast<long>(k));
    } else {
      const uint32_t cores = 1 + rng() % 6, gpus = rng() % 4 == 0 ? 1 + rng() % 3 : 0;
      const uint32_t free_c = pool.free_cores(), free_g = pool.free_gpus();
      const auto a = pool.allocate(cores, gpus);
      EXPECT_EQ(a.has_value(), cores <= free_c && gpus <= free_g);
      if (!a) continue;
      for (uint32_t c : a->cores) {
        ASSERT_EQ(core_owner[c], -1);
        core_owner[c] = step;
      }
      for (uint32_t g : a->gpus) {
        ASSERT_EQ(gpu_owner[g], -1);
        gpu_owner[g] = step;
      }
      held.push_back(*a);
    }
    EXPECT_EQ(pool.free_cores(), static_cast<uint32_t>(std::count(core_owner.begin(), core_owner.end(), -1)));
    EXPECT_EQ(pool.free_gpus(), static_cast<uint32_t>(std::count(gpu_owner.begin(), gpu_owner.end(), -1)));
  }
}

}  // namespace
}  // namespace mpiq::core
