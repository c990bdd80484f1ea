#include "hw/shares.hpp"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <limits>
#include <numeric>
#include <string>

#include "core/task_syntax.hpp"
#include "hw/cpu_list.hpp"
#include "hw/hwloc_error.hpp"
#include "mpiq/error.hpp"

namespace mpiq::hw {

namespace {

/// The unit a node is split in: a core, or a single PU when there are more ranks than cores.
struct Unit {
  std::vector<int> pus;
  int numa = -1;
  int package = -1;
};

std::vector<Unit> split_units(const Topology& topology, size_t nranks) {
  std::vector<Unit> units;
  const bool by_pu = nranks > topology.cores().size();
  for (const Core& c : topology.cores()) {
    if (by_pu) {
      for (int pu : c.pus) units.push_back({{pu}, c.numa, c.package});
    } else {
      units.push_back({c.pus, c.numa, c.package});
    }
  }
  return units;
}

/// Sizes of `ranks` contiguous runs over `units` (each q or q+1 long, the q+1 ones as many as needed)
/// that minimise the NUMA and package boundaries crossed inside a run; ties give the longer runs to
/// the lower ranks.
std::vector<size_t> run_lengths(const std::vector<Unit>& units, size_t ranks) {
  const size_t n = units.size();
  const size_t q = n / ranks;  // >= 1: callers never ask for more runs than units
  const size_t r = n % ranks;
  // crossings[i]: boundaries crossed between unit 0 and unit i (a package boundary weighs 2).
  std::vector<int64_t> crossings(n, 0);
  for (size_t i = 1; i < n; ++i)
    crossings[i] = crossings[i - 1] + (units[i].numa != units[i - 1].numa ? 1 : 0) +
                   (units[i].package != units[i - 1].package ? 2 : 0);
  const auto cost = [&](size_t begin, size_t end) { return crossings[end - 1] - crossings[begin]; };
  constexpr int64_t kInf = std::numeric_limits<int64_t>::max() / 4;
  // best[i][j]: least cost of placing ranks i.. when j longer runs were used before rank i.
  std::vector<std::vector<int64_t>> best(ranks + 1, std::vector<int64_t>(r + 1, kInf));
  best[ranks][r] = 0;
  for (size_t i = ranks; i-- > 0;) {
    for (size_t j = 0; j <= r; ++j) {
      if (r - j > ranks - i) continue;
      const size_t start = i * q + j;
      int64_t b = kInf;
      if (j < r && best[i + 1][j + 1] < kInf) b = cost(start, start + q + 1) + best[i + 1][j + 1];
      if (best[i + 1][j] < kInf) b = std::min(b, cost(start, start + q) + best[i + 1][j]);
      best[i][j] = b;
    }
  }
  std::vector<size_t> lengths;
  size_t j = 0;
  for (size_t i = 0; i < ranks; ++i) {
    const size_t start = i * q + j;
    const bool can_long = j < r && best[i + 1][j + 1] < kInf;
    const int64_t long_cost = can_long ? cost(start, start + q + 1) + best[i + 1][j + 1] : kInf;
    if (can_long && long_cost == best[i][j]) {
      lengths.push_back(q + 1);
      ++j;
    } else {
      lengths.push_back(q);
    }
  }
  return lengths;
}

/// Minimum-cost assignment of items (GPUs) to bins (ranks), where a bin's k-th item costs
/// `load_cost * k` on top of the item's own cost: the convex load cost spreads items evenly among the
/// bins that are equally good for them. Successive shortest paths (Bellman-Ford queue) on a network of
/// G + R + 2 nodes; G is a node's GPU count and R its rank count, and this runs once at start-up.
class Assignment {
 public:
  Assignment(size_t items, size_t bins) : items_(items), bins_(bins), graph_(items + bins + 2) {}

  void set_cost(size_t item, size_t bin, int64_t cost) { add_edge(item, items_ + bin, 1, cost); }

