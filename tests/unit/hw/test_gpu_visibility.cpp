#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "hw/gpu_visibility.hpp"
#include "hw/topology.hpp"
#include "mpiq/error.hpp"
#include "shared_topologies.hpp"

namespace mpiq::hw {
namespace {

using testing::kTopologies;

GpuVisibilityEnv cuda(const std::string& v) {
  GpuVisibilityEnv env;
  env.cuda_visible_devices = v;
  return env;
}

std::vector<int> indices(const std::vector<Gpu>& gpus) {
  std::vector<int> out;
  for (const Gpu& g : gpus) out.push_back(g.slot.index);
  return out;
}

std::vector<std::string> visible_ids(const std::vector<Gpu>& gpus) {
  std::vector<std::string> out;
  for (const Gpu& g : gpus) out.push_back(g.slot.visible_id);
  return out;
}

std::vector<Gpu> detected(const std::string& file) {
  return Topology::from_xml(kTopologies + "/" + file, {}).detected_gpus();
}

TEST(DeviceList, ParsesIndicesAndUuids) {
  EXPECT_EQ(parse_device_list("CUDA_VISIBLE_DEVICES", "0,2"), (std::vector<std::string>{"0", "2"}));
  EXPECT_EQ(parse_device_list("CUDA_VISIBLE_DEVICES", " 1 , 03 "), (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(parse_device_list("CUDA_VISIBLE_DEVICES", "GPU-77bf6b9a-6906,MIG-abc/1/0"),
            (std::vector<std::string>{"GPU-77bf6b9a-6906", "MIG-abc/1/0"}));
  EXPECT_TRUE(parse_device_list("CUDA_VISIBLE_DEVICES", "").empty());
  EXPECT_EQ(parse_device_list("SLURM_STEP_GPUS", "0,2-4"), (std::vector<std::string>{"0", "2", "3", "4"}));
}

TEST(DeviceList, NegativeIndexEndsTheListAsCudaReadsIt) {
  EXPECT_TRUE(parse_device_list("CUDA_VISIBLE_DEVICES", "-1").empty());
  EXPECT_EQ(parse_device_list("CUDA_VISIBLE_DEVICES", "0,-1,1"), (std::vector<std::string>{"0"}));
}

TEST(DeviceList, MalformedValueIsAnInputErrorNamingVariableAndValue) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"CUDA_VISIBLE_DEVICES", "0,,x"}, {"CUDA_VISIBLE_DEVICES", "x"},       {"CUDA_VISIBLE_DEVICES", "0,"},
      {"ROCR_VISIBLE_DEVICES", "gpu0"}, {"CUDA_VISIBLE_DEVICES", "GPU-"},    {"SLURM_STEP_GPUS", "a"},
      {"SLURM_STEP_GPUS", "3-1"},       {"SLURM_STEP_GPUS", "GPU-77bf6b9a"}, {"CUDA_VISIBLE_DEVICES", "1.5"},
  };
  for (const auto& [var, value] : bad) {
    try {
      parse_device_list(var, value);
      ADD_FAILURE() << var << "=" << value << " accepted";
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(var), std::string::npos) << what;
      EXPECT_NE(what.find("'" + value + "'"), std::string::npos) << what;
    }
  }
}

TEST(GpuVisibility, NoVariablesKeepEveryGpu) {
  SKIP_WITHOUT_TOPOLOGIES();
  const auto gpus = detected("power8-2pkg-4xP100.xml");
  EXPECT_EQ(indices(restrict_gpus(gpus, {})), (std::vector<int>{0, 1, 2, 3}));
}

