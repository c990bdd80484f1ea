#pragma once
/// What a worker owns (its share of a node) and what a task is given from it. Plain data, filled by
/// src/hw from hwloc and used by the pure ResourcePool (core/resource_pool.hpp) to pack tasks.

#include <cstdint>
#include <string>
#include <vector>

namespace mpiq::core {

/// One physical core of a worker's share.
struct CoreSlot {
  std::vector<int> pus;  ///< OS indices of its processing units (hardware threads) in the share
  int numa = -1;         ///< OS index of its NUMA node, -1 when unknown
};

/// One physical GPU of a worker's share.
struct GpuSlot {
  int index = 0;           ///< index among the node's GPUs, in PCI order
  std::string vendor;      ///< "nvidia", "amd", "intel" or "" when unknown
  std::string model;       ///< e.g. "Tesla P100-SXM2-16GB", may be ""
  std::string pci;         ///< PCI bus id "0000:03:00.0", may be ""
  std::string visible_id;  ///< the value for CUDA_VISIBLE_DEVICES / ROCR_VISIBLE_DEVICES / ZE_AFFINITY_MASK
  int numa = -1;           ///< OS index of the NUMA node it is attached to, -1 when unknown
};

/// A worker rank's share of its node.
struct WorkerShare {
  std::vector<CoreSlot> cores;
  std::vector<GpuSlot> gpus;
};

/// What one task was given: indices into WorkerShare::cores and WorkerShare::gpus.
struct Allocation {
  std::vector<uint32_t> cores;
  std::vector<uint32_t> gpus;
};

}  // namespace mpiq::core