  /// The bin of each item.
  std::vector<size_t> solve(int64_t load_cost) {
    const size_t source = items_ + bins_, sink = source + 1;
    for (size_t i = 0; i < items_; ++i) add_edge(source, i, 1, 0);
    for (size_t b = 0; b < bins_; ++b)
      for (size_t k = 0; k < items_; ++k) add_edge(items_ + b, sink, 1, load_cost * static_cast<int64_t>(k));
    for (size_t flow = 0; flow < items_; ++flow)
      if (!augment(source, sink)) break;
    std::vector<size_t> bin_of(items_, 0);
    for (size_t i = 0; i < items_; ++i)
      for (const Edge& e : graph_[i])
        if (e.to >= items_ && e.to < items_ + bins_ && e.capacity == 0) bin_of[i] = e.to - items_;
    return bin_of;
  }

 private:
  struct Edge {
    size_t to, reverse;
    int capacity;
    int64_t cost;
  };

  void add_edge(size_t from, size_t to, int capacity, int64_t cost) {
    graph_[from].push_back({to, graph_[to].size(), capacity, cost});
    graph_[to].push_back({from, graph_[from].size() - 1, 0, -cost});
  }

  bool augment(size_t source, size_t sink) {
    constexpr int64_t kInf = std::numeric_limits<int64_t>::max() / 4;
    const size_t n = graph_.size();
    std::vector<int64_t> dist(n, kInf);
    std::vector<std::pair<size_t, size_t>> parent(n, {n, 0});
    std::vector<bool> queued(n, false);
    std::deque<size_t> queue{source};
    dist[source] = 0;
    while (!queue.empty()) {
      const size_t u = queue.front();
      queue.pop_front();
      queued[u] = false;
      for (size_t k = 0; k < graph_[u].size(); ++k) {
        const Edge& e = graph_[u][k];
        if (e.capacity > 0 && dist[u] + e.cost < dist[e.to]) {
          dist[e.to] = dist[u] + e.cost;
          parent[e.to] = {u, k};
          if (!queued[e.to]) {
            queued[e.to] = true;
            queue.push_back(e.to);
          }
        }
      }
    }
    if (dist[sink] == kInf) return false;
    for (size_t v = sink; v != source; v = parent[v].first) {
      Edge& e = graph_[parent[v].first][parent[v].second];
      --e.capacity;
      ++graph_[v][e.reverse].capacity;
    }
    return true;
  }

  size_t items_, bins_;
  std::vector<std::vector<Edge>> graph_;
};

/// Membership test over PU OS indices.
class PuSet {
 public:
  explicit PuSet(const std::vector<int>& pus) {
    for (int pu : pus) {
      if (pu < 0) continue;
      if (static_cast<size_t>(pu) >= bits_.size()) bits_.resize(pu + 1, false);
      bits_[pu] = true;
    }
  }
  bool contains(int pu) const { return pu >= 0 && static_cast<size_t>(pu) < bits_.size() && bits_[pu]; }
  size_t count_of(const std::vector<int>& pus) const {
    return static_cast<size_t>(std::count_if(pus.begin(), pus.end(), [&](int pu) { return contains(pu); }));
  }

