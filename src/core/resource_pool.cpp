#include "core/resource_pool.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <tuple>

#include "mpiq/error.hpp"

namespace mpiq::core {

ResourcePool::ResourcePool(WorkerShare share)
    : share_(std::move(share)),
      core_busy_(share_.cores.size(), false),
      gpu_busy_(share_.gpus.size(), false),
      free_cores_(static_cast<uint32_t>(share_.cores.size())),
      free_gpus_(static_cast<uint32_t>(share_.gpus.size())) {
  for (const CoreSlot& c : share_.cores) numa_ids_.push_back(c.numa);
  for (const GpuSlot& g : share_.gpus) numa_ids_.push_back(g.numa);
  std::sort(numa_ids_.begin(), numa_ids_.end());
  numa_ids_.erase(std::unique(numa_ids_.begin(), numa_ids_.end()), numa_ids_.end());
}

uint32_t ResourcePool::free_cores_on(int numa) const {
  uint32_t n = 0;
  for (size_t i = 0; i < share_.cores.size(); ++i)
    if (!core_busy_[i] && share_.cores[i].numa == numa) ++n;
  return n;
}

uint32_t ResourcePool::free_gpus_on(int numa) const {
  uint32_t n = 0;
  for (size_t i = 0; i < share_.gpus.size(); ++i)
    if (!gpu_busy_[i] && share_.gpus[i].numa == numa) ++n;
  return n;
}

std::vector<uint32_t> ResourcePool::pick_gpus(uint32_t count, uint32_t cores) const {
  std::vector<uint32_t> picked;
  if (count == 0) return picked;
  // Key of a NUMA node that can hold the whole request: cores fit there too, then fewest free GPUs
  // (best fit), then lowest id.
  std::optional<std::tuple<bool, uint32_t, int>> best_key;
  int best_numa = 0;
  for (int numa : numa_ids_) {
    const uint32_t free = free_gpus_on(numa);
    if (free < count) continue;
    const auto key = std::make_tuple(free_cores_on(numa) < cores, free, numa);
    if (!best_key || key < *best_key) {
      best_key = key;
      best_numa = numa;
    }
  }
  std::vector<int> order;
  if (best_key) {
    order.push_back(best_numa);
  } else {
    order = numa_ids_;
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return free_gpus_on(a) > free_gpus_on(b); });
  }
  for (int numa : order)
    for (uint32_t i = 0; i < share_.gpus.size() && picked.size() < count; ++i)
      if (!gpu_busy_[i] && share_.gpus[i].numa == numa) picked.push_back(i);
  std::sort(picked.begin(), picked.end());
  return picked;
}

std::vector<int> ResourcePool::gpu_task_numa_order(const std::vector<uint32_t>& gpus) const {
  std::vector<std::pair<int, int>> targets;  // (-count, numa)
  for (uint32_t g : gpus) {
    const int numa = share_.gpus[g].numa;
    auto it = std::find_if(targets.begin(), targets.end(), [&](const auto& t) { return t.second == numa; });
    if (it == targets.end())
      targets.emplace_back(-1, numa);
    else
      --it->first;
  }
  std::sort(targets.begin(), targets.end());
  std::vector<int> order;
  for (const auto& t : targets) order.push_back(t.second);
  std::vector<int> others;
  for (int numa : numa_ids_)
    if (std::find(order.begin(), order.end(), numa) == order.end()) others.push_back(numa);
  const auto distance = [&](int numa) {
    int d = 1 << 30;
    for (const auto& t : targets)
      if (t.second >= 0 && numa >= 0) d = std::min(d, std::abs(numa - t.second));
    return d;
  };
  std::stable_sort(others.begin(), others.end(), [&](int a, int b) { return distance(a) < distance(b); });
  order.insert(order.end(), others.begin(), others.end());
  return order;
}

std::vector<int> ResourcePool::cpu_only_numa_order(uint32_t cores) const {
  // A node that holds the whole task first (one without free GPUs preferred, then the tightest fit);
  // when none does, nodes without free GPUs first, fullest of free cores first.
  std::vector<std::tuple<bool, bool, int64_t, int>> keys;
  for (int numa : numa_ids_) {
    const uint32_t free = free_cores_on(numa);
    if (free == 0) continue;
    const bool fits = free >= cores;
    keys.emplace_back(!fits, free_gpus_on(numa) > 0, fits ? int64_t(free) : -int64_t(free), numa);
  }
  std::sort(keys.begin(), keys.end());
  std::vector<int> order;
  for (const auto& k : keys) order.push_back(std::get<3>(k));
  return order;
}

