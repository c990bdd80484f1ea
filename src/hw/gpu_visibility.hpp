#pragma once
/// Which of a node's GPUs this process may use, as the launcher and the batch system said
/// (`CUDA_VISIBLE_DEVICES`, `ROCR_VISIBLE_DEVICES`, `SLURM_STEP_GPUS`), and the variables a task needs
/// to see exactly the GPUs it was given.
///
/// Rules (what `restrict_gpus` does):
/// - `SLURM_STEP_GPUS` (or, outside a step, `SLURM_JOB_GPUS`: indices into the node's GPUs in PCI order,
///   as Slurm's gres numbers them) selects the usable GPUs of every vendor. The vendor variable, when it
///   lists as many devices of that vendor, gives each selected GPU its `visible_id` in order: Slurm sets
///   `CUDA_VISIBLE_DEVICES` relative to the devices the job's cgroup exposes (0,1,...) or to the whole node,
///   and either way its n-th entry names the n-th GPU of the step.
/// - Otherwise `CUDA_VISIBLE_DEVICES` selects NVIDIA GPUs and `ROCR_VISIBLE_DEVICES` AMD GPUs: an
///   integer is the vendor runtime's index (PCI order among that vendor's GPUs; AMD uses the ROCm SMI
///   index when hwloc reports one), a `GPU-...`/`MIG-...` token is a UUID matched against hwloc's
///   NVIDIAUUID/AMDUUID. The entry itself becomes `visible_id`: a task's variable replaces the outer one,
///   so it must name devices the way the outer one did.
/// - A UUID that matches no detected GPU, or a listed device when hwloc sees none of that vendor,
///   becomes a GPU of unknown locality (no PCI id, NUMA -1, all CPUs near): the runtime knows it, hwloc
///   does not (a container without /sys/bus/pci, a MIG instance).
/// - An empty variable means no GPU of that kind is usable; in the vendor variables a negative index
///   ends the list, as the CUDA runtime reads it (`CUDA_VISIBLE_DEVICES=-1` hides every GPU). A malformed
///   value (an empty item, a word that is neither an index nor a UUID) or an index beyond the detected GPUs
///   is an InputError naming the variable and its value.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/resources.hpp"

namespace mpiq::hw {

/// One GPU as hwloc found it: the slot a worker hands out, plus where it sits.
struct Gpu {
  core::GpuSlot slot;     ///< index, vendor, model, PCI bus id, visible_id, NUMA node
  std::vector<int> cpus;  ///< OS indices of the PUs near it (its non-I/O ancestor); empty = unknown
  int package = -1;       ///< logical index of the package it hangs off, -1 when unknown or several
  std::string uuid;       ///< "GPU-..." from hwloc's NVIDIAUUID/AMDUUID when known, else ""
};

/// The values of the GPU selection variables, each absent when unset. Kept apart from the process
/// environment so tests can state them.
struct GpuVisibilityEnv {
  std::optional<std::string> cuda_visible_devices;  ///< CUDA_VISIBLE_DEVICES
  std::optional<std::string> rocr_visible_devices;  ///< ROCR_VISIBLE_DEVICES
  std::optional<std::string> slurm_step_gpus;       ///< SLURM_STEP_GPUS
  std::optional<std::string> slurm_job_gpus;        ///< SLURM_JOB_GPUS, used when SLURM_STEP_GPUS is unset

  /// The variables as this process sees them.
  static GpuVisibilityEnv from_process();
};

/// The items of a device list variable: "" gives none; each item is a non-negative integer or a
/// `GPU-`/`MIG-` UUID (for SLURM_STEP_GPUS also a range "2-3", expanded). Throws InputError
/// "`VARIABLE=VALUE`: ..." for anything else.
std::vector<std::string> parse_device_list(const std::string& variable, const std::string& value);

/// The GPUs of `detected` (all of the node's GPUs, in PCI order, `slot.index` = position) that `env`
/// lets this process use, with their `visible_id` set, following the rules at the top of this file.
std::vector<Gpu> restrict_gpus(const std::vector<Gpu>& detected, const GpuVisibilityEnv& env);

/// The environment a task needs to use exactly `task_gpus`: for NVIDIA `CUDA_VISIBLE_DEVICES` (with
/// `CUDA_DEVICE_ORDER=PCI_BUS_ID`, the order the indices were computed in), for AMD
/// `ROCR_VISIBLE_DEVICES`, for Intel `ZE_AFFINITY_MASK`, for a GPU of unknown vendor both CUDA's and
/// ROCm's. For every vendor in `node_vendors` (Topology::gpu_vendors()) that the task got no GPU of,
/// the variable is set to "" so the task cannot grab a GPU another task was given: CUDA, ROCm and
/// Level Zero all read an empty list as "no device".
std::vector<std::pair<std::string, std::string>> gpu_environment(
    const std::vector<core::GpuSlot>& task_gpus, const std::vector<std::string>& node_vendors);

}  // namespace mpiq::hw
