#pragma once
/// What `mpiq topology` prints: the node as mpiq sees it and the share each of N worker ranks would
/// get (docs/design.md §5).

#include <nlohmann/json.hpp>
#include <string>

#include "hw/topology.hpp"

namespace mpiq::hw {

/// The report as JSON: `source`, `packages`, `numa_nodes`, `cores`, `pus` (counts), `numa` (list of
/// `{os_index, cpus}`), `gpus` (list of `{index, vendor, model, pci, numa, cpus, visible_id}`; `numa`
/// is null when unknown), `detected_gpus` (count before the visibility variables), `memory_kb` and
/// `memory_source` (what the node's tasks may ask for together, hw::node_memory; 0 when unknown), `binding`
/// (this thread's cpus when the topology is this machine, else null), `ranks`, and `shares` (list of
/// `{rank, cores, cpus, gpus}` with `gpus` the GPU indices). CPU lists are in hwloc list syntax.
/// Throws InputError when `ranks` < 1.
nlohmann::ordered_json topology_json(const Topology& topology, int ranks);

/// The same report, as indented JSON (`json`) or as a readable summary.
std::string topology_report(const Topology& topology, int ranks, bool json);

}  // namespace mpiq::hw
