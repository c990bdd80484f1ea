#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "hw/topology.hpp"
#include "mpiq/error.hpp"
#include "shared_topologies.hpp"
#include "support/temp_dir.hpp"

namespace mpiq::hw {
namespace {

using testing::kTopologies;

/// Sets (or unsets) an environment variable for the scope of a test, then puts back what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      setenv(name, value->c_str(), 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

/// What the topologies README says of each file.
struct Expected {
  int packages, numa, cores, pus;
  size_t gpus;
  std::map<std::string, size_t> vendors;  // vendor -> GPU count
  std::map<int, size_t> per_numa;         // NUMA OS index -> GPU count
  std::string model_part;                 // a substring of the first GPU's model
};

const std::map<std::string, Expected>& expectations() {
  static const std::map<std::string, Expected> kExpected = {
      {"power8-2pkg-4xP100.xml", {2, 2, 8, 16, 4, {{"nvidia", 4}}, {{0, 2}, {1, 2}}, "P100-SXM2-16GB"}},
      {"em64t-2pkg-K40m-R9.xml", {2, 2, 16, 32, 2, {{"nvidia", 1}, {"amd", 1}}, {{1, 2}}, "K40m"}},
      {"corona-2pkg-8xMI50.xml", {2, 2, 48, 96, 8, {{"amd", 8}}, {{0, 4}, {1, 4}}, "Instinct MI50"}},
      {"dgx2-trimmed-16xV100.xml", {2, 2, 4, 4, 16, {{"nvidia", 16}}, {{0, 8}, {1, 8}}, "V100-SXM3-32GB-H"}},
  };
  return kExpected;
}

Topology load_xml(const std::string& name, const GpuVisibilityEnv& env = {}) {
  return Topology::from_xml(kTopologies + "/" + name, env);
}

TEST(Topology, EveryXmlInTheSharedDirectoryIsDescribedHere) {
  SKIP_WITHOUT_TOPOLOGIES();
  size_t found = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kTopologies)) {
    if (entry.path().extension() != ".xml") continue;
    ++found;
    EXPECT_EQ(expectations().count(entry.path().filename().string()), 1u)
        << entry.path() << " has no expected counts in test_topology.cpp";
  }
  EXPECT_EQ(found, expectations().size());
}

TEST(Topology, XmlExportsReportTheReadmeCounts) {
  SKIP_WITHOUT_TOPOLOGIES();
  for (const auto& [file, want] : expectations()) {
    SCOPED_TRACE(file);
    const Topology t = load_xml(file);
    EXPECT_FALSE(t.is_this_system());
    EXPECT_EQ(t.package_count(), want.packages);
    EXPECT_EQ(static_cast<int>(t.numa_nodes().size()), want.numa);
    EXPECT_EQ(static_cast<int>(t.cores().size()), want.cores);
    EXPECT_EQ(static_cast<int>(t.pu_count()), want.pus);
    EXPECT_EQ(static_cast<int>(t.allowed_pus().size()), want.pus);
  }
}

TEST(Topology, CountsOneGpuPerPhysicalDeviceWithVendorAndNuma) {
  SKIP_WITHOUT_TOPOLOGIES();
  for (const auto& [file, want] : expectations()) {
    SCOPED_TRACE(file);
    const Topology t = load_xml(file);
    ASSERT_EQ(t.gpus().size(), want.gpus);
    EXPECT_EQ(t.detected_gpus().size(), want.gpus);
    std::map<std::string, size_t> vendors;
    std::map<int, size_t> per_numa;
    std::set<std::string> pci;
    for (size_t i = 0; i < t.gpus().size(); ++i) {
      const Gpu& g = t.gpus()[i];
      EXPECT_EQ(g.slot.index, static_cast<int>(i));
      ++vendors[g.slot.vendor];
      ++per_numa[g.slot.numa];
      EXPECT_TRUE(pci.insert(g.slot.pci).second) << "PCI id " << g.slot.pci << " twice";
      EXPECT_EQ(g.slot.pci.size(), 12u) << g.slot.pci;
      EXPECT_FALSE(g.cpus.empty());
      EXPECT_FALSE(g.slot.visible_id.empty());
      // Its cpus are its NUMA node's cpus.
      for (const NumaNode& n : t.numa_nodes()) {
        if (n.os_index == g.slot.numa) {
          EXPECT_EQ(g.cpus, n.pus);
        }
      }
    }
    EXPECT_EQ(vendors, want.vendors);
    EXPECT_EQ(per_numa, want.per_numa);
    EXPECT_NE(t.gpus().front().slot.model.find(want.model_part), std::string::npos)
        << t.gpus().front().slot.model;
  }
}

