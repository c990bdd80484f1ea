#pragma once
/// How much memory the tasks of one node may ask for together (`mem=`, docs/design.md §2, §5): the
/// least of the node's memory, the Slurm allocation on it and the memory limit of this process's
/// cgroup. Every worker of a node finds the same budget; the hub's scheduler shares it among them
/// (core/scheduler.hpp).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "hw/topology.hpp"

namespace mpiq::hw {

/// A node's memory budget and what set it.
struct NodeMemory {
  uint64_t kb = 0;     ///< KiB; 0 when nothing could be found out
  std::string source;  ///< "the node's memory", "Slurm (SLURM_MEM_PER_NODE)", "cgroup (PATH)", ...
};

/// Reads an environment variable: nullptr when it is not set.
using EnvLookup = std::function<const char*(const char*)>;
/// Reads a whole file: nullopt when it cannot be read.
using FileReader = std::function<std::optional<std::string>(const std::string& path)>;

/// `MemTotal` of /proc/meminfo's text, in KiB; nullopt when it has none.
std::optional<uint64_t> meminfo_total_kb(std::string_view meminfo);

/// The Slurm allocation on this node, KiB: SLURM_MEM_PER_NODE (MiB), else SLURM_MEM_PER_CPU (MiB) times
/// SLURM_CPUS_ON_NODE; nullopt outside Slurm, without a memory request, or for 0 (all of the node).
std::optional<NodeMemory> slurm_memory(const EnvLookup& env);

/// The tightest memory limit on this process's cgroup and its ancestors, KiB: cgroup v2's memory.max
/// under `root`/sys/fs/cgroup, or v1's memory.limit_in_bytes under `root`/sys/fs/cgroup/memory, for the
/// path that `root`/proc/self/cgroup names (each level up to the mount's root is read: a container
/// may mount its own cgroup as the root). nullopt when there is no limit ("max", or v1's "unlimited"
/// 2^63-4096 is above the node's memory anyway and so never the least).
std::optional<NodeMemory> cgroup_memory(const std::string& root, const FileReader& read);

/// The budget: the least of `physical_kb` (the node's memory), slurm_memory and cgroup_memory.
NodeMemory node_memory(uint64_t physical_kb, const EnvLookup& env, const std::string& root,
                       const FileReader& read);

/// The budget of the node `topology` describes: for this machine the least of its memory
/// (/proc/meminfo's MemTotal, else hwloc's), the Slurm allocation and the cgroup limit; for an XML or
/// synthetic topology the memory it describes, since this process's limits are not that node's.
NodeMemory node_memory(const Topology& topology);

}  // namespace mpiq::hw
