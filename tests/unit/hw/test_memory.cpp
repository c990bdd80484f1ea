// A node's memory budget for mem= (hw/memory.hpp): Slurm's allocation and the cgroup limit, read from a
// given environment and a fake filesystem root.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "hw/memory.hpp"
#include "support/temp_dir.hpp"

namespace mpiq::hw {
namespace {

using Env = std::map<std::string, std::string>;

EnvLookup lookup(const Env& env) {
  return [&env](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
}

std::optional<std::string> read(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST(NodeMemory, MeminfoTotal) {
  EXPECT_EQ(meminfo_total_kb("MemTotal:       24683584 kB\nMemFree:  1 kB\n"), 24683584u);
  EXPECT_EQ(meminfo_total_kb("MemFree:  1 kB\n"), std::nullopt);
}

TEST(NodeMemory, SlurmPerNodeThenPerCpuTimesTheNodesCpus) {
  const Env none;
  EXPECT_EQ(slurm_memory(lookup(none)), std::nullopt);
  const Env per_node{{"SLURM_MEM_PER_NODE", "6000"}, {"SLURM_MEM_PER_CPU", "1"}, {"SLURM_CPUS_ON_NODE", "2"}};
  EXPECT_EQ(slurm_memory(lookup(per_node))->kb, 6000u * 1024);
  const Env per_cpu{{"SLURM_MEM_PER_CPU", "1500"}, {"SLURM_CPUS_ON_NODE", "4"}};
  EXPECT_EQ(slurm_memory(lookup(per_cpu))->kb, 6000u * 1024);
  EXPECT_NE(slurm_memory(lookup(per_cpu))->source.find("SLURM_MEM_PER_CPU=1500"), std::string::npos);
  const Env all{{"SLURM_MEM_PER_NODE", "0"}};
  EXPECT_EQ(slurm_memory(lookup(all)), std::nullopt) << "--mem=0 is all of the node";
}

TEST(NodeMemory, CgroupV2TakesTheTightestLevel) {
  test::TempDir dir;
  const std::filesystem::path root = dir.path();
  write(root / "proc/self/cgroup", "0::/job/step\n");
  write(root / "sys/fs/cgroup/job/step/memory.max", "max\n");
  write(root / "sys/fs/cgroup/job/memory.max", "8589934592\n");
  write(root / "sys/fs/cgroup/memory.max", "17179869184\n");
  const auto m = cgroup_memory(root.string(), read);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kb, 8u << 20);
  EXPECT_EQ(m->source, "cgroup (/sys/fs/cgroup/job/memory.max)");
}

TEST(NodeMemory, CgroupV1MemoryControllerAndItsUnlimitedValue) {
  test::TempDir dir;
  const std::filesystem::path root = dir.path();
  write(root / "proc/self/cgroup", "5:cpu,cpuacct:/x\n4:memory:/slurm/uid_0/job_7\n0::/\n");
  write(root / "sys/fs/cgroup/memory/slurm/uid_0/job_7/memory.limit_in_bytes", "4294967296\n");
  write(root / "sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
  EXPECT_EQ(cgroup_memory(root.string(), read)->kb, 4u << 20);
  // In a container the cgroup's own path may not exist under the mount: its root is the limit.
  write(root / "proc/self/cgroup", "4:memory:/elsewhere/abc\n");
  EXPECT_EQ(cgroup_memory(root.string(), read)->kb, 9223372036854771712u / 1024);
}

TEST(NodeMemory, TheLeastOfNodeSlurmAndCgroup) {
  test::TempDir dir;
  const std::filesystem::path root = dir.path();
  write(root / "proc/self/cgroup", "0::/\n");
  write(root / "sys/fs/cgroup/memory.max", "10737418240\n");  // 10 GiB
  const Env slurm{{"SLURM_MEM_PER_NODE", "12288"}};           // 12 GiB
  const Env none;
  EXPECT_EQ(node_memory(24u << 20, lookup(slurm), root.string(), read).kb, 10u << 20);
  EXPECT_EQ(node_memory(8u << 20, lookup(slurm), root.string(), read).source, "the node's memory");
  write(root / "sys/fs/cgroup/memory.max", "max\n");
  const NodeMemory m = node_memory(24u << 20, lookup(slurm), root.string(), read);
  EXPECT_EQ(m.kb, 12u << 20);
  EXPECT_EQ(m.source, "Slurm (SLURM_MEM_PER_NODE=12288)");
  EXPECT_EQ(node_memory(24u << 20, lookup(none), (root / "nothing").string(), read).kb, 24u << 20);
}

}  // namespace
}  // namespace mpiq::hw