TEST(Topology, Power8HasFourGpusNotTwelveOsDevices) {
  SKIP_WITHOUT_TOPOLOGIES();
  const Topology t = load_xml("power8-2pkg-4xP100.xml");
  ASSERT_EQ(t.gpus().size(), 4u);
  EXPECT_EQ(t.gpus()[0].slot.pci, "0002:01:00.0");
  EXPECT_EQ(t.gpus()[3].slot.pci, "000b:01:00.0");
  EXPECT_EQ(t.gpus()[0].slot.model, "Tesla P100-SXM2-16GB");
  EXPECT_EQ(t.gpus()[0].uuid, "GPU-77bf6b9a-6906-5a93-d28b-b77d2c23d1d2");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(t.gpus()[i].slot.visible_id, std::to_string(i));
  EXPECT_EQ(t.gpus()[0].package, 0);
  EXPECT_EQ(t.gpus()[2].package, 1);
}

TEST(Topology, Em64tSeesOnlyTheGpusItsPluginsReported) {
  SKIP_WITHOUT_TOPOLOGIES();
  // The node has three more NVIDIA display-class PCI devices that no plugin reported: when hwloc has
  // compute OS devices, they are the truth.
  const Topology t = load_xml("em64t-2pkg-K40m-R9.xml");
  ASSERT_EQ(t.gpus().size(), 2u);
  EXPECT_EQ(t.gpus()[0].slot.vendor, "nvidia");
  EXPECT_EQ(t.gpus()[0].slot.model, "Tesla K40m");
  EXPECT_EQ(t.gpus()[0].slot.pci, "0000:84:00.0");
  EXPECT_EQ(t.gpus()[1].slot.vendor, "amd");
  EXPECT_EQ(t.gpus()[1].slot.model, "AMD Radeon R9 200 / HD 7900 Series");
  EXPECT_EQ(t.gpus()[1].slot.pci, "0000:84:00.1");
  // Each is device 0 of its own runtime.
  EXPECT_EQ(t.gpus()[0].slot.visible_id, "0");
  EXPECT_EQ(t.gpus()[1].slot.visible_id, "0");
  for (const Gpu& g : t.gpus()) EXPECT_EQ(g.slot.numa, 1);
  EXPECT_EQ(t.gpu_vendors(), (std::vector<std::string>{"nvidia", "amd"}));
}

TEST(Topology, AmdGpusAreKnownByTheirRocmIndex) {
  SKIP_WITHOUT_TOPOLOGIES();
  // On this node ROCm SMI numbers the GPUs out of PCI order (rsmi2 is the first on the bus).
  const Topology t = load_xml("corona-2pkg-8xMI50.xml");
  ASSERT_EQ(t.gpus().size(), 8u);
  EXPECT_EQ(t.gpus()[0].slot.pci, "0000:03:00.0");
  EXPECT_EQ(t.gpus()[0].slot.visible_id, "2");
  EXPECT_EQ(t.gpus()[3].slot.pci, "0000:63:00.0");
  EXPECT_EQ(t.gpus()[3].slot.visible_id, "0");
  EXPECT_EQ(t.gpus()[0].uuid, "GPU-fd6649217326b1e1");
}

TEST(Topology, FallsBackToPciClassWithoutVendorPlugins) {
  SKIP_WITHOUT_TOPOLOGIES();
  // The same node without its OS devices, as Debian's hwloc (no CUDA/NVML plugin) would export it.
  std::ifstream in(kTopologies + "/power8-2pkg-4xP100.xml");
  std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string stripped;
  size_t pos = 0;
  while (true) {
    const size_t start = xml.find("<object type=\"OSDev\"", pos);
    if (start == std::string::npos) break;
    stripped += xml.substr(pos, start - pos);
    pos = xml.find("</object>", start) + std::string("</object>").size();
  }
  stripped += xml.substr(pos);
  // The NVLink matrix names the removed OS devices: drop it too.
  const size_t hetero = stripped.find("<distances2hetero");
  if (hetero != std::string::npos) {
    const std::string end = "</distances2hetero>";
    stripped.erase(hetero, stripped.find(end, hetero) + end.size() - hetero);
  }
  ASSERT_EQ(stripped.find("OSDev"), std::string::npos);
  const auto path =
      std::filesystem::temp_directory_path() / ("mpiq-power8-no-osdev-" + std::to_string(getpid()) + ".xml");
  std::ofstream(path) << stripped;
  const Topology t = Topology::from_xml(path.string(), {});
  std::filesystem::remove(path);
  ASSERT_EQ(t.gpus().size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(t.gpus()[i].slot.vendor, "nvidia");
    EXPECT_EQ(t.gpus()[i].slot.visible_id, std::to_string(i));
  }
  EXPECT_EQ(t.gpus()[0].slot.numa, 0);
  EXPECT_EQ(t.gpus()[3].slot.numa, 1);
}

