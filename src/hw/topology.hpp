#pragma once
/// The hardware of one node as hwloc describes it: packages, NUMA nodes, cores, PUs and GPUs.
///
/// A Topology is loaded once (the real machine, an XML export, or a synthetic description) and then
/// read as plain vectors: everything a worker needs is extracted at load time, so nothing after it
/// walks the hwloc tree again.

#include <hwloc.h>

#include <memory>
#include <string>
#include <vector>

#include "hw/gpu_visibility.hpp"

namespace mpiq::hw {

/// One physical core: the PUs (hardware threads) of it that this process may use.
struct Core {
  std::vector<int> pus;  ///< OS indices, ascending, never empty
  int numa = -1;         ///< OS index of its NUMA node, -1 when unknown
  int package = -1;      ///< logical index of its package, -1 when the topology has none
};

/// One NUMA node with allowed PUs.
struct NumaNode {
  int os_index = 0;      ///< the OS index (what numactl calls the node)
  std::vector<int> pus;  ///< OS indices of its allowed PUs, ascending (empty for a memory-only node)
};

/// A loaded hwloc topology. Move-only; the hwloc handle is destroyed with it.
class Topology {
 public:
  /// This machine, as hwloc's default discovery sees it (which itself honours HWLOC_XMLFILE and
  /// HWLOC_SYNTHETIC: use `load` to get mpiq's checked handling of those).
  static Topology from_machine(const GpuVisibilityEnv& env = GpuVisibilityEnv::from_process());
  /// An hwloc XML export. Throws InputError when the file cannot be read or is not a topology.
  static Topology from_xml(const std::string& path,
                           const GpuVisibilityEnv& env = GpuVisibilityEnv::from_process());
  /// A synthetic topology such as "pack:2 numa:1 core:4 pu:2". Throws InputError when hwloc rejects it.
  static Topology from_synthetic(const std::string& description,
                                 const GpuVisibilityEnv& env = GpuVisibilityEnv::from_process());
  /// `xml_path` when it is not empty, else HWLOC_SYNTHETIC, else HWLOC_XMLFILE when set, else this
  /// machine. GPU visibility comes from this process's environment.
  static Topology load(const std::string& xml_path = "");

  /// Moves the hwloc handle and the extracted data; the moved-from object may only be destroyed.
  Topology(Topology&&) noexcept = default;
  /// As the move constructor; the topology this object held is destroyed.
  Topology& operator=(Topology&&) noexcept = default;
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;
  /// Destroys the hwloc topology.
  ~Topology();

  /// The hwloc handle, for hwloc calls (owned by this object).
  hwloc_topology_t handle() const noexcept { return topology_.get(); }
  /// True when the topology is this machine's (so binding queries mean something).
  bool is_this_system() const noexcept { return this_system_; }
  /// Where it came from: "this machine", "XML file PATH" or "synthetic 'DESCRIPTION'".
  const std::string& source() const noexcept { return source_; }

  /// Packages hwloc reports (0 for a synthetic topology without a package level).
  int package_count() const noexcept { return packages_; }
  /// NUMA nodes, in logical order.
  const std::vector<NumaNode>& numa_nodes() const noexcept { return numa_; }
  /// The allowed cores in topology (logical) order. PUs outside any core are a core each.
  const std::vector<Core>& cores() const noexcept { return cores_; }
  /// The number of allowed PUs.
  size_t pu_count() const noexcept { return pu_count_; }
  /// Every allowed PU's OS index, ascending.
  std::vector<int> allowed_pus() const;

  /// The GPUs this process may use (after CUDA_VISIBLE_DEVICES and friends), in PCI order.
  const std::vector<Gpu>& gpus() const noexcept { return gpus_; }
  /// Every GPU hwloc found, before the visibility variables were applied.
  const std::vector<Gpu>& detected_gpus() const noexcept { return detected_gpus_; }
  /// The distinct vendors of gpus(), for gpu_environment().
  std::vector<std::string> gpu_vendors() const;

 private:
  using Handle = std::unique_ptr<hwloc_topology, void (*)(hwloc_topology_t)>;
  Topology(Handle topology, std::string source, const GpuVisibilityEnv& env);
  void extract();

  Handle topology_;
  std::string source_;
  bool this_system_ = false;
  int packages_ = 0;
  std::vector<NumaNode> numa_;
  std::vector<Core> cores_;
  size_t pu_count_ = 0;
  std::vector<Gpu> detected_gpus_;
  std::vector<Gpu> gpus_;
};

/// The GPUs of a loaded hwloc topology, one per physical PCI device, in PCI order, before any
/// visibility variable is applied. When hwloc reports compute OS devices (cudaN, nvmlN, rsmiN, zeN,
/// openclXdY of GPU type), the GPUs are the PCI devices that carry them; when it reports none
/// (Debian's hwloc has no CUDA/NVML/RSMI plugin), they are the display-class PCI devices (class
/// 0x03xx) of NVIDIA (0x10de), AMD (0x1002) and Intel (0x8086).
std::vector<Gpu> discover_gpus(hwloc_topology_t topology);

/// Whether a PCI device of `class_code` (sysfs's `class`: 0xCCSSPP) could be a GPU or accelerator that
/// hwloc's vendor plugins or discover_gpus might report: a display controller (0x03), a processing
/// accelerator (0x12) or a co-processor (0x0b40).
bool may_compute(uint32_t class_code);
/// Whether the PCI devices under `devices_dir` (Linux: /sys/bus/pci/devices) may hold a GPU: true when
/// one of them may_compute, and when the directory cannot be read or lists no device (hwloc then
/// looks for itself). Reads each device's `class` attribute, which the kernel keeps: no access to the
/// device. Topology::from_machine leaves out the I/O devices when it says no: hwloc's PCI discovery
/// reads every device's configuration space, a trap to the hypervisor each on a virtual machine (6
/// devices: 13.7 ms of a 16.7 ms topology load, bench/why.md §0).
bool pci_may_hold_gpus(const std::string& devices_dir = "/sys/bus/pci/devices");

/// hwloc loads every plugin it finds when a process makes its first topology, and two of Debian's
/// cost each of mpiq's processes ~5 ms at its start for nothing (bench/why.md): hwloc_xml_libxml
/// (libxml2 and ICU; hwloc's own XML parser reads the same files into the same topology) and hwloc_gl
/// (the X libraries, for displays, which mpiq leaves out anyway). The mpiq command calls this first
/// thing in main, with one thread: it sets HWLOC_PLUGINS_BLACKLIST to those two unless the user has
/// set the variable, so Open MPI's hwloc (MPI_Init) skips them too. Never in an embedding program,
/// whose environment is its own.
void skip_unused_hwloc_plugins();
/// Removes what skip_unused_hwloc_plugins set (else does nothing), before anything of the run's
/// inherits the environment: launch::run calls it once the worker's topology is loaded.
void restore_hwloc_plugins();

}  // namespace mpiq::hw
