#include "hw/binding.hpp"

#include <sched.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "hw/cpu_list.hpp"
#include "mpiq/error.hpp"

namespace mpiq::hw {

namespace {

struct CpuSetDeleter {
  void operator()(cpu_set_t* set) const noexcept { CPU_FREE(set); }
};
using CpuSet = std::unique_ptr<cpu_set_t, CpuSetDeleter>;

CpuSet alloc_cpu_set(int cpus) {
  CpuSet set(CPU_ALLOC(cpus));
  if (!set) throw Error("CPU_ALLOC failed");
  CPU_ZERO_S(CPU_ALLOC_SIZE(cpus), set.get());
  return set;
}

}  // namespace

void bind_this_thread(const std::vector<int>& pus) {
  if (pus.empty()) throw Error("cannot bind to an empty CPU list");
  int max_pu = 0;
  for (int pu : pus) {
    if (pu < 0) throw Error("cannot bind to CPU " + std::to_string(pu));
    max_pu = std::max(max_pu, pu);
  }
  const int cpus = max_pu + 1;
  CpuSet set = alloc_cpu_set(cpus);
  const size_t size = CPU_ALLOC_SIZE(cpus);
  for (int pu : pus) CPU_SET_S(static_cast<size_t>(pu), size, set.get());
  if (sched_setaffinity(0, size, set.get()) != 0)
    throw Error("cannot bind to CPUs " + cpu_list(pus) + ": " + std::strerror(errno));
}

std::vector<int> this_thread_binding() {
  // The kernel's mask may be wider than CPU_SETSIZE: grow until sched_getaffinity accepts the size.
  for (int cpus = 1024;; cpus *= 2) {
    CpuSet set = alloc_cpu_set(cpus);
    const size_t size = CPU_ALLOC_SIZE(cpus);
    if (sched_getaffinity(0, size, set.get()) != 0) {
      if (errno == EINVAL && cpus < (1 << 22)) continue;
      throw Error(std::string("sched_getaffinity failed: ") + std::strerror(errno));
    }
    std::vector<int> pus;
    for (int pu = 0; pu < cpus; ++pu)
      if (CPU_ISSET_S(static_cast<size_t>(pu), size, set.get())) pus.push_back(pu);
    return pus;
  }
}

ScopedThreadBinding::ScopedThreadBinding(const std::vector<int>& pus, std::vector<int> restore_to)
    : restore_to_(std::move(restore_to)) {
  bind_this_thread(pus);
}

ScopedThreadBinding::~ScopedThreadBinding() {
  try {
    bind_this_thread(restore_to_);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpiq: cannot restore the worker's CPU binding: %s\n", e.what());
  }
}

}  // namespace mpiq::hw
