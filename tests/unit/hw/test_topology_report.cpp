#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "hw/topology_report.hpp"
#include "mpiq/error.hpp"
#include "shared_topologies.hpp"

namespace mpiq::hw {
namespace {

using testing::kTopologies;

TEST(TopologyReport, JsonHasTheDocumentedFields) {
  SKIP_WITHOUT_TOPOLOGIES();
  const Topology t = Topology::from_xml(kTopologies + "/power8-2pkg-4xP100.xml", {});
  const auto j = nlohmann::ordered_json::parse(topology_report(t, 2, true));
  EXPECT_EQ(j["packages"], 2);
  EXPECT_EQ(j["numa_nodes"], 2);
  EXPECT_EQ(j["cores"], 8);
  EXPECT_EQ(j["pus"], 16);
  ASSERT_EQ(j["gpus"].size(), 4u);
  const auto& g = j["gpus"][2];
  EXPECT_EQ(g["index"], 2);
  EXPECT_EQ(g["vendor"], "nvidia");
  EXPECT_EQ(g["model"], "Tesla P100-SXM2-16GB");
  EXPECT_EQ(g["pci"], "000a:01:00.0");
  EXPECT_EQ(g["numa"], 1);
  EXPECT_EQ(g["cpus"], "80-81,88-89,96-97,104-105");
  ASSERT_EQ(j["shares"].size(), 2u);
  EXPECT_EQ(j["shares"][0]["rank"], 0);
  EXPECT_EQ(j["shares"][0]["cpus"], "0-1,8-9,16-17,24-25");
  EXPECT_EQ(j["shares"][0]["gpus"], nlohmann::ordered_json::array({0, 1}));
  EXPECT_EQ(j["shares"][1]["gpus"], nlohmann::ordered_json::array({2, 3}));
  EXPECT_TRUE(j["binding"].is_null());
}

TEST(TopologyReport, UnknownNumaIsNull) {
  GpuVisibilityEnv env;
  env.cuda_visible_devices = "0";
  const Topology t = Topology::from_synthetic("pack:2 core:2 pu:1", env);
  const auto j = topology_json(t, 1);
  ASSERT_EQ(j["gpus"].size(), 1u);
  EXPECT_TRUE(j["gpus"][0]["numa"].is_null());
  EXPECT_EQ(j["gpus"][0]["pci"], "");
}

TEST(TopologyReport, TextSummarisesNodeGpusAndShares) {
  SKIP_WITHOUT_TOPOLOGIES();
  const Topology t = Topology::from_xml(kTopologies + "/em64t-2pkg-K40m-R9.xml", {});
  const std::string text = topology_report(t, 2, false);
  EXPECT_NE(text.find("2 packages, 2 NUMA nodes, 16 cores, 32 PUs, 2 GPUs"), std::string::npos) << text;
  EXPECT_NE(text.find("Tesla K40m"), std::string::npos) << text;
  EXPECT_NE(text.find("0000:84:00.1"), std::string::npos) << text;
  EXPECT_NE(text.find("rank 1: 8 cores, cpus 0-7,16-23, GPUs none"), std::string::npos) << text;
  EXPECT_NE(text.find("rank 2: 8 cores, cpus 8-15,24-31, GPUs 0,1"), std::string::npos) << text;
}

TEST(TopologyReport, FewerThanOneRankIsAnInputError) {
  const Topology t = Topology::from_synthetic("pack:1 core:2 pu:1", {});
  EXPECT_THROW(topology_report(t, 0, false), InputError);
  EXPECT_THROW(topology_report(t, 0, true), InputError);
}

}  // namespace
}  // namespace mpiq::hw
