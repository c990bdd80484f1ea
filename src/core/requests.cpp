#include "core/requests.hpp"

#include <algorithm>

#include "core/task_syntax.hpp"

namespace mpiq::core {

std::optional<UnmetRequest> find_unmet_request(const TaskTable& table,
                                               std::span<const WorkerCapacity> workers) {
  uint32_t max_cores = 0, max_gpus = 0;
  uint64_t max_mem = 0;  // the largest known node budget; 0 when none is known (no limit)
  bool mem_unknown = false;
  for (const WorkerCapacity& w : workers) {
    max_cores = std::max(max_cores, w.cores);
    max_gpus = std::max(max_gpus, w.gpus);
    max_mem = std::max(max_mem, w.mem_kb);
    mem_unknown = mem_unknown || w.mem_kb == 0;
  }
  // The last request found to fit: most files repeat one request, so most rows cost one comparison.
  uint32_t fit_cores = 0, fit_gpus = 0;
  bool any_fit = false;
  for (TaskIndex t = 0; t < table.size(); ++t) {
    if (table.is_barrier(t)) continue;
    // Memory is the node's, shared by its workers: a request above every node's budget can never
    // start, whatever the cores and GPUs (a node's budget is the same for each of its workers).
    if (!mem_unknown && table.mem_kb[t] > max_mem) {
      return UnmetRequest{t, "mem",
                          "asks for " + format_memory(table.mem_kb[t]) +
                              " of memory, but the node with the most " + "gives its tasks " +
                              format_memory(max_mem) +
                              " (the least of its memory, the Slurm allocation and the cgroup limit: see " +
                              "mpiq topology; a task is not limited to its mem=, which only reserves)"};
    }
    const uint32_t c = table.cores[t], g = table.gpus[t];
    if (any_fit && c == fit_cores && g == fit_gpus) continue;
    const bool fits = std::any_of(workers.begin(), workers.end(),
                                  [&](const WorkerCapacity& w) { return c <= w.cores && g <= w.gpus; });
    if (fits) {
      fit_cores = c, fit_gpus = g, any_fit = true;
      continue;
    }
    UnmetRequest u;
    u.row = t;
    const std::string rank_hint = "see --worker-cores, or run fewer ranks per node";
    if (g > max_gpus) {
      u.setting = "gpus";
      u.message = "asks for " + plural(g, "GPU", "GPUs") + ", but " +
                  (max_gpus == 0 ? std::string("no worker has a GPU: none found on this node")
                                 : "the worker with the most has " + std::to_string(max_gpus) +
                                       " (see --worker-gpus, or run fewer ranks per node)");
    } else if (c > max_cores) {
      u.setting = "cores";
      u.message = "asks for " + plural(c, "core", "cores") + ", but the largest worker has " +
                  std::to_string(max_cores) + " (" + rank_hint + ")";
    } else {
      u.setting = "cores";
      u.message = "asks for " + plural(c, "core", "cores") + " and " + plural(g, "GPU", "GPUs") +
                  ", but no worker has both (the largest has " + std::to_string(max_cores) +
                  " cores; a worker's GPUs are shared with fewer cores: " + rank_hint + ")";
    }
    return u;
  }
  return std::nullopt;
}

size_t setting_column(std::string_view line, std::string_view setting) {
  const size_t open = line.find("[%");
  if (open == std::string_view::npos) return 1;
  const size_t close = line.find("%]", open + 2);
  const std::string_view body = line.substr(0, close);
  for (size_t at = body.find(setting, open + 2); at != std::string_view::npos;
       at = body.find(setting, at + 1)) {
    const bool starts_word = at > 0 && (body[at - 1] == ' ' || body[at - 1] == '\t' || body[at - 1] == '%');
    if (starts_word && at + setting.size() < body.size() && body[at + setting.size()] == '=') return at + 1;
  }
  return 1;
}

}  // namespace mpiq::core