 private:
  std::vector<bool> bits_;
};

/// Gives each GPU of `topology` to one of `shares` (those with cores), see split_node.
void assign_gpus(const Topology& topology, const std::vector<std::vector<const Unit*>>& rank_units,
                 std::vector<core::WorkerShare>& shares) {
  const auto& gpus = topology.gpus();
  std::vector<size_t> bins;
  for (size_t r = 0; r < rank_units.size(); ++r)
    if (!rank_units[r].empty()) bins.push_back(r);
  if (gpus.empty() || bins.empty()) return;
  const int64_t g_count = static_cast<int64_t>(gpus.size()), r_count = static_cast<int64_t>(bins.size());
  const int64_t max_pus = static_cast<int64_t>(topology.pu_count());
  // Lexicographic objective packed into one integer, each weight above the largest total of the terms
  // below it: (1) GPUs off a NUMA node the rank has cores on (then off its package), (2) imbalance,
  // as the convex load cost, (3) cores far from the GPU, (4) squared distance from the index order
  // "GPU i to rank i*R/G", so equally good answers come out in a natural order. Terms (4), then (3),
  // are dropped where the weights would overflow (thousands of GPUs times ranks: no such node).
  const long double order_total =
      static_cast<long double>(g_count) * (g_count * r_count) * (g_count * r_count);
  const long double near_total = static_cast<long double>(g_count) * max_pus;
  const long double load_total = static_cast<long double>(g_count) * g_count;
  const bool use_order = (order_total + 1) * (near_total + 1) * (load_total + 1) * 3 * g_count < 4e18L;
  const bool use_near = (near_total + 1) * (load_total + 1) * 3 * g_count < 4e18L;
  const int64_t near_weight = use_order ? static_cast<int64_t>(order_total) + 1 : 1;
  const int64_t load_weight = use_near ? near_weight * (static_cast<int64_t>(near_total) + 1) : 1;
  const int64_t level_weight = load_weight * (static_cast<int64_t>(load_total) + 1);
  Assignment assignment(gpus.size(), bins.size());
  for (size_t g = 0; g < gpus.size(); ++g) {
    const Gpu& gpu = gpus[g];
    const PuSet local(gpu.cpus);
    for (size_t b = 0; b < bins.size(); ++b) {
      int64_t near = 0;
      bool on_numa = false, on_package = false;
      for (const Unit* u : rank_units[bins[b]]) {
        near += static_cast<int64_t>(local.count_of(u->pus));
        on_numa = on_numa || (gpu.slot.numa >= 0 && u->numa == gpu.slot.numa);
        on_package = on_package || (gpu.package >= 0 && u->package == gpu.package);
      }
      const bool unknown = gpu.cpus.empty();
      const int64_t level = unknown || on_numa || (gpu.slot.numa < 0 && near > 0) ? 0 : on_package ? 1 : 2;
      const int64_t offset = static_cast<int64_t>(g) * r_count - static_cast<int64_t>(b) * g_count;
      const int64_t order = use_order ? offset * offset : 0;
      const int64_t far = use_near ? max_pus - std::min(near, max_pus) : 0;
      assignment.set_cost(g, b, level * level_weight + far * near_weight + order);
    }
  }
  const std::vector<size_t> bin_of = assignment.solve(load_weight);
  for (size_t g = 0; g < gpus.size(); ++g) shares[bins[bin_of[g]]].gpus.push_back(gpus[g].slot);
}

core::CoreSlot to_slot(const Unit& u) {
  return core::CoreSlot{u.pus, u.numa};
}

/// Positions in topology.gpus() of the GPUs near `pus`.
std::vector<size_t> near_gpus(const Topology& topology, const std::vector<int>& pus) {
  const PuSet bound(pus);
  std::vector<size_t> near;
  for (size_t g = 0; g < topology.gpus().size(); ++g) {
    const Gpu& gpu = topology.gpus()[g];
    if (gpu.cpus.empty() || bound.count_of(gpu.cpus) > 0) near.push_back(g);
  }
  return near;
}

struct Sharers {
  size_t index = 0;
  size_t count = 1;
};

Sharers exact_sharers(const Topology& topology, const std::vector<std::vector<int>>& bindings,
                      size_t local_rank) {
  const auto mine = near_gpus(topology, bindings[local_rank]);
  std::vector<std::pair<int, size_t>> group;  // (first PU, local rank)
  for (size_t k = 0; k < bindings.size(); ++k) {
    if (near_gpus(topology, bindings[k]) != mine) continue;
    const int first = bindings[k].empty() ? -1 : *std::min_element(bindings[k].begin(), bindings[k].end());
    group.emplace_back(first, k);
  }
  std::sort(group.begin(), group.end());
  Sharers s;
  s.count = group.size();
  for (size_t i = 0; i < group.size(); ++i)
    if (group[i].second == local_rank) s.index = i;
  return s;
}

Sharers estimated_sharers(const Topology& topology, const std::vector<int>& bound,
                          const std::vector<size_t>& near, size_t local_size) {
  std::vector<int> domain_pus;
  for (size_t g : near)
    domain_pus.insert(domain_pus.end(), topology.gpus()[g].cpus.begin(), topology.gpus()[g].cpus.end());
  const PuSet domain(domain_pus);
  const PuSet mine(bound);
  const bool whole_node = domain_pus.empty();
  size_t domain_cores = 0, width = 0, before = 0;
  bool seen_mine = false;
  for (const Core& c : topology.cores()) {
    const bool in_domain = whole_node || domain.count_of(c.pus) > 0;
    const bool is_mine = mine.count_of(c.pus) > 0;
    if (is_mine) {
      ++width;
      seen_mine = true;
    }
    if (!in_domain) continue;
    ++domain_cores;
    if (!seen_mine) ++before;
  }
  Sharers s;
  if (width == 0) return s;
  s.count = std::clamp<size_t>(domain_cores / width, 1, std::max<size_t>(local_size, 1));
  s.index = std::min(before / width, s.count - 1);
  return s;
}

}  // namespace

std::vector<core::WorkerShare> split_node(const Topology& topology, int nranks) {
  if (nranks < 1)
    throw InputError("the number of ranks must be at least 1 (got " + std::to_string(nranks) + ")");
  const std::vector<Unit> units = split_units(topology, static_cast<size_t>(nranks));
  std::vector<core::WorkerShare> shares(static_cast<size_t>(nranks));
  std::vector<std::vector<const Unit*>> rank_units(shares.size());
  const size_t with_units = std::min(shares.size(), units.size());
  if (with_units == 0) return shares;
  const std::vector<size_t> lengths = run_lengths(units, with_units);
  size_t next = 0;
  for (size_t r = 0; r < with_units; ++r) {
    for (size_t k = 0; k < lengths[r]; ++k, ++next) {
      shares[r].cores.push_back(to_slot(units[next]));
      rank_units[r].push_back(&units[next]);
    }
  }
  assign_gpus(topology, rank_units, shares);
  return shares;
}

core::WorkerShare share_from_pus(const Topology& topology, const std::vector<int>& bound, int local_rank,
                                 int local_size, const std::vector<std::vector<int>>& local_bindings) {
  const PuSet set(bound);
  std::vector<Unit> units;
  for (const Core& c : topology.cores()) {
    Unit u{{}, c.numa, c.package};
    for (int pu : c.pus)
      if (set.contains(pu)) u.pus.push_back(pu);
    if (!u.pus.empty()) units.push_back(std::move(u));
  }
  if (units.empty()) throw Error("the binding '" + cpu_list(bound) + "' holds no allowed PU");
  const bool exact = local_size > 0 && local_rank >= 0 && local_rank < local_size &&
                     local_bindings.size() == static_cast<size_t>(local_size);

  // Ranks the launcher bound to the very same cpuset (mpirun --bind-to package with several ranks per
  // package) split it as split_node would, in local rank order, instead of all owning all of it.
  size_t group = 1, position = 0;
  if (exact) {
    const auto sorted = [](std::vector<int> v) {
      std::sort(v.begin(), v.end());
      return v;
    };
    const std::vector<int> mine = sorted(local_bindings[static_cast<size_t>(local_rank)]);
    group = 0;
    for (size_t k = 0; k < local_bindings.size(); ++k) {
      if (sorted(local_bindings[k]) != mine) continue;
      if (k == static_cast<size_t>(local_rank)) position = group;
      ++group;
    }
  }
  core::WorkerShare share;
  if (group > 1) {
    if (group > units.size()) {
      std::vector<Unit> by_pu;
      for (const Unit& u : units)
        for (int pu : u.pus) by_pu.push_back({{pu}, u.numa, u.package});
      units = std::move(by_pu);
    }
    const size_t with_units = std::min(group, units.size());
    if (position < with_units) {
      const std::vector<size_t> lengths = run_lengths(units, with_units);
      size_t first = 0;
      for (size_t r = 0; r < position; ++r) first += lengths[r];
      for (size_t k = first; k < first + lengths[position]; ++k) share.cores.push_back(to_slot(units[k]));
    }
  } else {
    for (const Unit& u : units) share.cores.push_back(to_slot(u));
  }

  const std::vector<size_t> near = near_gpus(topology, bound);
  if (near.empty() || share.cores.empty()) return share;
  const Sharers sharers =
      exact ? exact_sharers(topology, local_bindings, static_cast<size_t>(local_rank))
            : estimated_sharers(topology, bound, near, static_cast<size_t>(std::max(local_size, 1)));
  for (size_t j = 0; j < near.size(); ++j)
    if (j * sharers.count / near.size() == sharers.index) share.gpus.push_back(topology.gpus()[near[j]].slot);
  return share;
}

core::WorkerShare share_from_cpuset(const Topology& topology, hwloc_const_cpuset_t bound, int local_rank,
                                    int local_size, const std::vector<std::vector<int>>& local_bindings) {
  std::vector<int> pus;
  for (int i = hwloc_bitmap_first(bound); i >= 0; i = hwloc_bitmap_next(bound, i)) pus.push_back(i);
  return share_from_pus(topology, pus, local_rank, local_size, local_bindings);
}

std::vector<int> current_binding(const Topology& topology) {
  if (!topology.is_this_system()) return {};
  Bitmap set;
  check_hwloc(hwloc_get_cpubind(topology.handle(), set.get(), HWLOC_CPUBIND_THREAD), "hwloc_get_cpubind");
  hwloc_bitmap_and(set.get(), set.get(), hwloc_topology_get_allowed_cpuset(topology.handle()));
  std::vector<int> pus;
  for (int i = hwloc_bitmap_first(set.get()); i >= 0; i = hwloc_bitmap_next(set.get(), i)) pus.push_back(i);
  return pus;
}

core::WorkerShare worker_share(const Topology& topology, int local_rank, int local_size,
                               const ShareOverrides& overrides,
                               const std::vector<std::vector<int>>& local_bindings) {
  if (local_size < 1 || local_rank < 0 || local_rank >= local_size)
    throw Error("worker_share: local rank " + std::to_string(local_rank) + " is not in [0, " +
                std::to_string(local_size) + ")");
  const std::vector<int> bound = current_binding(topology);
  core::WorkerShare share;
  if (!bound.empty() && bound.size() < topology.pu_count())
    share = share_from_pus(topology, bound, local_rank, local_size, local_bindings);
  else
    share = split_node(topology, local_size)[static_cast<size_t>(local_rank)];
  return trim_share(std::move(share), overrides);
}

core::WorkerShare trim_share(core::WorkerShare share, const ShareOverrides& overrides) {
  if (overrides.gpus) {
    if (*overrides.gpus > share.gpus.size())
      throw InputError("--worker-gpus " + std::to_string(*overrides.gpus) +
                       ": this worker's share has only " + core::plural(share.gpus.size(), "GPU"));
    share.gpus.resize(*overrides.gpus);
  }
  if (overrides.cores) {
    const size_t want = *overrides.cores;
    if (want == 0) throw InputError("--worker-cores must be at least 1");
    if (want > share.cores.size())
      throw InputError("--worker-cores " + std::to_string(want) + ": this worker's share has only " +
                       std::to_string(share.cores.size()) + " cores");
    // Keep the cores on the kept GPUs' NUMA nodes first, then the rest, in topology order.
    std::vector<bool> keep(share.cores.size(), false);
    size_t kept = 0;
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t i = 0; i < share.cores.size() && kept < want; ++i) {
        const bool near = std::any_of(share.gpus.begin(), share.gpus.end(),
                                      [&](const core::GpuSlot& g) { return g.numa == share.cores[i].numa; });
        if (!keep[i] && (pass == 1 || near)) {
          keep[i] = true;
          ++kept;
        }
      }
    }
    std::vector<core::CoreSlot> cores;
    for (size_t i = 0; i < share.cores.size(); ++i)
      if (keep[i]) cores.push_back(std::move(share.cores[i]));
    share.cores = std::move(cores);
  }
  return share;
}

std::vector<int> share_pus(const core::WorkerShare& share) {
  std::vector<int> pus;
  for (const core::CoreSlot& c : share.cores) pus.insert(pus.end(), c.pus.begin(), c.pus.end());
  std::sort(pus.begin(), pus.end());
  return pus;
}

}  // namespace mpiq::hw