TEST(Topology, SyntheticStringsGiveTheirShape) {
  struct Case {
    const char* description;
    int packages, numa, cores, pus;
  };
  for (const Case& c :
       {Case{"pack:2 numa:1 core:4 pu:2", 2, 2, 8, 16}, Case{"pack:1 numa:4 core:2 pu:1", 1, 4, 8, 8},
        Case{"numa:2 core:3 pu:2", 0, 2, 6, 12}, Case{"pack:2 core:6 pu:1", 2, 1, 12, 12},
        Case{"pack:4 numa:2 l3:1 core:4 pu:2", 4, 8, 32, 64}}) {
    SCOPED_TRACE(c.description);
    const Topology t = Topology::from_synthetic(c.description, {});
    EXPECT_EQ(t.package_count(), c.packages);
    EXPECT_EQ(static_cast<int>(t.numa_nodes().size()), c.numa);
    EXPECT_EQ(static_cast<int>(t.cores().size()), c.cores);
    EXPECT_EQ(static_cast<int>(t.pu_count()), c.pus);
    EXPECT_TRUE(t.gpus().empty());
    for (const Core& core : t.cores()) {
      EXPECT_FALSE(core.pus.empty());
      EXPECT_GE(core.numa, 0);
    }
  }
}

TEST(Topology, CoresKnowTheirNumaNodeAndPackage) {
  const Topology t = Topology::from_synthetic("pack:2 numa:2 core:2 pu:2", {});
  ASSERT_EQ(t.cores().size(), 8u);
  EXPECT_EQ(t.cores()[0].pus, (std::vector<int>{0, 1}));
  EXPECT_EQ(t.cores()[0].numa, 0);
  EXPECT_EQ(t.cores()[0].package, 0);
  EXPECT_EQ(t.cores()[2].numa, 1);
  EXPECT_EQ(t.cores()[2].package, 0);
  EXPECT_EQ(t.cores()[7].numa, 3);
  EXPECT_EQ(t.cores()[7].package, 1);
  EXPECT_EQ(t.numa_nodes()[3].pus, (std::vector<int>{12, 13, 14, 15}));
}

TEST(Topology, InvalidSyntheticStringIsAnInputError) {
  EXPECT_THROW(Topology::from_synthetic("pack:x core:2", {}), InputError);
  EXPECT_THROW(Topology::from_synthetic("", {}), InputError);
}

TEST(Topology, UnreadableOrInvalidXmlIsAnInputErrorNamingTheFile) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto garbage = dir / ("mpiq-garbage-" + std::to_string(getpid()) + ".xml");
  const auto foreign = dir / ("mpiq-foreign-" + std::to_string(getpid()) + ".xml");
  std::ofstream(garbage) << "this is not XML <<<";
  std::ofstream(foreign) << "<?xml version=\"1.0\"?>\n<html><body/></html>\n";
  for (const std::string& path :
       {std::string("/nonexistent/topology.xml"), dir.string(), garbage.string(), foreign.string()}) {
    try {
      Topology::from_xml(path, {});
      ADD_FAILURE() << "loaded " << path;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  std::filesystem::remove(garbage);
  std::filesystem::remove(foreign);
}

TEST(Topology, LoadHonoursHwlocXmlfileAndHwlocSynthetic) {
  SKIP_WITHOUT_TOPOLOGIES();
  const ScopedEnv cuda("CUDA_VISIBLE_DEVICES", std::nullopt);
  const ScopedEnv rocr("ROCR_VISIBLE_DEVICES", std::nullopt);
  const ScopedEnv step("SLURM_STEP_GPUS", std::nullopt);
  const ScopedEnv job("SLURM_JOB_GPUS", std::nullopt);
  {
    const ScopedEnv synthetic("HWLOC_SYNTHETIC", std::nullopt);
    const ScopedEnv xml("HWLOC_XMLFILE", kTopologies + "/power8-2pkg-4xP100.xml");
    const Topology t = Topology::load();
    EXPECT_EQ(t.gpus().size(), 4u);
    EXPECT_EQ(t.cores().size(), 8u);
    // An explicit path wins over the variable.
    EXPECT_EQ(Topology::load(kTopologies + "/dgx2-trimmed-16xV100.xml").gpus().size(), 16u);
  }
  {
    const ScopedEnv synthetic("HWLOC_SYNTHETIC", "pack:3 core:2 pu:1");
    EXPECT_EQ(Topology::load().cores().size(), 6u);
  }
  {
    const ScopedEnv xml("HWLOC_XMLFILE", "/nonexistent.xml");
    try {
      Topology::load();
      ADD_FAILURE() << "loaded a missing HWLOC_XMLFILE";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("HWLOC_XMLFILE"), std::string::npos) << e.what();
    }
  }
}

