#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/graph.hpp"
#include "core/task_file.hpp"

namespace mpiq::core {
namespace {

TaskTable parse(std::string_view text) {
  return parse_task_file(text, "g.tasks");
}

std::vector<TaskIndex> row_edges(const Csr& csr, TaskIndex row) {
  return {csr.edges.begin() + static_cast<ptrdiff_t>(csr.offsets[row]),
          csr.edges.begin() + static_cast<ptrdiff_t>(csr.offsets[row + 1])};
}

using Rows = std::vector<TaskIndex>;

// a -> {b, c} -> d: rows 0..3.
constexpr std::string_view kDiamond = "echo a\n[# 1 #] echo b\n[# 1 #] echo c\n[# 2, 3 #] echo d\n";

// Three independent tasks, a barrier, then d, e after d, and f.
constexpr std::string_view kBarrierFile =
    "[% cores=4 %] a\n"  // 1
    "[% gpus=2 %] b\n"   // 2
    "c\n"                // 3
    "#MPIQ barrier\n"    // 4
    "d\n"                // 5
    "[# 5 #] e\n"        // 6
    "f\n";               // 7

TEST(Graph, DependantsReverseTheDependencies) {
  const TaskTable t = parse(kDiamond);
  const Csr d = dependants(t);
  ASSERT_EQ(d.offsets.size(), 5u);
  EXPECT_EQ(row_edges(d, 0), (Rows{1, 2}));
  EXPECT_EQ(row_edges(d, 1), (Rows{3}));
  EXPECT_EQ(row_edges(d, 2), (Rows{3}));
  EXPECT_EQ(row_edges(d, 3), (Rows{}));
  EXPECT_EQ(d.edges.size(), t.edge_count());
}

TEST(Graph, TopologicalOrderPutsDependenciesFirst) {
  const TaskTable t = parse("[# 3 #] a\n[# 1 #] b\nc\n");
  EXPECT_EQ(topological_order(t, dependants(t)), (Rows{2, 0, 1}));
}

TEST(Graph, TopologicalOrderLeavesOutRowsOnOrAfterACycle) {
  // The parser refuses cycles, so build one by hand: rows 0 <-> 1, row 2 after row 1, row 3 alone.
  TaskTable t;
  t.id = {1, 2, 3, 4};
  t.flags = {0, 0, 0, 0};
  t.dep_offsets = {0, 1, 2, 3, 3};
  t.deps = {1, 0, 1};
  const Csr d = dependants(t);
  EXPECT_EQ(topological_order(t, d), (Rows{3}));
  EXPECT_EQ(critical_path(t, d), (std::vector<uint32_t>{0, 0, 0, 1}));
}

// A table with the dependencies `deps` (rows), which may form cycles: the parser refuses those.
TaskTable table_with_deps(const std::vector<Rows>& deps) {
  TaskTable t;
  for (size_t r = 0; r < deps.size(); ++r) {
    t.id.push_back(static_cast<TaskId>(r + 1));
    t.flags.push_back(0);
    t.deps.insert(t.deps.end(), deps[r].begin(), deps[r].end());
    if (t.dep_offsets.empty()) t.dep_offsets.push_back(0);
    t.dep_offsets.push_back(t.deps.size());
  }
  return t;
}

TEST(Graph, FindCycleIsEmptyForAnAcyclicGraph) {
  EXPECT_EQ(find_cycle(parse(kDiamond)), Rows{});
  EXPECT_EQ(find_cycle(parse(kBarrierFile)), Rows{});
  EXPECT_EQ(find_cycle(table_with_deps({{}, {0}, {0, 1}})), Rows{});
}

TEST(Graph, FindCycleFollowsTheWaitsStartingFromItsSmallestRow) {
  // 0 waits for nothing; 1 -> 3 -> 2 -> 1 (each waits for the next); 4 waits on the cycle.
  EXPECT_EQ(find_cycle(table_with_deps({{}, {3}, {1}, {0, 2}, {1}})), (Rows{1, 3, 2}));
}

TEST(Graph, FindCycleOfARowOnItsOwn) {
  EXPECT_EQ(find_cycle(table_with_deps({{}, {1}})), (Rows{1}));
}

TEST(Graph, FindCycleLeavesOutTheRowsThatOnlyLeadIntoIt) {
  // Row 0 waits for 1, which is on the cycle 1 <-> 2: the cycle is 1, 2, not 0.
  EXPECT_EQ(find_cycle(table_with_deps({{1}, {2}, {1}})), (Rows{1, 2}));
}

// A 300,000-long cycle is followed without recursion.
TEST(Graph, FindCycleOnALongCycleIsIterative) {
  constexpr TaskIndex kRows = 300000;
  std::vector<Rows> deps(kRows);
  for (TaskIndex r = 0; r < kRows; ++r) deps[r] = {(r + 1) % kRows};
  const Rows cycle = find_cycle(table_with_deps(deps));
  ASSERT_EQ(cycle.size(), kRows);
  EXPECT_EQ(cycle.front(), 0u);
  EXPECT_EQ(cycle[1], 1u);
  EXPECT_EQ(cycle.back(), kRows - 1);
}

TEST(Graph, CriticalPathOnADiamond) {
  const TaskTable t = parse(kDiamond);
  EXPECT_EQ(critical_path(t, dependants(t)), (std::vector<uint32_t>{3, 2, 2, 1}));
}

TEST(Graph, CriticalPathCountsBarriersAsNoTask) {
  const TaskTable t = parse(kBarrierFile);
  // Rows: a b c barrier d e f.
  EXPECT_EQ(critical_path(t, dependants(t)), (std::vector<uint32_t>{3, 3, 3, 2, 2, 1, 1}));
}

TEST(Graph, CriticalPathFollowsForwardDependencies) {
  const TaskTable t = parse("[# 2 #] a\n[# 3 #] b\nc\nd\n");
  EXPECT_EQ(critical_path(t, dependants(t)), (std::vector<uint32_t>{1, 2, 3, 1}));
}

TEST(Graph, SummaryOfAChain) {
  std::string text = "x\n";
  for (int i = 2; i <= 1000; ++i) text += "[# -1 #] x\n";
  const GraphSummary s = summarize(parse(text));
  EXPECT_EQ(s.tasks, 1000u);
  EXPECT_EQ(s.edges, 999u);
  EXPECT_EQ(s.roots, 1u);
  EXPECT_EQ(s.depth, 1000u);
  EXPECT_EQ(s.widest_level, 1u);
  EXPECT_EQ(s.max_cores, 1u);
  EXPECT_EQ(s.max_gpus, 0u);
  EXPECT_EQ(s.barriers, 0u);
}

TEST(Graph, SummaryOfADiamond) {
  const GraphSummary s = summarize(parse(kDiamond));
  EXPECT_EQ(s.tasks, 4u);
  EXPECT_EQ(s.edges, 4u);
  EXPECT_EQ(s.roots, 1u);
  EXPECT_EQ(s.depth, 3u);
  EXPECT_EQ(s.widest_level, 2u);
}

TEST(Graph, SummaryTreatsBarriersAsTransparent) {
  const GraphSummary s = summarize(parse(kBarrierFile));
  EXPECT_EQ(s.tasks, 6u);
  EXPECT_EQ(s.barriers, 1u);
  // a, b, c -> barrier (3); barrier -> d, e, f (3); d -> e (1).
  EXPECT_EQ(s.edges, 7u);
  EXPECT_EQ(s.roots, 3u);
  // Levels: a b c = 1, d f = 2, e = 3.
  EXPECT_EQ(s.depth, 3u);
  EXPECT_EQ(s.widest_level, 3u);
  EXPECT_EQ(s.max_cores, 4u);
  EXPECT_EQ(s.max_gpus, 2u);
}

TEST(Graph, SummaryCountsBarrierToBarrierEdges) {
  const GraphSummary s = summarize(parse("a\n#MPIQ barrier\n#MPIQ barrier\nb\n"));
  EXPECT_EQ(s.tasks, 2u);
  EXPECT_EQ(s.barriers, 2u);
  EXPECT_EQ(s.edges, 3u);
  EXPECT_EQ(s.depth, 2u);
  EXPECT_EQ(s.roots, 1u);
}

// Everything is iterative: a 300,000-deep chain (forward, so the parser's cycle search runs too) would
// overflow the stack of a recursive walk.
TEST(Graph, DeepChainNeedsNoRecursion) {
  constexpr uint32_t kLines = 300000;
  std::string text;
  for (uint32_t i = 1; i < kLines; ++i) text += "[# " + std::to_string(i + 1) + " #] x\n";
  const TaskTable t = parse(text + "x\n");
  const std::vector<uint32_t> path = critical_path(t, dependants(t));
  EXPECT_EQ(path.front(), 1u);
  EXPECT_EQ(path.back(), kLines);
  const GraphSummary s = summarize(t);
  EXPECT_EQ(s.depth, kLines);
  EXPECT_EQ(s.roots, 1u);
}

}  // namespace
}  // namespace mpiq::core
