#include "hw/gpu_visibility.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>

#include "mpiq/error.hpp"

namespace mpiq::hw {

namespace {

std::optional<std::string> env_value(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

bool is_index(const std::string& s) {
  return !s.empty() && s.size() <= 6 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool is_negative_index(const std::string& s) {
  return s.size() > 1 && s[0] == '-' && is_index(s.substr(1));
}

bool is_uuid(const std::string& s) {
  if (s.size() <= 4 || (s.rfind("GPU-", 0) != 0 && s.rfind("MIG-", 0) != 0)) return false;
  return std::all_of(s.begin() + 4, s.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '/'; });
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

/// A GPU that the runtime knows (it was listed) but hwloc did not find.
Gpu unknown_gpu(const std::string& vendor, const std::string& visible_id, int index,
                const std::string& model) {
  Gpu gpu;
  gpu.slot.index = index;
  gpu.slot.vendor = vendor;
  gpu.slot.model = model;
  gpu.slot.visible_id = visible_id;
  if (is_uuid(visible_id)) gpu.uuid = visible_id;
  return gpu;
}

/// The model all of `gpus` share, or "" when they differ or there are none.
std::string common_model(const std::vector<const Gpu*>& gpus) {
  if (gpus.empty()) return {};
  for (const Gpu* g : gpus)
    if (g->slot.model != gpus.front()->slot.model) return {};
  return gpus.front()->slot.model;
}

struct VendorVariable {
  const char* vendor;
  const char* variable;
  const std::optional<std::string>* value;
};

std::vector<Gpu> restrict_by_slurm(const std::vector<Gpu>& detected, const char* variable,
                                   const std::string& value, const std::vector<VendorVariable>& vendor_vars) {
  std::vector<int> selected;
  for (const std::string& item : parse_device_list(variable, value)) {
    const int index = std::stoi(item);
    if (!detected.empty() && index >= static_cast<int>(detected.size()))
      throw InputError(std::string(variable) + "='" + value + "': GPU " + item +
                       " does not exist (this node has " + std::to_string(detected.size()) + " GPUs)");
    if (std::find(selected.begin(), selected.end(), index) == selected.end()) selected.push_back(index);
  }
  std::vector<Gpu> usable;
  if (detected.empty()) {
    // hwloc sees no GPU: trust Slurm's count; the vendor variable (if it lists as many) says whose.
    std::string vendor;
    std::vector<std::string> ids;
    for (const VendorVariable& vv : vendor_vars) {
      if (!vv.value->has_value()) continue;
      auto items = parse_device_list(vv.variable, **vv.value);
      if (items.size() == selected.size()) {
        vendor = vv.vendor;
        ids = std::move(items);
        break;
      }
    }
    for (size_t i = 0; i < selected.size(); ++i)
      usable.push_back(
          unknown_gpu(vendor, ids.empty() ? std::to_string(selected[i]) : ids[i], static_cast<int>(i), ""));
    return usable;
  }
  for (int index : selected) usable.push_back(detected[index]);
  for (const VendorVariable& vv : vendor_vars) {
    if (!vv.value->has_value()) continue;
    const auto items = parse_device_list(vv.variable, **vv.value);
    std::vector<Gpu*> of_vendor;
    for (Gpu& g : usable)
      if (g.slot.vendor == vv.vendor) of_vendor.push_back(&g);
    if (items.size() != of_vendor.size()) continue;
    for (size_t i = 0; i < items.size(); ++i) of_vendor[i]->slot.visible_id = items[i];
  }
  std::sort(usable.begin(), usable.end(),
            [](const Gpu& a, const Gpu& b) { return a.slot.index < b.slot.index; });
  return usable;
}

}  // namespace

GpuVisibilityEnv GpuVisibilityEnv::from_process() {
  GpuVisibilityEnv env;
  env.cuda_visible_devices = env_value("CUDA_VISIBLE_DEVICES");
  env.rocr_visible_devices = env_value("ROCR_VISIBLE_DEVICES");
  env.slurm_step_gpus = env_value("SLURM_STEP_GPUS");
  env.slurm_job_gpus = env_value("SLURM_JOB_GPUS");
  return env;
}

std::vector<std::string> parse_device_list(const std::string& variable, const std::string& value) {
  const bool slurm = variable.rfind("SLURM_", 0) == 0;
  std::vector<std::string> items;
  if (trim(value).empty()) return items;
  const auto bad = [&](const std::string& why) { return InputError(variable + "='" + value + "': " + why); };
  size_t pos = 0;
  while (pos <= value.size()) {
    const size_t comma = std::min(value.find(',', pos), value.size());
    const std::string item = trim(value.substr(pos, comma - pos));
    pos = comma + 1;
    if (item.empty()) throw bad("empty item in the device list");
    if (is_index(item)) {
      items.push_back(std::to_string(std::stoi(item)));
      continue;
    }
    if (!slurm && is_negative_index(item)) break;  // the CUDA runtime stops reading at an invalid index
    if (!slurm && is_uuid(item)) {
      items.push_back(item);
      continue;
    }
    const size_t dash = item.find('-');
    if (slurm && dash != std::string::npos && is_index(item.substr(0, dash)) &&
        is_index(item.substr(dash + 1))) {
      const int first = std::stoi(item.substr(0, dash));
      const int last = std::stoi(item.substr(dash + 1));
      if (last < first) throw bad("range '" + item + "' is decreasing");
      for (int i = first; i <= last; ++i) items.push_back(std::to_string(i));
      continue;
    }
    throw bad("'" + item + "' is not a device index" +
              (slurm ? std::string(" or range") : " or a GPU-/MIG- UUID"));
  }
  return items;
}

std::vector<Gpu> restrict_gpus(const std::vector<Gpu>& detected, const GpuVisibilityEnv& env) {
  const std::vector<VendorVariable> vendor_vars = {
      {"nvidia", "CUDA_VISIBLE_DEVICES", &env.cuda_visible_devices},
      {"amd", "ROCR_VISIBLE_DEVICES", &env.rocr_visible_devices},
  };
  if (env.slurm_step_gpus)
    return restrict_by_slurm(detected, "SLURM_STEP_GPUS", *env.slurm_step_gpus, vendor_vars);
  if (env.slurm_job_gpus)
    return restrict_by_slurm(detected, "SLURM_JOB_GPUS", *env.slurm_job_gpus, vendor_vars);

  std::vector<Gpu> usable;
  int next_unknown_index = static_cast<int>(detected.size());
  std::set<std::string> restricted_vendors;
  for (const VendorVariable& vv : vendor_vars) {
    if (!vv.value->has_value()) continue;
    restricted_vendors.insert(vv.vendor);
    std::vector<const Gpu*> of_vendor;
    for (const Gpu& g : detected)
      if (g.slot.vendor == vv.vendor) of_vendor.push_back(&g);
    std::set<int> taken;
    for (const std::string& item : parse_device_list(vv.variable, **vv.value)) {
      const Gpu* match = nullptr;
      for (const Gpu* g : of_vendor) {
        const bool same =
            is_index(item) ? g->slot.visible_id == item : (!g->uuid.empty() && lower(g->uuid) == lower(item));
        if (same) match = g;
      }
      if (match == nullptr && is_index(item) && !of_vendor.empty())
        throw InputError(std::string(vv.variable) + "='" + **vv.value + "': there is no " + vv.vendor +
                         " GPU " + item + " on this node (" + std::to_string(of_vendor.size()) + " found)");
      if (match == nullptr) {
        usable.push_back(unknown_gpu(vv.vendor, item, next_unknown_index++, common_model(of_vendor)));
        continue;
      }
      if (!taken.insert(match->slot.index).second) continue;
      Gpu gpu = *match;
      gpu.slot.visible_id = item;
      usable.push_back(std::move(gpu));
    }
  }
  for (const Gpu& g : detected)
    if (restricted_vendors.count(g.slot.vendor) == 0) usable.push_back(g);
  std::sort(usable.begin(), usable.end(),
            [](const Gpu& a, const Gpu& b) { return a.slot.index < b.slot.index; });
  return usable;
}

std::vector<std::pair<std::string, std::string>> gpu_environment(
    const std::vector<core::GpuSlot>& task_gpus, const std::vector<std::string>& node_vendors) {
  // Variable name -> ids, in the order the variables are emitted.
  std::map<std::string, std::vector<std::string>> lists;
  const auto variables_of = [](const std::string& vendor) -> std::vector<std::string> {
    if (vendor == "nvidia") return {"CUDA_VISIBLE_DEVICES"};
    if (vendor == "amd") return {"ROCR_VISIBLE_DEVICES"};
    if (vendor == "intel") return {"ZE_AFFINITY_MASK"};
    return {"CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES"};
  };
  for (const std::string& vendor : node_vendors)
    for (const std::string& var : variables_of(vendor)) lists[var];
  for (const core::GpuSlot& gpu : task_gpus)
    for (const std::string& var : variables_of(gpu.vendor)) lists[var].push_back(gpu.visible_id);

  std::vector<std::pair<std::string, std::string>> env;
  for (const char* var : {"CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "ZE_AFFINITY_MASK"}) {
    const auto it = lists.find(var);
    if (it == lists.end()) continue;
    std::string joined;
    for (const std::string& id : it->second) {
      if (!joined.empty()) joined += ',';
      joined += id;
    }
    if (std::string(var) == "CUDA_VISIBLE_DEVICES") env.emplace_back("CUDA_DEVICE_ORDER", "PCI_BUS_ID");
    env.emplace_back(var, joined);
  }
  return env;
}

}  // namespace mpiq::hw
