#include "hw/topology_report.hpp"

#include <algorithm>
#include <sstream>

#include "core/task_syntax.hpp"
#include "hw/cpu_list.hpp"
#include "hw/memory.hpp"
#include "hw/shares.hpp"

namespace mpiq::hw {

namespace {

std::string gpu_indices(const std::vector<core::GpuSlot>& gpus) {
  std::string out;
  for (const auto& g : gpus) {
    if (!out.empty()) out += ',';
    out += std::to_string(g.index);
  }
  return out.empty() ? "none" : out;
}

using core::plural;

std::string or_dash(const std::string& s) {
  return s.empty() ? "-" : s;
}

}  // namespace

nlohmann::ordered_json topology_json(const Topology& topology, int ranks) {
  const auto shares = split_node(topology, ranks);
  nlohmann::ordered_json j;
  j["source"] = topology.source();
  j["packages"] = topology.package_count();
  j["numa_nodes"] = topology.numa_nodes().size();
  j["cores"] = topology.cores().size();
  j["pus"] = topology.pu_count();
  j["numa"] = nlohmann::ordered_json::array();
  for (const NumaNode& n : topology.numa_nodes())
    j["numa"].push_back({{"os_index", n.os_index}, {"cpus", cpu_list(n.pus)}});
  j["gpus"] = nlohmann::ordered_json::array();
  for (const Gpu& g : topology.gpus()) {
    j["gpus"].push_back(
        {{"index", g.slot.index},
         {"vendor", g.slot.vendor},
         {"model", g.slot.model},
         {"pci", g.slot.pci},
         {"numa", g.slot.numa >= 0 ? nlohmann::ordered_json(g.slot.numa) : nlohmann::ordered_json(nullptr)},
         {"cpus", cpu_list(g.cpus)},
         {"visible_id", g.slot.visible_id}});
  }
  j["detected_gpus"] = topology.detected_gpus().size();
  const NodeMemory memory = node_memory(topology);
  j["memory_kb"] = memory.kb;
  j["memory_source"] = memory.source;
  const std::vector<int> binding = current_binding(topology);
  j["binding"] =
      binding.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(cpu_list(binding));
  j["ranks"] = ranks;
  j["shares"] = nlohmann::ordered_json::array();
  for (size_t r = 0; r < shares.size(); ++r) {
    nlohmann::ordered_json gpus = nlohmann::ordered_json::array();
    for (const auto& g : shares[r].gpus) gpus.push_back(g.index);
    j["shares"].push_back({{"rank", r},
                           {"cores", shares[r].cores.size()},
                           {"cpus", cpu_list(share_pus(shares[r]))},
                           {"gpus", gpus}});
  }
  return j;
}

std::string topology_report(const Topology& topology, int ranks, bool json) {
  if (json)
    return topology_json(topology, ranks).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
           "\n";
  const auto shares = split_node(topology, ranks);
  std::ostringstream out;
  out << "source: " << topology.source() << "\n";
  out << "machine: " << plural(static_cast<size_t>(topology.package_count()), "package") << ", "
      << plural(topology.numa_nodes().size(), "NUMA node") << ", " << plural(topology.cores().size(), "core")
      << ", " << plural(topology.pu_count(), "PU") << ", " << plural(topology.gpus().size(), "GPU");
  if (topology.detected_gpus().size() != topology.gpus().size())
    out << " (" << topology.detected_gpus().size()
        << " found, the rest hidden by the GPU visibility variables)";
  out << "\n";
  const NodeMemory memory = node_memory(topology);
  out << "memory for tasks (mem=, shared by the node's workers): "
      << (memory.kb ? core::format_memory(memory.kb) + ", " + memory.source
                    : std::string("unknown, no limit"))
      << "\n";
  const std::vector<int> binding = current_binding(topology);
  if (!binding.empty() && binding.size() < topology.pu_count())
    out << "this process is bound to cpus " << cpu_list(binding) << "\n";
  out << "NUMA nodes:\n";
  for (const NumaNode& n : topology.numa_nodes()) {
    std::vector<int> gpus;
    for (const Gpu& g : topology.gpus())
      if (g.slot.numa == n.os_index) gpus.push_back(g.slot.index);
    out << "  " << n.os_index << ": cpus " << or_dash(cpu_list(n.pus));
    if (!gpus.empty()) out << ", GPUs " << cpu_list(gpus);
    out << "\n";
  }
  if (!topology.gpus().empty()) {
    out << "GPUs:\n";
    size_t model_width = 5;
    for (const Gpu& g : topology.gpus()) model_width = std::max(model_width, g.slot.model.size());
    for (const Gpu& g : topology.gpus()) {
      std::string model = or_dash(g.slot.model);
      model.resize(model_width, ' ');
      std::string vendor = or_dash(g.slot.vendor);
      vendor.resize(7, ' ');
      std::string pci = or_dash(g.slot.pci);
      pci.resize(13, ' ');
      std::string index = std::to_string(g.slot.index);
      index.resize(std::max<size_t>(index.size(), 2), ' ');
      out << "  " << index << "  " << vendor << model << "  " << pci << "  NUMA "
          << (g.slot.numa >= 0 ? std::to_string(g.slot.numa) : "?") << "  cpus " << or_dash(cpu_list(g.cpus))
          << "  visible id " << g.slot.visible_id << "\n";
    }
  }
  // Numbered as in a run: rank 0 is the hub, workers are ranks 1.. (mpiq status, hub.log).
  out << "shares for " << plural(static_cast<size_t>(ranks), "worker rank") << " (rank 0 is the hub):\n";
  for (size_t r = 0; r < shares.size(); ++r)
    out << "  rank " << r + 1 << ": " << plural(shares[r].cores.size(), "core") << ", cpus "
        << or_dash(cpu_list(share_pus(shares[r]))) << ", GPUs " << gpu_indices(shares[r].gpus) << "\n";
  return out.str();
}

}  // namespace mpiq::hw
