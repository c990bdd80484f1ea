#include "hw/memory.hpp"

#include <hwloc.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace mpiq::hw {
namespace {

// A decimal number (surrounding blanks and a newline allowed); nullopt for anything else.
std::optional<uint64_t> number(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// "/a/b" -> {"/a/b", "/a", ""}: the cgroup and its ancestors, as suffixes of the mount point.
std::vector<std::string> levels(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  std::vector<std::string> out;
  while (!path.empty() && path != "/") {
    out.push_back(path);
    path.resize(path.rfind('/'));
  }
  out.emplace_back();
  return out;
}

std::optional<std::string> read_real_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return s.str();
}

}  // namespace

std::optional<uint64_t> meminfo_total_kb(std::string_view meminfo) {
  const size_t at = meminfo.find("MemTotal:");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = meminfo.substr(at + 9);
  rest = rest.substr(0, rest.find('\n'));
  if (rest.size() >= 3 && rest.substr(rest.size() - 3) == " kB") rest.remove_suffix(3);
  return number(rest);
}

std::optional<NodeMemory> slurm_memory(const EnvLookup& env) {
  if (const char* per_node = env("SLURM_MEM_PER_NODE")) {
    const auto mb = number(per_node);
    if (mb && *mb > 0)
      return NodeMemory{*mb * 1024, "Slurm (SLURM_MEM_PER_NODE=" + std::string(per_node) + ")"};
  }
  const char* per_cpu = env("SLURM_MEM_PER_CPU");
  const char* cpus = env("SLURM_CPUS_ON_NODE");
  if (per_cpu && cpus) {
    const auto mb = number(per_cpu);
    const auto n = number(cpus);
    if (mb && n && *mb > 0 && *n > 0)
      return NodeMemory{*mb * *n * 1024, "Slurm (SLURM_MEM_PER_CPU=" + std::string(per_cpu) +
                                             " x SLURM_CPUS_ON_NODE=" + std::string(cpus) + ")"};
  }
  return std::nullopt;
}

std::optional<NodeMemory> cgroup_memory(const std::string& root, const FileReader& read) {
  const auto self = read(root + "/proc/self/cgroup");
  if (!self) return std::nullopt;
  std::optional<NodeMemory> best;
  const auto consider = [&](const std::string& mount, const std::string& path, const char* file) {
    for (const std::string& level : levels(path)) {
      const std::string where = mount + level + "/" + file;
      const auto text = read(root + where);
      if (!text) continue;
      const auto bytes = number(*text);  // "max" (v2, no limit) is no number
      if (bytes && (!best || *bytes / 1024 < best->kb))
        best = NodeMemory{*bytes / 1024, "cgroup (" + where + ")"};
    }
  };
  std::istringstream lines(*self);
  for (std::string line; std::getline(lines, line);) {
    // "ID:CONTROLLERS:PATH"; v2 is "0::PATH", v1's memory line names "memory" among its controllers.
    const size_t a = line.find(':');
    const size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    const std::string path = line.substr(b + 1);
    if (line.compare(0, a, "0") == 0 && controllers.empty()) {
      consider("/sys/fs/cgroup", path, "memory.max");
    } else {
      std::istringstream names(controllers);
      for (std::string c; std::getline(names, c, ',');)
        if (c == "memory") consider("/sys/fs/cgroup/memory", path, "memory.limit_in_bytes");
    }
  }
  return best;
}

NodeMemory node_memory(uint64_t physical_kb, const EnvLookup& env, const std::string& root,
                       const FileReader& read) {
  NodeMemory m{physical_kb, "the node's memory"};
  for (const auto& limit : {slurm_memory(env), cgroup_memory(root, read)})
    if (limit && (m.kb == 0 || limit->kb < m.kb)) m = *limit;
  return m;
}

NodeMemory node_memory(const Topology& topology) {
  const hwloc_obj_t root = hwloc_get_root_obj(topology.handle());
  uint64_t kb = root ? root->total_memory / 1024 : 0;
  if (!topology.is_this_system()) return {kb, "the topology's memory"};
  // /proc/meminfo first: hwloc sums the NUMA nodes' sysfs meminfo, which in a container can be the
  // host's node 0 (measured here: 10.7 GiB from sysfs, 23.5 GiB in /proc/meminfo, 23.5 GiB usable).
  if (const auto text = read_real_file("/proc/meminfo")) kb = meminfo_total_kb(*text).value_or(kb);
  return node_memory(
      kb, [](const char* name) { return std::getenv(name); }, "", read_real_file);
}

}  // namespace mpiq::hw