TEST(GpuVisibility, CudaVisibleDevicesSelectsNvidiaGpusByIndex) {
  SKIP_WITHOUT_TOPOLOGIES();
  const auto usable = restrict_gpus(detected("power8-2pkg-4xP100.xml"), cuda("3,1"));
  EXPECT_EQ(indices(usable), (std::vector<int>{1, 3}));
  EXPECT_EQ(visible_ids(usable), (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(usable[1].slot.numa, 1);
}

TEST(GpuVisibility, CudaVisibleDevicesSelectsByUuidAndKeepsTheUuidAsId) {
  SKIP_WITHOUT_TOPOLOGIES();
  const auto usable =
      restrict_gpus(detected("power8-2pkg-4xP100.xml"), cuda("GPU-77bf6b9a-6906-5a93-d28b-b77d2c23d1d2"));
  ASSERT_EQ(usable.size(), 1u);
  EXPECT_EQ(usable[0].slot.index, 0);
  EXPECT_EQ(usable[0].slot.visible_id, "GPU-77bf6b9a-6906-5a93-d28b-b77d2c23d1d2");
  EXPECT_EQ(usable[0].slot.numa, 0);
}

TEST(GpuVisibility, UnknownUuidBecomesAGpuOfUnknownLocality) {
  SKIP_WITHOUT_TOPOLOGIES();
  const auto usable = restrict_gpus(detected("power8-2pkg-4xP100.xml"), cuda("MIG-1234-abcd"));
  ASSERT_EQ(usable.size(), 1u);
  EXPECT_EQ(usable[0].slot.vendor, "nvidia");
  EXPECT_EQ(usable[0].slot.visible_id, "MIG-1234-abcd");
  EXPECT_EQ(usable[0].slot.numa, -1);
  EXPECT_TRUE(usable[0].cpus.empty());
  EXPECT_EQ(usable[0].slot.model, "Tesla P100-SXM2-16GB");
}

TEST(GpuVisibility, EmptyOrMinusOneHidesEveryGpuOfThatVendor) {
  SKIP_WITHOUT_TOPOLOGIES();
  EXPECT_TRUE(restrict_gpus(detected("power8-2pkg-4xP100.xml"), cuda("")).empty());
  EXPECT_TRUE(restrict_gpus(detected("power8-2pkg-4xP100.xml"), cuda("-1")).empty());
  // The AMD GPU of the mixed node stays.
  const auto usable = restrict_gpus(detected("em64t-2pkg-K40m-R9.xml"), cuda(""));
  ASSERT_EQ(usable.size(), 1u);
  EXPECT_EQ(usable[0].slot.vendor, "amd");
}

TEST(GpuVisibility, IndexBeyondTheNodesGpusIsAnInputError) {
  SKIP_WITHOUT_TOPOLOGIES();
  try {
    restrict_gpus(detected("power8-2pkg-4xP100.xml"), cuda("0,7"));
    FAIL() << "accepted GPU 7 of 4";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA_VISIBLE_DEVICES='0,7'"), std::string::npos) << e.what();
  }
}

TEST(GpuVisibility, MalformedVariableIsAnInputError) {
  SKIP_WITHOUT_TOPOLOGIES();
  EXPECT_THROW(restrict_gpus(detected("power8-2pkg-4xP100.xml"), cuda("0,,x")), InputError);
  GpuVisibilityEnv env;
  env.slurm_step_gpus = "0,x";
  EXPECT_THROW(restrict_gpus(detected("power8-2pkg-4xP100.xml"), env), InputError);
}

TEST(GpuVisibility, RocrVisibleDevicesUsesTheRocmIndex) {
  SKIP_WITHOUT_TOPOLOGIES();
  GpuVisibilityEnv env;
  env.rocr_visible_devices = "0,1";
  const auto usable = restrict_gpus(detected("corona-2pkg-8xMI50.xml"), env);
  // rsmi0 is at 63:00.0 (index 3), rsmi1 at 43:00.0 (index 2).
  EXPECT_EQ(indices(usable), (std::vector<int>{2, 3}));
  EXPECT_EQ(visible_ids(usable), (std::vector<std::string>{"1", "0"}));
}

TEST(GpuVisibility, RocrVisibleDevicesAcceptsAmdUuids) {
  SKIP_WITHOUT_TOPOLOGIES();
  GpuVisibilityEnv env;
  env.rocr_visible_devices = "GPU-fd6649217326b1e1";
  const auto usable = restrict_gpus(detected("corona-2pkg-8xMI50.xml"), env);
  EXPECT_EQ(indices(usable), (std::vector<int>{0}));
}

TEST(GpuVisibility, CudaVariableLeavesOtherVendorsAlone) {
  SKIP_WITHOUT_TOPOLOGIES();
  const auto usable = restrict_gpus(detected("em64t-2pkg-K40m-R9.xml"), cuda("0"));
  EXPECT_EQ(indices(usable), (std::vector<int>{0, 1}));
}

TEST(GpuVisibility, SlurmStepGpusSelectsAndCudaVariableNamesThem) {
  SKIP_WITHOUT_TOPOLOGIES();
  // Slurm with device cgroups: the step has physical GPUs 2 and 3, which CUDA calls 0 and 1.
  GpuVisibilityEnv env;
  env.slurm_step_gpus = "2,3";
  env.cuda_visible_devices = "0,1";
  const auto usable = restrict_gpus(detected("power8-2pkg-4xP100.xml"), env);
  EXPECT_EQ(indices(usable), (std::vector<int>{2, 3}));
  EXPECT_EQ(visible_ids(usable), (std::vector<std::string>{"0", "1"}));
  for (const Gpu& g : usable) EXPECT_EQ(g.slot.numa, 1);
}

TEST(GpuVisibility, SlurmRangesAndJobGpusWhenNoStep) {
  SKIP_WITHOUT_TOPOLOGIES();
  GpuVisibilityEnv env;
  env.slurm_job_gpus = "1-2";
  EXPECT_EQ(indices(restrict_gpus(detected("power8-2pkg-4xP100.xml"), env)), (std::vector<int>{1, 2}));
  env.slurm_step_gpus = "0";
  EXPECT_EQ(indices(restrict_gpus(detected("power8-2pkg-4xP100.xml"), env)), (std::vector<int>{0}));
  env.slurm_step_gpus = "4";
  EXPECT_THROW(restrict_gpus(detected("power8-2pkg-4xP100.xml"), env), InputError);
}

TEST(GpuVisibility, ListedGpusHwlocCannotSeeHaveUnknownLocality) {
  const std::vector<Gpu> none;
  const auto usable = restrict_gpus(none, cuda("0,1"));
  ASSERT_EQ(usable.size(), 2u);
  EXPECT_EQ(visible_ids(usable), (std::vector<std::string>{"0", "1"}));
  for (const Gpu& g : usable) {
    EXPECT_EQ(g.slot.vendor, "nvidia");
    EXPECT_EQ(g.slot.numa, -1);
    EXPECT_TRUE(g.slot.pci.empty());
  }
  EXPECT_EQ(usable[0].slot.index, 0);
  EXPECT_EQ(usable[1].slot.index, 1);

  GpuVisibilityEnv slurm;
  slurm.slurm_step_gpus = "4,5";
  slurm.cuda_visible_devices = "0,1";
  const auto from_slurm = restrict_gpus(none, slurm);
  EXPECT_EQ(visible_ids(from_slurm), (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(from_slurm[0].slot.vendor, "nvidia");
}

TEST(GpuVisibility, SyntheticNodeWithCudaVariableGetsThoseGpus) {
  const Topology t = Topology::from_synthetic("pack:2 core:2 pu:1", cuda("0,1,2"));
  EXPECT_EQ(t.gpus().size(), 3u);
  EXPECT_TRUE(t.detected_gpus().empty());
}

TEST(GpuVisibility, FromProcessReadsTheVariables) {
  const char* names[] = {"CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "SLURM_STEP_GPUS", "SLURM_JOB_GPUS"};
  std::vector<std::optional<std::string>> saved;
  for (const char* n : names)
    saved.push_back(std::getenv(n) ? std::optional<std::string>(std::getenv(n)) : std::nullopt);
  setenv("CUDA_VISIBLE_DEVICES", "1", 1);
  unsetenv("ROCR_VISIBLE_DEVICES");
  setenv("SLURM_STEP_GPUS", "", 1);
  unsetenv("SLURM_JOB_GPUS");
  const GpuVisibilityEnv env = GpuVisibilityEnv::from_process();
  for (size_t i = 0; i < saved.size(); ++i) {
    if (saved[i])
      setenv(names[i], saved[i]->c_str(), 1);
    else
      unsetenv(names[i]);
  }
  EXPECT_EQ(env.cuda_visible_devices, std::optional<std::string>("1"));
  EXPECT_FALSE(env.rocr_visible_devices.has_value());
  EXPECT_EQ(env.slurm_step_gpus, std::optional<std::string>(""));
  EXPECT_FALSE(env.slurm_job_gpus.has_value());
}

core::GpuSlot slot(const std::string& vendor, const std::string& id) {
  core::GpuSlot s;
  s.vendor = vendor;
  s.visible_id = id;
  return s;
}

using Env = std::vector<std::pair<std::string, std::string>>;

TEST(GpuEnvironment, NvidiaTaskGetsItsDevicesInPciOrder) {
  EXPECT_EQ(gpu_environment({slot("nvidia", "2"), slot("nvidia", "3")}, {"nvidia"}),
            (Env{{"CUDA_DEVICE_ORDER", "PCI_BUS_ID"}, {"CUDA_VISIBLE_DEVICES", "2,3"}}));
}

TEST(GpuEnvironment, AmdAndIntelUseTheirOwnVariables) {
  EXPECT_EQ(gpu_environment({slot("amd", "5")}, {"amd"}), (Env{{"ROCR_VISIBLE_DEVICES", "5"}}));
  EXPECT_EQ(gpu_environment({slot("intel", "0"), slot("intel", "1")}, {"intel"}),
            (Env{{"ZE_AFFINITY_MASK", "0,1"}}));
}

TEST(GpuEnvironment, TaskWithoutGpusOnAGpuNodeSeesNone) {
  EXPECT_EQ(gpu_environment({}, {"nvidia"}),
            (Env{{"CUDA_DEVICE_ORDER", "PCI_BUS_ID"}, {"CUDA_VISIBLE_DEVICES", ""}}));
  EXPECT_EQ(
      gpu_environment({}, {"nvidia", "amd"}),
      (Env{{"CUDA_DEVICE_ORDER", "PCI_BUS_ID"}, {"CUDA_VISIBLE_DEVICES", ""}, {"ROCR_VISIBLE_DEVICES", ""}}));
}

TEST(GpuEnvironment, NodeWithoutGpusSetsNothing) {
  EXPECT_TRUE(gpu_environment({}, {}).empty());
}

TEST(GpuEnvironment, MixedNodeHidesTheOtherVendor) {
  EXPECT_EQ(
      gpu_environment({slot("nvidia", "0")}, {"nvidia", "amd"}),
      (Env{
          {"CUDA_DEVICE_ORDER", "PCI_BUS_ID"}, {"CUDA_VISIBLE_DEVICES", "0"}, {"ROCR_VISIBLE_DEVICES", ""}}));
}

TEST(GpuEnvironment, UnknownVendorIsNamedToCudaAndRocm) {
  EXPECT_EQ(gpu_environment({slot("", "1")}, {""}), (Env{{"CUDA_DEVICE_ORDER", "PCI_BUS_ID"},
                                                         {"CUDA_VISIBLE_DEVICES", "1"},
                                                         {"ROCR_VISIBLE_DEVICES", "1"}}));
}

}  // namespace
}  // namespace mpiq::hw
