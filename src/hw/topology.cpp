#include "hw/topology.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <tuple>

#include "hw/hwloc_error.hpp"
#include "mpiq/error.hpp"

namespace mpiq::hw {

namespace {

using TopologyHandle = std::unique_ptr<hwloc_topology, void (*)(hwloc_topology_t)>;

std::vector<int> pus_of(hwloc_const_cpuset_t set) {
  std::vector<int> pus;
  if (set == nullptr) return pus;
  for (int i = hwloc_bitmap_first(set); i >= 0; i = hwloc_bitmap_next(set, i)) pus.push_back(i);
  return pus;
}

std::string info(hwloc_obj_t obj, const char* name) {
  const char* v = obj != nullptr ? hwloc_obj_get_info_by_name(obj, name) : nullptr;
  return v != nullptr ? std::string(v) : std::string();
}

std::string str(const char* s) {
  return s != nullptr ? std::string(s) : std::string();
}

/// The compute-runtime family of an OS device ("cuda", "nvml", "rsmi", "ze", "opencl"), or "" when it
/// is not a GPU a task could compute on (a DRM card, a GL display, a NIC, a disk).
std::string compute_family(hwloc_obj_t osdev) {
  const auto type = osdev->attr->osdev.type;
  if (type != HWLOC_OBJ_OSDEV_GPU && type != HWLOC_OBJ_OSDEV_COPROC) return {};
  const std::string subtype = str(osdev->subtype);
  const std::string backend = info(osdev, "Backend");
  const std::string name = str(osdev->name);
  static const std::regex kIndexed("^(cuda|nvml|rsmi|ze)[0-9]+$");
  static const std::regex kOpenCl("^opencl[0-9]+d[0-9]+$");
  std::smatch m;
  std::string family;
  for (const std::string& tag : {subtype, backend}) {
    if (tag == "CUDA") family = "cuda";
    if (tag == "NVML") family = "nvml";
    if (tag == "RSMI") family = "rsmi";
    if (tag == "LevelZero") family = "ze";
    if (tag == "OpenCL") family = "opencl";
    if (!family.empty()) break;
  }
  if (family.empty() && std::regex_match(name, m, kIndexed)) family = m[1].str();
  if (family.empty() && std::regex_match(name, kOpenCl)) family = "opencl";
  // An OpenCL device may be a CPU or an FPGA; only a GPU counts.
  if (family == "opencl") {
    const std::string cl_type = info(osdev, "OpenCLDeviceType");
    if (!cl_type.empty() && cl_type != "GPU") return {};
  }
  return family;
}

std::string vendor_from_text(const std::string& text) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t.find("nvidia") != std::string::npos) return "nvidia";
  if (t.find("amd") != std::string::npos || t.find("advanced micro") != std::string::npos) return "amd";
  if (t.find("intel") != std::string::npos) return "intel";
  return {};
}

std::string vendor_from_pci_id(unsigned vendor_id) {
  switch (vendor_id) {
    case 0x10de:
      return "nvidia";
    case 0x1002:
      return "amd";
    case 0x8086:
      return "intel";
    default:
      return {};
  }
}

/// The trailing number of an OS device name ("rsmi3" -> 3), or -1.
int name_index(const std::string& name) {
  size_t i = name.size();
  while (i > 0 && std::isdigit(static_cast<unsigned char>(name[i - 1]))) --i;
  if (i == name.size()) return -1;
  return std::atoi(name.c_str() + i);
}

struct Candidate {
  hwloc_obj_t pci = nullptr;          // the PCI device, null for an OS device without one
  std::vector<hwloc_obj_t> osdevs;    // its compute OS devices
  std::vector<std::string> families;  // compute_family of each
};

