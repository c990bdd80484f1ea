#pragma once
/// Packs concurrent tasks into a worker's share: which cores and GPUs each task gets.
///
/// Pure logic over core::WorkerShare (no hwloc, no system calls), so the worker's decisions can be
/// tested in microseconds. Locality is judged by NUMA node only: a WorkerShare carries no distance
/// matrix, so "nearest" NUMA node means the nearest OS index, which on the machines we know is the
/// next node of the same package.

#include <cstdint>
#include <optional>
#include <vector>

#include "core/resources.hpp"

namespace mpiq::core {

/// The free and busy cores and GPUs of one worker. Each call is O(cores + GPUs).
class ResourcePool {
 public:
  /// A pool where everything in `share` is free.
  explicit ResourcePool(WorkerShare share);

  /// Takes `cores` cores and `gpus` GPUs, or returns nullopt (and takes nothing) when they are not
  /// free now. GPUs first: all on one NUMA node when one has enough free (the one where the cores
  /// also fit, and of those the one with the fewest free GPUs, to keep larger groups whole), else from
  /// the nodes with most free GPUs. Then cores on those GPUs' NUMA node(s), then on the nearest other
  /// nodes. A CPU-only task takes cores on NUMA nodes without free GPUs first, so GPU tasks keep their
  /// cores, and on one node when one has room. Within a node the cores are a contiguous run when one
  /// is free (the shortest that fits), so tasks stay packed and the free space unfragmented.
  std::optional<Allocation> allocate(uint32_t cores, uint32_t gpus);

  /// Frees what `allocation` holds. Throws mpiq::Error when it holds an index that is out of range or
  /// not allocated (a double release is a bug in the caller, never something to absorb silently).
  void release(const Allocation& allocation);

  /// True when a request this size could ever be met by this worker (when everything is free).
  bool fits_at_all(uint32_t cores, uint32_t gpus) const noexcept {
    return cores <= total_cores() && gpus <= total_gpus();
  }

  uint32_t free_cores() const noexcept { return free_cores_; }  ///< cores not allocated now
  uint32_t free_gpus() const noexcept { return free_gpus_; }    ///< GPUs not allocated now
  /// Cores in the share.
  uint32_t total_cores() const noexcept { return static_cast<uint32_t>(share_.cores.size()); }
  /// GPUs in the share.
  uint32_t total_gpus() const noexcept { return static_cast<uint32_t>(share_.gpus.size()); }
  /// The share the pool was built from.
  const WorkerShare& share() const noexcept { return share_; }

  /// The PU OS indices of an allocation's cores, ascending: what the task is bound to.
  std::vector<int> pus_of(const Allocation& allocation) const;
  /// The GPUs of an allocation, in index order: what gpu_environment() takes.
  std::vector<GpuSlot> gpus_of(const Allocation& allocation) const;

 private:
  std::vector<uint32_t> pick_gpus(uint32_t count, uint32_t cores) const;
  std::vector<uint32_t> pick_cores(uint32_t count, const std::vector<int>& numa_order) const;
  std::vector<int> cpu_only_numa_order(uint32_t cores) const;
  std::vector<int> gpu_task_numa_order(const std::vector<uint32_t>& gpus) const;
  uint32_t free_cores_on(int numa) const;
  uint32_t free_gpus_on(int numa) const;

  WorkerShare share_;
  std::vector<bool> core_busy_;
  std::vector<bool> gpu_busy_;
  std::vector<int> numa_ids_;  // distinct NUMA ids of cores and GPUs, ascending (-1 included if present)
  uint32_t free_cores_ = 0;
  uint32_t free_gpus_ = 0;
};

}  // namespace mpiq::core
