#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "hw/binding.hpp"
#include "hw/cpu_list.hpp"
#include "hw/hwloc_error.hpp"
#include "hw/shares.hpp"
#include "mpiq/error.hpp"
#include "shared_topologies.hpp"

namespace mpiq::hw {
namespace {

using testing::kTopologies;

Topology xml(const std::string& name) {
  return Topology::from_xml(kTopologies + "/" + name, {});
}

std::vector<std::string> xml_files() {
  std::vector<std::string> files;
  if (!std::filesystem::is_directory(kTopologies)) return files;
  for (const auto& e : std::filesystem::directory_iterator(kTopologies))
    if (e.path().extension() == ".xml") files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  return files;
}

const std::vector<std::string> kSynthetic = {
    "pack:2 numa:1 core:4 pu:2", "pack:1 numa:4 core:2 pu:1",      "numa:2 core:3 pu:2",
    "pack:2 core:6 pu:1",        "pack:4 numa:2 l3:1 core:4 pu:2", "pack:1 core:1 pu:1"};

std::set<int> numas_of(const core::WorkerShare& s) {
  std::set<int> out;
  for (const auto& c : s.cores) out.insert(c.numa);
  return out;
}

/// Every property split_node promises, checked for one topology and rank count.
void expect_valid_split(const Topology& t, int nranks) {
  SCOPED_TRACE(t.source() + ", " + std::to_string(nranks) + " ranks");
  const auto shares = split_node(t, nranks);
  ASSERT_EQ(shares.size(), static_cast<size_t>(nranks));

  // Disjoint, covering, contiguous in topology order.
  std::vector<int> flat;
  for (const auto& s : shares)
    for (const auto& c : s.cores) flat.insert(flat.end(), c.pus.begin(), c.pus.end());
  std::vector<int> topo_order;
  for (const Core& c : t.cores()) topo_order.insert(topo_order.end(), c.pus.begin(), c.pus.end());
  EXPECT_EQ(flat, topo_order) << "shares are not the cores in topology order";
  std::vector<int> sorted = flat;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end()) << "a PU is in two shares";
  EXPECT_EQ(sorted, t.allowed_pus());

  // Equal: counts (of cores, or of PUs when split by PU) differ by at most one among ranks with any.
  size_t lo = SIZE_MAX, hi = 0, with_cores = 0;
  for (const auto& s : shares) {
    if (s.cores.empty()) continue;
    ++with_cores;
    lo = std::min(lo, s.cores.size());
    hi = std::max(hi, s.cores.size());
  }
  EXPECT_LE(hi - lo, 1u);
  EXPECT_EQ(with_cores, std::min<size_t>(nranks, t.pu_count()));
  for (const auto& s : shares)
    for (const auto& c : s.cores) EXPECT_FALSE(c.pus.empty());

  // GPUs: each exactly once, to a rank with cores.
  std::map<int, size_t> owner;
  for (size_t r = 0; r < shares.size(); ++r) {
    if (shares[r].cores.empty()) {
      EXPECT_TRUE(shares[r].gpus.empty()) << "rank " << r << " has GPUs but no cores";
    }
    for (const auto& g : shares[r].gpus) EXPECT_TRUE(owner.emplace(g.index, r).second);
  }
  EXPECT_EQ(owner.size(), t.gpus().size());
  if (owner.size() != t.gpus().size()) return;