TEST(Topology, LoadAppliesTheProcessGpuVisibility) {
  SKIP_WITHOUT_TOPOLOGIES();
  const ScopedEnv step("SLURM_STEP_GPUS", std::nullopt);
  const ScopedEnv job("SLURM_JOB_GPUS", std::nullopt);
  const ScopedEnv cuda("CUDA_VISIBLE_DEVICES", "1,3");
  const Topology t = Topology::load(kTopologies + "/power8-2pkg-4xP100.xml");
  ASSERT_EQ(t.gpus().size(), 2u);
  EXPECT_EQ(t.gpus()[0].slot.index, 1);
  EXPECT_EQ(t.gpus()[1].slot.index, 3);
  EXPECT_EQ(t.detected_gpus().size(), 4u);
}

TEST(Topology, IsMoveOnlyAndKeepsItsData) {
  Topology a = Topology::from_synthetic("pack:1 core:2 pu:1", {});
  Topology b = std::move(a);
  EXPECT_EQ(b.cores().size(), 2u);
  EXPECT_NE(b.handle(), nullptr);
  static_assert(!std::is_copy_constructible_v<Topology>);
}

TEST(Topology, LoadsThisMachine) {
  const ScopedEnv xml("HWLOC_XMLFILE", std::nullopt);
  const ScopedEnv synthetic("HWLOC_SYNTHETIC", std::nullopt);
  const Topology t = Topology::from_machine({});
  EXPECT_TRUE(t.is_this_system());
  EXPECT_EQ(t.source(), "this machine");
  EXPECT_GE(t.cores().size(), 1u);
  EXPECT_GE(t.pu_count(), t.cores().size());
  EXPECT_GE(t.numa_nodes().size(), 1u);
  for (const Gpu& g : t.gpus()) EXPECT_FALSE(g.slot.vendor.empty());
}

TEST(Topology, DisplayAcceleratorAndCoprocessorClassesMayCompute) {
  for (uint32_t c : {0x030000u, 0x030200u, 0x038000u, 0x120000u, 0x0b4000u}) EXPECT_TRUE(may_compute(c)) << c;
  // A host bridge, an Ethernet controller, a mass storage controller, virtio's unclassified devices.
  for (uint32_t c : {0x060000u, 0x020000u, 0x018000u, 0xffff00u, 0x0b0000u}) EXPECT_FALSE(may_compute(c)) << c;
}

TEST(Topology, PciMayHoldGpusReadsEachDevicesClassAndLetsHwlocDecideWhenUnsure) {
  const test::TempDir tmp;
  const std::filesystem::path dir = tmp.file("devices");
  EXPECT_TRUE(pci_may_hold_gpus(dir.string())) << "a missing directory";
  std::filesystem::create_directories(dir);
  EXPECT_TRUE(pci_may_hold_gpus(dir.string())) << "no device listed";
  const auto device = [&](const std::string& name, const std::string& cls) {
    std::filesystem::create_directories(dir / name);
    test::write_bytes((dir / name / "class").string(), cls + "\n");
  };
  device("0000:00:00.0", "0x060000");  // as this machine's sysfs writes them
  device("0000:00:03.0", "0x020000");
  EXPECT_FALSE(pci_may_hold_gpus(dir.string()));
  device("0000:3b:00.0", "0x030200");  // a 3D controller: a data-centre GPU
  EXPECT_TRUE(pci_may_hold_gpus(dir.string()));
  std::filesystem::remove_all(dir / "0000:3b:00.0");
  std::filesystem::create_directories(dir / "0000:00:05.0");  // no class attribute
  EXPECT_TRUE(pci_may_hold_gpus(dir.string()));
}

TEST(Topology, ThisMachineHasTheSameGpusWithItsIoDevicesLeftOutOrNot) {
  // HWLOC_FSROOT=/ is hwloc's own discovery of this machine, but from_machine then keeps the I/O
  // devices whatever the PCI classes say: the GPUs found must be the same.
  const ScopedEnv xml("HWLOC_XMLFILE", std::nullopt);
  const ScopedEnv synthetic("HWLOC_SYNTHETIC", std::nullopt);
  const ScopedEnv components("HWLOC_COMPONENTS", std::nullopt);
  const auto gpus = [] {
    const Topology t = Topology::from_machine({});
    std::vector<std::string> out;
    for (const Gpu& g : t.gpus()) out.push_back(g.slot.pci + " " + g.slot.model);
    return out;
  };
  std::vector<std::string> with_io, as_loaded;
  {
    const ScopedEnv root("HWLOC_FSROOT", "/");
    with_io = gpus();
  }
  {
    const ScopedEnv root("HWLOC_FSROOT", std::nullopt);
    as_loaded = gpus();
  }
  EXPECT_EQ(as_loaded, with_io);
  if (!with_io.empty()) {
    EXPECT_TRUE(pci_may_hold_gpus()) << "GPUs on a PCI bus it says holds none";
  }
}

}  // namespace
}  // namespace mpiq::hw