std::vector<uint32_t> ResourcePool::pick_cores(uint32_t count, const std::vector<int>& numa_order) const {
  std::vector<uint32_t> picked;
  for (int numa : numa_order) {
    if (picked.size() == count) break;
    const uint32_t need = count - static_cast<uint32_t>(picked.size());
    // Free runs on this node: consecutive share positions, all free, all on `numa`.
    std::vector<std::pair<uint32_t, uint32_t>> runs;  // (first, length)
    for (uint32_t i = 0; i < share_.cores.size(); ++i) {
      if (core_busy_[i] || share_.cores[i].numa != numa) continue;
      if (!runs.empty() && runs.back().first + runs.back().second == i)
        ++runs.back().second;
      else
        runs.emplace_back(i, 1);
    }
    // The shortest run that holds everything; else the longest runs first.
    const std::pair<uint32_t, uint32_t>* fit = nullptr;
    for (const auto& r : runs)
      if (r.second >= need && (fit == nullptr || r.second < fit->second)) fit = &r;
    if (fit != nullptr) {
      for (uint32_t k = 0; k < need; ++k) picked.push_back(fit->first + k);
      continue;
    }
    std::stable_sort(runs.begin(), runs.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    for (const auto& r : runs)
      for (uint32_t k = 0; k < r.second && picked.size() < count; ++k) picked.push_back(r.first + k);
  }
  std::sort(picked.begin(), picked.end());
  return picked;
}

std::optional<Allocation> ResourcePool::allocate(uint32_t cores, uint32_t gpus) {
  if (cores > free_cores_ || gpus > free_gpus_) return std::nullopt;
  Allocation a;
  a.gpus = pick_gpus(gpus, cores);
  a.cores = pick_cores(cores, gpus > 0 ? gpu_task_numa_order(a.gpus) : cpu_only_numa_order(cores));
  if (a.gpus.size() != gpus || a.cores.size() != cores) return std::nullopt;
  for (uint32_t c : a.cores) core_busy_[c] = true;
  for (uint32_t g : a.gpus) gpu_busy_[g] = true;
  free_cores_ -= cores;
  free_gpus_ -= gpus;
  return a;
}

void ResourcePool::release(const Allocation& allocation) {
  // Check everything before changing anything, so a bad call leaves the pool as it was.
  std::vector<bool> seen_core(core_busy_.size(), false), seen_gpu(gpu_busy_.size(), false);
  for (uint32_t c : allocation.cores) {
    if (c >= core_busy_.size() || !core_busy_[c] || seen_core[c])
      throw Error("ResourcePool::release: core " + std::to_string(c) + " is not allocated");
    seen_core[c] = true;
  }
  for (uint32_t g : allocation.gpus) {
    if (g >= gpu_busy_.size() || !gpu_busy_[g] || seen_gpu[g])
      throw Error("ResourcePool::release: GPU " + std::to_string(g) + " is not allocated");
    seen_gpu[g] = true;
  }
  for (uint32_t c : allocation.cores) core_busy_[c] = false;
  for (uint32_t g : allocation.gpus) gpu_busy_[g] = false;
  free_cores_ += static_cast<uint32_t>(allocation.cores.size());
  free_gpus_ += static_cast<uint32_t>(allocation.gpus.size());
}

std::vector<int> ResourcePool::pus_of(const Allocation& allocation) const {
  std::vector<int> pus;
  for (uint32_t c : allocation.cores)
    pus.insert(pus.end(), share_.cores[c].pus.begin(), share_.cores[c].pus.end());
  std::sort(pus.begin(), pus.end());
  return pus;
}

std::vector<GpuSlot> ResourcePool::gpus_of(const Allocation& allocation) const {
  std::vector<GpuSlot> gpus;
  for (uint32_t g : allocation.gpus) gpus.push_back(share_.gpus[g]);
  std::sort(gpus.begin(), gpus.end(), [](const GpuSlot& a, const GpuSlot& b) { return a.index < b.index; });
  return gpus;
}

}  // namespace mpiq::core
