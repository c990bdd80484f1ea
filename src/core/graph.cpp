#include "core/graph.hpp"

#include <algorithm>
#include <limits>

namespace mpiq::core {

Csr dependants(const TaskTable& table) {
  const size_t n = table.size();
  Csr out;
  out.offsets.assign(n + 1, 0);
  for (TaskIndex d : table.deps) ++out.offsets[d + 1];
  for (size_t i = 0; i < n; ++i) out.offsets[i + 1] += out.offsets[i];
  out.edges.resize(table.deps.size());
  // Filling row by row keeps each row's dependants in ascending order.
  std::vector<uint64_t> next(out.offsets.begin(), out.offsets.end() - 1);
  for (size_t r = 0; r < n; ++r)
    for (uint64_t k = table.dep_offsets[r]; k < table.dep_offsets[r + 1]; ++k)
      out.edges[next[table.deps[k]]++] = static_cast<TaskIndex>(r);
  return out;
}

std::vector<TaskIndex> topological_order(const TaskTable& table, const Csr& dependants) {
  const size_t n = table.size();
  std::vector<uint64_t> waiting(n);
  std::vector<TaskIndex> order;
  order.reserve(n);
  for (size_t r = 0; r < n; ++r) {
    waiting[r] = table.dep_offsets[r + 1] - table.dep_offsets[r];
    if (waiting[r] == 0) order.push_back(static_cast<TaskIndex>(r));
  }
  // Kahn's algorithm with `order` as its own queue: rows before `head` are done.
  for (size_t head = 0; head < order.size(); ++head) {
    const TaskIndex r = order[head];
    for (uint64_t k = dependants.offsets[r]; k < dependants.offsets[r + 1]; ++k)
      if (--waiting[dependants.edges[k]] == 0) order.push_back(dependants.edges[k]);
  }
  return order;
}

std::vector<uint32_t> critical_path(const TaskTable& table, const Csr& dependants) {
  const std::vector<TaskIndex> order = topological_order(table, dependants);
  std::vector<uint32_t> path(table.size(), 0);
  // In reverse topological order every dependant is final before the row that it waits for.
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const TaskIndex r = *it;
    uint32_t longest = 0;
    for (uint64_t k = dependants.offsets[r]; k < dependants.offsets[r + 1]; ++k)
      longest = std::max(longest, path[dependants.edges[k]]);
    path[r] = longest + (table.is_barrier(r) ? 0 : 1);
  }
  return path;
}

GraphSummary summarize(const TaskTable& table) {
  GraphSummary s;
  const size_t n = table.size();
  s.edges = table.edge_count();
  const std::vector<TaskIndex> order = topological_order(table, dependants(table));
  // level = tasks on the longest chain that ends at the row, itself included; barriers add nothing.
  std::vector<uint64_t> level(n, 0);
  for (TaskIndex r : order) {
    uint64_t deepest = 0;
    for (uint64_t k = table.dep_offsets[r]; k < table.dep_offsets[r + 1]; ++k)
      deepest = std::max(deepest, level[table.deps[k]]);
    level[r] = deepest + (table.is_barrier(r) ? 0 : 1);
  }
  for (size_t r = 0; r < n; ++r) {
    if (table.is_barrier(static_cast<TaskIndex>(r))) {
      ++(table.is_sweep_join(static_cast<TaskIndex>(r)) ? s.sweeps : s.barriers);
      continue;
    }
    ++s.tasks;
    if (table.dep_offsets[r + 1] == table.dep_offsets[r]) ++s.roots;
    s.depth = std::max(s.depth, level[r]);
    s.max_cores = std::max(s.max_cores, table.cores[r]);
    s.max_gpus = std::max(s.max_gpus, table.gpus[r]);
    s.max_mem_kb = std::max(s.max_mem_kb, table.mem_kb[r]);
  }
  std::vector<uint64_t> width(s.depth + 1, 0);
  for (size_t r = 0; r < n; ++r)
    if (!table.is_barrier(static_cast<TaskIndex>(r))) ++width[level[r]];
  // Level 0 only holds rows on or after a cycle, which have no level.
  for (size_t d = 1; d < width.size(); ++d) s.widest_level = std::max(s.widest_level, width[d]);
  return s;
}

std::vector<TaskIndex> find_cycle(const TaskTable& table) {
  const size_t n = table.size();
  const std::vector<TaskIndex> order = topological_order(table, dependants(table));
  if (order.size() == n) return {};
  std::vector<uint8_t> ordered(n, 0);
  for (TaskIndex r : order) ordered[r] = 1;
  // Every row left out of the order waits for at least one other row left out (else it would have been
  // ordered), so following such dependencies from any of them must come back to a row already seen.
  TaskIndex r = 0;
  while (ordered[r]) ++r;
  constexpr uint32_t kUnseen = std::numeric_limits<uint32_t>::max();
  std::vector<uint32_t> position(n, kUnseen);
  std::vector<TaskIndex> path;
  while (position[r] == kUnseen) {
    position[r] = static_cast<uint32_t>(path.size());
    path.push_back(r);
    for (uint64_t k = table.dep_offsets[r];; ++k) {
      if (!ordered[table.deps[k]]) {
        r = table.deps[k];
        break;
      }
    }
  }
  std::vector<TaskIndex> cycle(path.begin() + position[r], path.end());
  std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
  return cycle;
}

}  // namespace mpiq::core
