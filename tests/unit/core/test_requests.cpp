// A request no worker can meet (core/requests.hpp, docs/design.md §11).
#include <gtest/gtest.h>

#include <vector>

#include "core/requests.hpp"
#include "core/task_file.hpp"

namespace mpiq::core {
namespace {

using Workers = std::vector<WorkerCapacity>;

TEST(Requests, EveryTaskThatFitsSomeWorkerPasses) {
  const TaskTable t = parse_task_file("[% cores=4 %] a\n[% gpus=2 cores=1 %] b\n#MPIQ barrier\nc\n", "t");
  EXPECT_FALSE(find_unmet_request(t, Workers{{4, 0}, {1, 2}}));
}

TEST(Requests, GpusOnANodeWithoutAnySayNoneFound) {
  const TaskTable t = parse_task_file("a\n[% cores=8 gpus=1 %] b\n", "t");
  const auto u = find_unmet_request(t, Workers{{2, 0}});
  ASSERT_TRUE(u);
  EXPECT_EQ(t.id[u->row], 2u);
  EXPECT_EQ(u->setting, "gpus");
  EXPECT_EQ(u->message, "asks for 1 GPU, but no worker has a GPU: none found on this node");
}

TEST(Requests, TooManyGpusNamesTheMostAWorkerHas) {
  const TaskTable t = parse_task_file("[% gpus=3 %] b\n", "t");
  EXPECT_EQ(find_unmet_request(t, Workers{{4, 2}, {4, 1}})->message,
            "asks for 3 GPUs, but the worker with the most has 2 (see --worker-gpus, or run fewer ranks per "
            "node)");
}

TEST(Requests, TooManyCoresNamesTheLargestWorker) {
  const TaskTable t = parse_task_file("[% repeat=3 cores=9 %] b\n", "t");
  const auto u = find_unmet_request(t, Workers{{8, 0}, {4, 0}});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->setting, "cores");
  EXPECT_EQ(
      u->message,
      "asks for 9 cores, but the largest worker has 8 (see --worker-cores, or run fewer ranks per node)");
}

TEST(Requests, CoresAndGpusThatNoSingleWorkerHasTogether) {
  const TaskTable t = parse_task_file("[% cores=8 gpus=1 %] b\n", "t");
  const auto u = find_unmet_request(t, Workers{{8, 0}, {2, 1}});
  ASSERT_TRUE(u);
  EXPECT_NE(u->message.find("asks for 8 cores and 1 GPU, but no worker has both"), std::string::npos)
      << u->message;
}

TEST(Requests, NoWorkersMeetsNothing) {
  const TaskTable t = parse_task_file("a\n", "t");
  EXPECT_TRUE(find_unmet_request(t, Workers{}));
}

TEST(Requests, TheColumnIsTheSettingsOnTheLine) {
  EXPECT_EQ(setting_column("[# 1 #] [% cores=8 gpus=1 %] x", "gpus"), 20u);
  EXPECT_EQ(setting_column("[% cores=8 gpus=1 %] x", "cores"), 4u);
  // Not set on the line (a default), or only in the command: column 1.
  EXPECT_EQ(setting_column("./train gpus=1", "gpus"), 1u);
  EXPECT_EQ(setting_column("[% xgpus=1 %] x", "gpus"), 1u);
}

TEST(Requests, MemoryAboveEveryNodesBudgetIsRefusedAtItsSetting) {
  const TaskTable t = parse_task_file("[% mem=14G %] a\nb\n[% cores=1 mem=30G %] c\n", "t");
  const auto u = find_unmet_request(t, Workers{{2, 0, 24u << 20}, {2, 0, 24u << 20}});
  ASSERT_TRUE(u);
  EXPECT_EQ(t.id[u->row], 3u);
  EXPECT_EQ(u->setting, "mem");
  EXPECT_EQ(u->message.substr(0, 70),
            "asks for 30G of memory, but the node with the most gives its tasks 24G");
  EXPECT_EQ(setting_column("[% cores=1 mem=30G %] c", u->setting), 12u);
  EXPECT_FALSE(find_unmet_request(t, Workers{{2, 0, 24u << 20}, {2, 0, 32u << 20}}))
      << "another node has 32G";
  EXPECT_FALSE(find_unmet_request(t, Workers{{2, 0, 0}})) << "a budget that is unknown limits nothing";
}

}  // namespace
}  // namespace mpiq::core
