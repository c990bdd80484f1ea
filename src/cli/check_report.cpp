#include "cli/check_report.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>

namespace mpiq::cli {

std::string check_report(const core::TaskTable& table, const core::GraphSummary& summary, bool json) {
  uint64_t named = 0;
  for (size_t r = 0; r < table.size(); ++r)
    if (!table.name[r].empty()) ++named;
  const std::pair<const char*, uint64_t> items[] = {
      {"tasks", summary.tasks},
      {"edges", summary.edges},
      {"roots", summary.roots},
      {"depth", summary.depth},
      {"widest_level", summary.widest_level},
      {"max_cores", summary.max_cores},
      {"max_gpus", summary.max_gpus},
      {"max_mem_kb", summary.max_mem_kb},
      {"barriers", summary.barriers},
      {"sweeps", summary.sweeps},
      {"named", named},
  };
  if (json) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto& [key, value] : items) j[key] = value;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  std::string out;
  for (const auto& [key, value] : items) out += std::string(key) + " " + std::to_string(value) + "\n";
  return out;
}

}  // namespace mpiq::cli
