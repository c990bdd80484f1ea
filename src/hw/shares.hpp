#pragma once
/// What each worker rank owns of its node: a share of the cores and GPUs (docs/design.md §5).
///
/// Call order in a worker: load a Topology, optionally gather every node-local worker's
/// this_thread_binding() (one MPI_Allgather over the shared-memory communicator), then
/// `worker_share(topology, local_rank, local_size, overrides, bindings)`; build a core::ResourcePool
/// from the result.

#include <hwloc.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "core/resources.hpp"
#include "hw/topology.hpp"

namespace mpiq::hw {

/// `--worker-cores` / `--worker-gpus`: trim a worker's share to at most this many.
struct ShareOverrides {
  std::optional<uint32_t> cores;  ///< keep this many cores (>= 1), preferring those near the kept GPUs
  std::optional<uint32_t> gpus;   ///< keep the first this many GPUs (0 = none)
};

/// The node split among `nranks` unbound ranks: equal shares (core counts differ by at most one),
/// each a contiguous run of cores in topology order, cut so that as few shares as possible straddle a
/// NUMA node or package; disjoint, and together every allowed core. With more ranks than cores the
/// node is split by PU instead (one PU per slot), and with more ranks than PUs the ranks beyond the
/// PU count get empty shares.
///
/// GPUs go to ranks with cores. Locality comes first: a GPU goes to a rank with cores on its NUMA node
/// whenever one exists (else on its package, else anywhere); among equally close ranks the counts are
/// as equal as possible, then the rank with more cores near the GPU wins, then the index order. So
/// the GPUs of a NUMA node are shared by the ranks on that node, and a rank far from every GPU gets
/// none (em64t with 2 ranks: both GPUs sit on NUMA node 1 and go to rank 1), as Slurm's
/// `--gpu-bind=closest` would have it. Throws InputError when `nranks` < 1.
std::vector<core::WorkerShare> split_node(const Topology& topology, int nranks);

/// The share of a rank the launcher bound to `bound`: the allowed cores it touches (each with only its
/// PUs inside `bound`), and a part of the GPUs near it (a GPU is near when its locality cpuset meets
/// `bound`, or when its locality is unknown).
///
/// `local_bindings`, when given, is every node-local worker's binding indexed by local rank (the
/// worker gathers this_thread_binding() over its node communicator once at start-up). With it:
/// - ranks bound to the very same cpuset (mpirun --bind-to package with several ranks per package)
///   split its cores as split_node would, in local rank order, instead of all owning all of it;
/// - the GPUs near `bound` are split among the ranks whose near GPUs are the same, ordered by their
///   first PU then local rank.
/// Without it the GPU sharers are estimated from the binding's shape, assuming the launcher placed
/// equal-sized bindings side by side (--bind-to core, l3cache, numa): sharer count = cores near those
/// GPUs / cores in `bound`, capped at `local_size`, and this rank's position = cores before it / its
/// width; ranks bound to identical cpusets then cannot be told apart and each owns all of it.
/// Sharer i of S takes near GPU j when floor(j*S/G) == i, so with fewer GPUs than sharers some take
/// none. Throws Error when `bound` holds no allowed PU.
core::WorkerShare share_from_cpuset(const Topology& topology, hwloc_const_cpuset_t bound, int local_rank,
                                    int local_size, const std::vector<std::vector<int>>& local_bindings = {});

/// share_from_cpuset with the binding given as PU OS indices.
core::WorkerShare share_from_pus(const Topology& topology, const std::vector<int>& bound, int local_rank,
                                 int local_size, const std::vector<std::vector<int>>& local_bindings = {});

/// The PUs (OS indices, ascending) this thread is bound to, within the topology's allowed PUs, as
/// hwloc_get_cpubind reports it; empty when the topology is not this machine (XML, synthetic).
std::vector<int> current_binding(const Topology& topology);

/// What worker `local_rank` of `local_size` node-local workers owns: when the launcher bound it
/// (current_binding is non-empty and smaller than the allowed PUs), share_from_pus of that binding;
/// otherwise split_node(local_size)[local_rank]. Then trimmed by `overrides`. Throws InputError for an
/// override the share cannot meet, Error for a local_rank outside [0, local_size).
core::WorkerShare worker_share(const Topology& topology, int local_rank, int local_size,
                               const ShareOverrides& overrides = {},
                               const std::vector<std::vector<int>>& local_bindings = {});

/// `share` cut down to `overrides` (see ShareOverrides). Throws InputError when it asks for more than
/// the share has, or for 0 cores.
core::WorkerShare trim_share(core::WorkerShare share, const ShareOverrides& overrides);

/// Every PU of `share`, ascending.
std::vector<int> share_pus(const core::WorkerShare& share);

}  // namespace mpiq::hw