Gpu describe(hwloc_topology_t topology, const Candidate& c) {
  Gpu gpu;
  hwloc_obj_t anchor = c.pci != nullptr ? c.pci : c.osdevs.front();
  if (c.pci != nullptr) {
    const auto& a = c.pci->attr->pcidev;
    char busid[32];
    std::snprintf(busid, sizeof busid, "%04x:%02x:%02x.%01x", unsigned(a.domain), unsigned(a.bus),
                  unsigned(a.dev), unsigned(a.func));
    gpu.slot.pci = busid;
  }
  // Vendor: the runtime family says it best, then the OS device's GPUVendor, then the PCI id.
  for (size_t i = 0; i < c.osdevs.size() && gpu.slot.vendor.empty(); ++i) {
    const std::string& f = c.families[i];
    if (f == "cuda" || f == "nvml") gpu.slot.vendor = "nvidia";
    if (f == "rsmi") gpu.slot.vendor = "amd";
    if (f == "ze") gpu.slot.vendor = "intel";
  }
  for (hwloc_obj_t o : c.osdevs)
    if (gpu.slot.vendor.empty()) gpu.slot.vendor = vendor_from_text(info(o, "GPUVendor"));
  if (gpu.slot.vendor.empty() && c.pci != nullptr)
    gpu.slot.vendor = vendor_from_pci_id(c.pci->attr->pcidev.vendor_id);
  // Model: a vendor runtime's GPUModel, then OpenCL's, then the PCI device name.
  for (int pass = 0; pass < 2 && gpu.slot.model.empty(); ++pass)
    for (size_t i = 0; i < c.osdevs.size() && gpu.slot.model.empty(); ++i)
      if ((c.families[i] == "opencl") == (pass == 1)) gpu.slot.model = info(c.osdevs[i], "GPUModel");
  if (gpu.slot.model.empty()) gpu.slot.model = info(c.pci, "PCIDevice");
  for (hwloc_obj_t o : c.osdevs) {
    if (gpu.uuid.empty() && !info(o, "NVIDIAUUID").empty()) gpu.uuid = info(o, "NVIDIAUUID");
    if (gpu.uuid.empty() && !info(o, "AMDUUID").empty()) gpu.uuid = "GPU-" + info(o, "AMDUUID");
  }
  hwloc_obj_t local = hwloc_get_non_io_ancestor_obj(topology, anchor);
  const bool is_root = local == nullptr || local->parent == nullptr;
  const int numa_total = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_NUMANODE);
  if (local != nullptr && !(is_root && numa_total > 1)) {
    // Locality known: the PUs and the (first) NUMA node of the smallest non-I/O ancestor.
    Bitmap cpus(local->cpuset);
    hwloc_bitmap_and(cpus.get(), cpus.get(), hwloc_topology_get_allowed_cpuset(topology));
    gpu.cpus = pus_of(cpus.get());
    if (local->nodeset != nullptr && !hwloc_bitmap_iszero(local->nodeset))
      gpu.slot.numa = hwloc_bitmap_first(local->nodeset);
    hwloc_obj_t package = local->type == HWLOC_OBJ_PACKAGE
                              ? local
                              : hwloc_get_ancestor_obj_by_type(topology, HWLOC_OBJ_PACKAGE, local);
    if (package != nullptr) gpu.package = static_cast<int>(package->logical_index);
  }
  return gpu;
}

bool pci_less(const Candidate& a, const Candidate& b) {
  if ((a.pci == nullptr) != (b.pci == nullptr)) return a.pci != nullptr;
  if (a.pci == nullptr) return str(a.osdevs.front()->name) < str(b.osdevs.front()->name);
  const auto& x = a.pci->attr->pcidev;
  const auto& y = b.pci->attr->pcidev;
  return std::tie(x.domain, x.bus, x.dev, x.func) < std::tie(y.domain, y.bus, y.dev, y.func);
}

TopologyHandle new_topology() {
  hwloc_topology_t t = nullptr;
  check_hwloc(hwloc_topology_init(&t), "hwloc_topology_init");
  TopologyHandle owned(t, hwloc_topology_destroy);
  check_hwloc(hwloc_topology_set_io_types_filter(t, HWLOC_TYPE_FILTER_KEEP_IMPORTANT),
              "hwloc_topology_set_io_types_filter");
  // Displays are not compute devices: hwloc's "gl" component would try to reach an X server (ten
  // displays here; over ssh -X, a remote one, at every rank's start). Refused (EINVAL) where the
  // plugin is not loaded at all (skip_unused_hwloc_plugins, or not installed): nothing to leave out.
  hwloc_topology_set_components(t, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "gl");
  return owned;
}

}  // namespace