  // GPU-local: a GPU goes to a rank with cores on its NUMA node whenever a rank has cores there, and
  // among those ranks the counts are balanced: no GPU could move to an equally close rank holding
  // two fewer.
  for (const Gpu& g : t.gpus()) {
    const auto near = [&](const core::WorkerShare& s) {
      return g.slot.numa < 0 || numas_of(s).count(g.slot.numa) > 0;
    };
    const auto& mine = shares[owner[g.slot.index]];
    const bool any_near =
        std::any_of(shares.begin(), shares.end(), [&](const auto& s) { return !s.cores.empty() && near(s); });
    if (any_near) {
      EXPECT_TRUE(near(mine)) << "GPU " << g.slot.index << " is off its NUMA node " << g.slot.numa;
    }
    for (size_t r = 0; r < shares.size(); ++r) {
      if (shares[r].cores.empty() || !near(shares[r]) || !near(mine)) continue;
      EXPECT_LE(mine.gpus.size(), shares[r].gpus.size() + 1)
          << "GPU " << g.slot.index << " could go to rank " << r << ", which holds fewer";
    }
  }
}

TEST(SplitNode, SharesOfEveryXmlAreEqualDisjointCoveringAndGpuLocal) {
  SKIP_WITHOUT_TOPOLOGIES();
  for (const std::string& file : xml_files()) {
    const Topology t = xml(file);
    for (int n : {1, 2, 3, 4, 7}) expect_valid_split(t, n);
  }
}

TEST(SplitNode, SharesOfSyntheticNodesAreEqualDisjointAndCovering) {
  for (const std::string& d : kSynthetic) {
    const Topology t = Topology::from_synthetic(d, {});
    for (int n : {1, 2, 3, 4, 7, 16, 100}) expect_valid_split(t, n);
  }
}

TEST(SplitNode, OneRankGetsTheWholeNode) {
  SKIP_WITHOUT_TOPOLOGIES();
  const Topology t = xml("corona-2pkg-8xMI50.xml");
  const auto shares = split_node(t, 1);
  EXPECT_EQ(shares[0].cores.size(), 48u);
  EXPECT_EQ(shares[0].gpus.size(), 8u);
}

TEST(SplitNode, OneRankPerNumaNodeGetsThatNodesCoresAndGpus) {
  SKIP_WITHOUT_TOPOLOGIES();
  for (const char* file : {"power8-2pkg-4xP100.xml", "corona-2pkg-8xMI50.xml", "dgx2-trimmed-16xV100.xml"}) {
    SCOPED_TRACE(file);
    const Topology t = xml(file);
    const auto shares = split_node(t, 2);
    for (int r = 0; r < 2; ++r) {
      EXPECT_EQ(numas_of(shares[r]), std::set<int>{r});
      EXPECT_EQ(shares[r].gpus.size(), t.gpus().size() / 2);
      for (const auto& g : shares[r].gpus) EXPECT_EQ(g.numa, r);
    }
  }
}

TEST(SplitNode, FourRanksOnTwoNumaNodesStayWithinOneNodeEach) {
  SKIP_WITHOUT_TOPOLOGIES();
  const Topology t = xml("corona-2pkg-8xMI50.xml");
  const auto shares = split_node(t, 4);
  for (const auto& s : shares) {
    EXPECT_EQ(numas_of(s).size(), 1u);
    EXPECT_EQ(s.cores.size(), 12u);
    ASSERT_EQ(s.gpus.size(), 2u);
    for (const auto& g : s.gpus) EXPECT_EQ(g.numa, *numas_of(s).begin());
  }
}

TEST(SplitNode, CutsAtNumaBoundariesWhenSizesAllow) {
  // 6 cores on 2 NUMA nodes among 4 ranks: sizes 2,1,2,1 keep every rank on one node, 2,2,1,1 would not.
  const Topology t = Topology::from_synthetic("pack:2 numa:1 core:3 pu:1", {});
  const auto shares = split_node(t, 4);
  for (const auto& s : shares) EXPECT_EQ(numas_of(s).size(), 1u) << cpu_list(share_pus(s));
}

TEST(SplitNode, GivesTheLongerRunsToLowerRanksOnTies) {
  const Topology t = Topology::from_synthetic("pack:1 core:5 pu:1", {});
  const auto shares = split_node(t, 2);
  EXPECT_EQ(shares[0].cores.size(), 3u);
  EXPECT_EQ(shares[1].cores.size(), 2u);
}

TEST(SplitNode, MoreRanksThanCoresSplitsByPu) {
  const Topology t = Topology::from_synthetic("pack:1 core:2 pu:2", {});
  const auto shares = split_node(t, 4);
  for (size_t r = 0; r < 4; ++r) EXPECT_EQ(share_pus(shares[r]), std::vector<int>{static_cast<int>(r)});
}

TEST(SplitNode, RanksBeyondThePusGetEmptyShares) {
  SKIP_WITHOUT_TOPOLOGIES();
  const Topology t = xml("dgx2-trimmed-16xV100.xml");
  const auto shares = split_node(t, 7);
  for (size_t r = 0; r < 4; ++r) {
    EXPECT_EQ(shares[r].cores.size(), 1u);
    EXPECT_EQ(shares[r].gpus.size(), 4u);
  }
  for (size_t r = 4; r < 7; ++r) {
    EXPECT_TRUE(shares[r].cores.empty());
    EXPECT_TRUE(shares[r].gpus.empty());
  }
}

TEST(SplitNode, GpusGoToTheRanksOnTheirNumaNode) {
  SKIP_WITHOUT_TOPOLOGIES();
  // em64t: both GPUs hang off NUMA node 1; with 2 ranks they both belong to rank 1.
  const Topology t = xml("em64t-2pkg-K40m-R9.xml");
  const auto two = split_node(t, 2);
  EXPECT_TRUE(two[0].gpus.empty());
  EXPECT_EQ(two[1].gpus.size(), 2u);
  // With 4 ranks, counts must be equal-ish (0 or 1): ranks 2 and 3, the NUMA 1 ranks, get them.
  const auto four = split_node(t, 4);
  EXPECT_TRUE(four[0].gpus.empty());
  EXPECT_TRUE(four[1].gpus.empty());
  ASSERT_EQ(four[2].gpus.size(), 1u);
  ASSERT_EQ(four[3].gpus.size(), 1u);
  EXPECT_EQ(four[2].gpus[0].index, 0);
  EXPECT_EQ(four[3].gpus[0].index, 1);
}

TEST(SplitNode, RejectsFewerThanOneRank) {
  const Topology t = Topology::from_synthetic("pack:1 core:2 pu:1", {});
  EXPECT_THROW(split_node(t, 0), InputError);
  EXPECT_THROW(split_node(t, -3), InputError);
}

TEST(SplitNode, GpusOfUnknownLocalityAreSpreadEvenly) {
  GpuVisibilityEnv env;
  env.cuda_visible_devices = "0,1,2,3";
  const Topology t = Topology::from_synthetic("pack:2 core:2 pu:1", env);
  const auto shares = split_node(t, 4);
  for (const auto& s : shares) EXPECT_EQ(s.gpus.size(), 1u);
}

TEST(ShareFromCpuset, OwnsTheCoresInsideTheBinding) {
  const Topology t = Topology::from_synthetic("pack:2 numa:1 core:4 pu:2", {});
  const auto share = share_from_pus(t, {2, 3, 4, 5}, 0, 1);
  ASSERT_EQ(share.cores.size(), 2u);
  EXPECT_EQ(share.cores[0].pus, (std::vector<int>{2, 3}));
  EXPECT_EQ(share.cores[1].pus, (std::vector<int>{4, 5}));
}

TEST(ShareFromCpuset, PartOfACoreKeepsOnlyThePusInside) {
  const Topology t = Topology::from_synthetic("pack:2 numa:1 core:4 pu:2", {});
  const auto share = share_from_pus(t, {3, 4}, 0, 1);
  ASSERT_EQ(share.cores.size(), 2u);
  EXPECT_EQ(share.cores[0].pus, std::vector<int>{3});
  EXPECT_EQ(share.cores[1].pus, std::vector<int>{4});
}

TEST(ShareFromCpuset, AcceptsAnHwlocCpuset) {
  const Topology t = Topology::from_synthetic("pack:2 numa:1 core:4 pu:2", {});
  Bitmap set;
  hwloc_bitmap_set_range(set.get(), 8, 15);
  const auto share = share_from_cpuset(t, set.get(), 0, 1);
  EXPECT_EQ(share.cores.size(), 4u);
  EXPECT_EQ(numas_of(share), std::set<int>{1});
}

TEST(ShareFromCpuset, BindingOutsideTheNodeIsAnError) {
  const Topology t = Topology::from_synthetic("pack:1 core:2 pu:1", {});
  EXPECT_THROW(share_from_pus(t, {64}, 0, 1), Error);
}

TEST(ShareFromCpuset, RankBoundToAPackageGetsThatPackagesGpus) {
  SKIP_WITHOUT_TOPOLOGIES();
  const Topology t = xml("power8-2pkg-4xP100.xml");
  const auto share = share_from_pus(t, t.numa_nodes()[1].pus, 1, 2);
  EXPECT_EQ(share.cores.size(), 4u);
  ASSERT_EQ(share.gpus.size(), 2u);
  EXPECT_EQ(share.gpus[0].index, 2);
  EXPECT_EQ(share.gpus[1].index, 3);
}

TEST(ShareFromCpuset, RanksBoundToCoresSplitTheNearGpusByPosition) {
  SKIP_WITHOUT_TOPOLOGIES();
  // 8 ranks, one per core (mpirun --bind-to core): four share each package's two GPUs.
  const Topology t = xml("power8-2pkg-4xP100.xml");
  std::map<int, int> taken;
  size_t with_gpu = 0;
  for (size_t r = 0; r < t.cores().size(); ++r) {
    const auto share = share_from_pus(t, t.cores()[r].pus, static_cast<int>(r), 8);
    EXPECT_LE(share.gpus.size(), 1u);
    for (const auto& g : share.gpus) {
      EXPECT_TRUE(taken.emplace(g.index, static_cast<int>(r)).second) << "GPU " << g.index << " taken twice";
      EXPECT_EQ(g.numa, t.cores()[r].numa);
      ++with_gpu;
    }
  }
  EXPECT_EQ(with_gpu, 4u);
}

TEST(ShareFromCpuset, RanksBoundToPairsOfCoresEachGetOneGpu) {
  SKIP_WITHOUT_TOPOLOGIES();
  const Topology t = xml("corona-2pkg-8xMI50.xml");
  // 8 ranks of 6 cores each: every rank gets exactly one GPU on its NUMA node, none twice.
  std::set<int> seen;
  for (int r = 0; r < 8; ++r) {
    std::vector<int> pus;
    for (int c = r * 6; c < r * 6 + 6; ++c)
      pus.insert(pus.end(), t.cores()[c].pus.begin(), t.cores()[c].pus.end());
    const auto share = share_from_pus(t, pus, r, 8);
    ASSERT_EQ(share.gpus.size(), 1u) << "rank " << r;
    EXPECT_TRUE(seen.insert(share.gpus[0].index).second);
    EXPECT_EQ(share.gpus[0].numa, t.cores()[r * 6].numa);
  }
}

TEST(ShareFromCpuset, IdenticalBindingsAreToldApartByTheGatheredBindings) {
  SKIP_WITHOUT_TOPOLOGIES();
  // Two ranks per package, each bound to the whole package (mpirun --bind-to package).
  const Topology t = xml("power8-2pkg-4xP100.xml");
  const std::vector<std::vector<int>> bindings = {t.numa_nodes()[0].pus, t.numa_nodes()[0].pus,
                                                  t.numa_nodes()[1].pus, t.numa_nodes()[1].pus};
  std::vector<int> got;
  std::set<int> pus;
  for (int r = 0; r < 4; ++r) {
    const auto share = share_from_pus(t, bindings[r], r, 4, bindings);
    ASSERT_EQ(share.gpus.size(), 1u);
    got.push_back(share.gpus[0].index);
    // Each owns half of its package's cores, not all of them.
    EXPECT_EQ(share.cores.size(), 2u);
    for (int pu : share_pus(share)) EXPECT_TRUE(pus.insert(pu).second) << "PU " << pu << " owned twice";
  }
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(pus.size(), 16u);
}

TEST(ShareFromCpuset, MoreIdenticallyBoundRanksThanCoresSplitByPu) {
  const Topology t = Topology::from_synthetic("pack:1 core:2 pu:2", {});
  const std::vector<int> all = t.allowed_pus();
  const std::vector<std::vector<int>> bindings(5, all);
  std::set<int> pus;
  size_t empty = 0;
  for (int r = 0; r < 5; ++r) {
    const auto share = share_from_pus(t, all, r, 5, bindings);
    if (share.cores.empty()) ++empty;
    for (int pu : share_pus(share)) EXPECT_TRUE(pus.insert(pu).second);
  }
  EXPECT_EQ(pus.size(), 4u);
  EXPECT_EQ(empty, 1u);
}

TEST(ShareFromCpuset, WithoutGatheredBindingsIdenticalRanksEachOwnTheirWholeBinding) {
  SKIP_WITHOUT_TOPOLOGIES();
  const Topology t = xml("power8-2pkg-4xP100.xml");
  const auto share = share_from_pus(t, t.numa_nodes()[0].pus, 1, 4);
  EXPECT_EQ(share.cores.size(), 4u);
}

TEST(ShareFromCpuset, RankFarFromEveryGpuGetsNone) {
  SKIP_WITHOUT_TOPOLOGIES();
  const Topology t = xml("em64t-2pkg-K40m-R9.xml");
  EXPECT_TRUE(share_from_pus(t, t.numa_nodes()[0].pus, 0, 2).gpus.empty());
  EXPECT_EQ(share_from_pus(t, t.numa_nodes()[1].pus, 1, 2).gpus.size(), 2u);
}

TEST(WorkerShare, UnboundRankOfAnXmlNodeGetsItsSplitShare) {
  SKIP_WITHOUT_TOPOLOGIES();
  const Topology t = xml("power8-2pkg-4xP100.xml");
  const auto share = worker_share(t, 1, 2);
  const auto expected = split_node(t, 2)[1];
  EXPECT_EQ(share_pus(share), share_pus(expected));
  ASSERT_EQ(share.gpus.size(), 2u);
  EXPECT_EQ(share.gpus[0].index, 2);
}

TEST(WorkerShare, RejectsALocalRankOutsideTheNode) {
  const Topology t = Topology::from_synthetic("pack:1 core:2 pu:1", {});
  EXPECT_THROW(worker_share(t, 2, 2), Error);
  EXPECT_THROW(worker_share(t, -1, 2), Error);
  EXPECT_THROW(worker_share(t, 0, 0), Error);
}

TEST(WorkerShare, OverridesTrimTheShareKeepingCoresNearTheKeptGpus) {
  SKIP_WITHOUT_TOPOLOGIES();
  const Topology t = xml("power8-2pkg-4xP100.xml");
  ShareOverrides o;
  o.gpus = 1;
  o.cores = 3;
  const auto share = worker_share(t, 0, 1, o);
  ASSERT_EQ(share.gpus.size(), 1u);
  EXPECT_EQ(share.gpus[0].index, 0);
  ASSERT_EQ(share.cores.size(), 3u);
  for (const auto& c : share.cores) EXPECT_EQ(c.numa, 0);
}

TEST(WorkerShare, OverridesLargerThanTheShareAreInputErrors) {
  SKIP_WITHOUT_TOPOLOGIES();
  const Topology t = xml("power8-2pkg-4xP100.xml");
  ShareOverrides too_many_cores;
  too_many_cores.cores = 5;
  EXPECT_THROW(worker_share(t, 0, 2, too_many_cores), InputError);
  ShareOverrides no_cores;
  no_cores.cores = 0;
  EXPECT_THROW(worker_share(t, 0, 2, no_cores), InputError);
  ShareOverrides too_many_gpus;
  too_many_gpus.gpus = 3;
  EXPECT_THROW(worker_share(t, 0, 2, too_many_gpus), InputError);
  ShareOverrides no_gpus;
  no_gpus.gpus = 0;
  EXPECT_TRUE(worker_share(t, 0, 2, no_gpus).gpus.empty());
}

TEST(WorkerShare, BoundThreadOnThisMachineOwnsItsBinding) {
  const Topology t = Topology::from_machine({});
  const std::vector<int> all = this_thread_binding();
  if (t.pu_count() < 2 || all.size() < 2)
    GTEST_SKIP() << "needs at least 2 usable PUs to bind to fewer than all (this machine: " << t.pu_count()
                 << ")";
  const int pu = t.allowed_pus().back();
  std::vector<int> bound;
  core::WorkerShare share;
  {
    ScopedThreadBinding scope({pu}, all);
    bound = current_binding(t);
    share = worker_share(t, 0, 2);
  }
  EXPECT_EQ(bound, std::vector<int>{pu});
  EXPECT_EQ(share_pus(share), std::vector<int>{pu});
  EXPECT_EQ(this_thread_binding(), all);
  // Unbound again (unless the test runner itself bound us): the split share.
  if (all.size() == t.pu_count()) {
    EXPECT_EQ(share_pus(worker_share(t, 0, 1)), t.allowed_pus());
  }
}

}  // namespace
}  // namespace mpiq::hw