std::vector<Gpu> discover_gpus(hwloc_topology_t topology) {
  std::vector<Candidate> candidates;
  for (hwloc_obj_t o = hwloc_get_next_osdev(topology, nullptr); o != nullptr;
       o = hwloc_get_next_osdev(topology, o)) {
    const std::string family = compute_family(o);
    if (family.empty()) continue;
    hwloc_obj_t pci = o->parent != nullptr && o->parent->type == HWLOC_OBJ_PCI_DEVICE ? o->parent : nullptr;
    auto it = std::find_if(candidates.begin(), candidates.end(),
                           [&](const Candidate& c) { return pci != nullptr && c.pci == pci; });
    if (it == candidates.end()) it = candidates.insert(candidates.end(), Candidate{pci, {}, {}});
    it->osdevs.push_back(o);
    it->families.push_back(family);
  }
  if (candidates.empty()) {
    // No vendor plugin spoke: fall back to what the PCI bus says.
    for (hwloc_obj_t p = hwloc_get_next_pcidev(topology, nullptr); p != nullptr;
         p = hwloc_get_next_pcidev(topology, p)) {
      const auto& a = p->attr->pcidev;
      if ((a.class_id >> 8) == 0x03 && !vendor_from_pci_id(a.vendor_id).empty())
        candidates.push_back({p, {}, {}});
    }
  }
  std::stable_sort(candidates.begin(), candidates.end(), pci_less);

  std::vector<Gpu> gpus;
  int ordinal[3] = {0, 0, 0};  // per vendor: nvidia, amd, intel
  for (const Candidate& c : candidates) {
    Gpu gpu = describe(topology, c);
    gpu.slot.index = static_cast<int>(gpus.size());
    // The index the vendor runtime gives it: PCI order within the vendor (CUDA with
    // CUDA_DEVICE_ORDER=PCI_BUS_ID, Level Zero), except that ROCm's own index wins when hwloc has it.
    int runtime_index = gpu.slot.index;
    const int v = gpu.slot.vendor == "nvidia"  ? 0
                  : gpu.slot.vendor == "amd"   ? 1
                  : gpu.slot.vendor == "intel" ? 2
                                               : -1;
    if (v >= 0) runtime_index = ordinal[v]++;
    for (size_t i = 0; i < c.osdevs.size(); ++i)
      if (c.families[i] == "rsmi") runtime_index = name_index(str(c.osdevs[i]->name));
    gpu.slot.visible_id = std::to_string(runtime_index);
    gpus.push_back(std::move(gpu));
  }
  return gpus;
}

Topology::Topology(Handle topology, std::string source, const GpuVisibilityEnv& env)
    : topology_(std::move(topology)), source_(std::move(source)) {
  extract();
  detected_gpus_ = discover_gpus(handle());
  gpus_ = restrict_gpus(detected_gpus_, env);
}

Topology::~Topology() = default;

namespace {

TopologyHandle load_checked(TopologyHandle t, const std::string& what) {
  if (hwloc_topology_load(t.get()) < 0) {
    const int err = errno;
    throw InputError("cannot load " + what + ": " + (err != 0 ? std::strerror(err) : "invalid topology"));
  }
  return t;
}

// What changes where hwloc's default discovery looks (hwloc(7), ENVIRONMENT).
constexpr const char* kDiscoveryVariables[] = {"HWLOC_XMLFILE", "HWLOC_SYNTHETIC", "HWLOC_FSROOT",
                                               "HWLOC_COMPONENTS"};
}  // namespace

bool may_compute(uint32_t class_code) {
  const uint32_t base = class_code >> 16;
  return base == 0x03 || base == 0x12 || (class_code >> 8) == 0x0b40;
}

bool pci_may_hold_gpus(const std::string& devices_dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(devices_dir, ec), end;
  if (ec) return true;
  bool any = false;
  for (; it != end; it.increment(ec)) {
    if (ec) return true;
    any = true;
    std::ifstream in(it->path() / "class");
    uint32_t code = 0;
    if (!(in >> std::hex >> code) || may_compute(code)) return true;  // unreadable: hwloc decides
  }
  return !any;
}

Topology Topology::from_machine(const GpuVisibilityEnv& env) {
  auto t = new_topology();
  // This machine's own discovery (no XML, synthetic description, other file system root or chosen
  // components in the environment) with no PCI device that could be a GPU: the I/O devices would only
  // cost their discovery.
  const bool own_discovery = std::none_of(std::begin(kDiscoveryVariables), std::end(kDiscoveryVariables),
                                          [](const char* v) { return std::getenv(v) != nullptr; });
  if (own_discovery && !pci_may_hold_gpus())
    check_hwloc(hwloc_topology_set_io_types_filter(t.get(), HWLOC_TYPE_FILTER_KEEP_NONE),
                "hwloc_topology_set_io_types_filter");
  if (hwloc_topology_load(t.get()) < 0) check_hwloc(-1, "hwloc_topology_load");
  return Topology(std::move(t), "this machine", env);
}

Topology Topology::from_xml(const std::string& path, const GpuVisibilityEnv& env) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InputError("cannot read topology XML '" + path + "': is a directory");
  if (!std::ifstream(path))
    throw InputError("cannot read topology XML '" + path + "': " + std::strerror(errno));
  auto t = new_topology();
  errno = 0;
  if (hwloc_topology_set_xml(t.get(), path.c_str()) < 0)
    throw InputError("'" + path + "' is not an hwloc topology XML file");
  errno = 0;
  if (hwloc_topology_load(t.get()) < 0)
    throw InputError("'" + path + "' is not a valid hwloc topology XML file");
  return Topology(std::move(t), "XML file " + path, env);
}

Topology Topology::from_synthetic(const std::string& description, const GpuVisibilityEnv& env) {
  auto t = new_topology();
  if (hwloc_topology_set_synthetic(t.get(), description.c_str()) < 0)
    throw InputError("invalid synthetic topology '" + description + "'");
  t = load_checked(std::move(t), "synthetic topology '" + description + "'");
  return Topology(std::move(t), "synthetic '" + description + "'", env);
}

Topology Topology::load(const std::string& xml_path) {
  if (!xml_path.empty()) return from_xml(xml_path);
  if (const char* synthetic = std::getenv("HWLOC_SYNTHETIC"); synthetic != nullptr && *synthetic != '\0') {
    try {
      return from_synthetic(synthetic);
    } catch (const InputError& e) {
      throw InputError(std::string("HWLOC_SYNTHETIC: ") + e.what());
    }
  }
  if (const char* xml = std::getenv("HWLOC_XMLFILE"); xml != nullptr && *xml != '\0') {
    try {
      return from_xml(xml);
    } catch (const InputError& e) {
      throw InputError(std::string("HWLOC_XMLFILE: ") + e.what());
    }
  }
  return from_machine();
}

void Topology::extract() {
  hwloc_topology_t t = handle();
  this_system_ = hwloc_topology_is_thissystem(t) != 0;
  packages_ = std::max(0, hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE));
  hwloc_const_cpuset_t allowed = hwloc_topology_get_allowed_cpuset(t);

  std::vector<hwloc_obj_t> numa_objs;
  for (hwloc_obj_t n = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, nullptr); n != nullptr;
       n = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, n)) {
    Bitmap cpus(n->cpuset);
    hwloc_bitmap_and(cpus.get(), cpus.get(), allowed);
    numa_.push_back({static_cast<int>(n->os_index), pus_of(cpus.get())});
    numa_objs.push_back(n);
  }
  const auto numa_of = [&](hwloc_const_cpuset_t set) {
    for (hwloc_obj_t n : numa_objs)
      if (hwloc_bitmap_intersects(n->cpuset, set)) return static_cast<int>(n->os_index);
    return -1;
  };

  hwloc_obj_t last_core = nullptr;
  for (hwloc_obj_t pu = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PU, nullptr); pu != nullptr;
       pu = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PU, pu)) {
    if (!hwloc_bitmap_isset(allowed, pu->os_index)) continue;
    ++pu_count_;
    hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_CORE, pu);
    if (core != nullptr && core == last_core) {
      cores_.back().pus.push_back(static_cast<int>(pu->os_index));
      continue;
    }
    last_core = core;
    hwloc_obj_t owner = core != nullptr ? core : pu;
    hwloc_obj_t package = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, owner);
    cores_.push_back({{static_cast<int>(pu->os_index)},
                      numa_of(owner->cpuset),
                      package != nullptr ? static_cast<int>(package->logical_index) : -1});
  }
  for (Core& c : cores_) std::sort(c.pus.begin(), c.pus.end());
}

std::vector<int> Topology::allowed_pus() const {
  std::vector<int> pus;
  for (const Core& c : cores_) pus.insert(pus.end(), c.pus.begin(), c.pus.end());
  std::sort(pus.begin(), pus.end());
  return pus;
}

std::vector<std::string> Topology::gpu_vendors() const {
  std::vector<std::string> vendors;
  for (const Gpu& g : gpus_)
    if (std::find(vendors.begin(), vendors.end(), g.slot.vendor) == vendors.end())
      vendors.push_back(g.slot.vendor);
  return vendors;
}

namespace {
constexpr const char* kPluginsVariable = "HWLOC_PLUGINS_BLACKLIST";
constexpr const char* kUnusedPlugins = "hwloc_xml_libxml,hwloc_gl";
bool plugins_variable_set = false;
}  // namespace

void skip_unused_hwloc_plugins() {
  if (std::getenv(kPluginsVariable)) return;
  plugins_variable_set = ::setenv(kPluginsVariable, kUnusedPlugins, 0) == 0;
}

void restore_hwloc_plugins() {
  if (!plugins_variable_set) return;
  // Only if it is still ours: a program may have set it since.
  if (const char* v = std::getenv(kPluginsVariable); v && std::strcmp(v, kUnusedPlugins) == 0)
    ::unsetenv(kPluginsVariable);
  plugins_variable_set = false;
}

}  // namespace mpiq::hw
