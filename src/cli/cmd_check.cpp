// `mpiq check FILE [--json] [--ranks N [--topology-xml FILE]]`: validates a task file without MPI and
// prints its shape; with --ranks, also whether every task fits a worker of a run of N ranks on this
// machine (or on the node the XML describes), as `mpiq run` would check it before touching anything.

#include <algorithm>
#include <iostream>

#include "cli/check_report.hpp"
#include "cli/commands.hpp"
#include "cli/run_setup.hpp"
#include "core/graph.hpp"
#include "core/task_syntax.hpp"
#include "hw/memory.hpp"
#include "hw/shares.hpp"
#include "hw/topology.hpp"
#include "mpiq/error.hpp"
#include "store/task_file_io.hpp"

namespace mpiq::cli {

namespace {

// What each worker of a run of `ranks` ranks on one node would give a task (docs/design.md §1, §5):
// one rank is hub and worker with the whole node; more ranks are a hub and ranks-1 workers that split
// it (sharing PUs round-robin when there are more workers than PUs).
std::vector<core::WorkerCapacity> workers_of(const hw::Topology& topo, int ranks) {
  const int count = ranks == 1 ? 1 : ranks - 1;
  const uint64_t mem_kb = hw::node_memory(topo).kb;
  std::vector<core::WorkerCapacity> out;
  for (int i = 0; i < count; ++i) {
    core::WorkerShare share = hw::worker_share(topo, i, count);
    if (share.cores.empty()) {
      const int slots = static_cast<int>(std::max<size_t>(1, topo.pu_count()));
      share = hw::split_node(topo, slots)[static_cast<size_t>(i % slots)];
    }
    out.push_back(
        {static_cast<uint32_t>(share.cores.size()), static_cast<uint32_t>(share.gpus.size()), mem_kb});
  }
  return out;
}

}  // namespace

void add_check_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("check", "Validate a task file and print a summary of its task graph");
  auto file = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto ranks = std::make_shared<int>(0);
  auto xml = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("mpiq");
  cmd->add_option("FILE", *file, "Task file")->required();
  cmd->add_flag("--json", *json, "Print the summary as one JSON object");
  cmd->add_option("--format", *format,
                  "Task file format: mpiq (default), pylauncher (CORES,COMMAND lines) or disbatch "
                  "(disBatch's #DISBATCH directives)")
      ->check(CLI::IsMember({"mpiq", "pylauncher", "disbatch"}));
  cmd->add_option("--ranks", *ranks,
                  "Also check that every task fits a worker of a run of N ranks on this node (mpirun -np N)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--topology-xml", *xml,
                  "With --ranks: the node this hwloc XML describes instead of this one");
  cmd->callback([file, json, ranks, xml, format, exit_code] {
    if (*ranks < 0) throw InputError("--ranks must be at least 1 (got " + std::to_string(*ranks) + ")");
    if (!xml->empty() && *ranks == 0) throw InputError("--topology-xml needs --ranks N");
    core::NodeCommands pernode;
    const core::TaskTable table =
        store::load_task_file(*file,
                              *format == "pylauncher" ? core::TaskFileFormat::pylauncher
                              : *format == "disbatch" ? core::TaskFileFormat::disbatch
                                                      : core::TaskFileFormat::mpiq,
                              &pernode);
    std::string fits;
    if (*ranks > 0) {
      const hw::Topology topo = hw::Topology::load(*xml);
      const std::vector<core::WorkerCapacity> workers = workers_of(topo, *ranks);
      check_requests(table, workers, *file);
      uint32_t cores = 0, gpus = 0;
      for (const auto& w : workers) cores = std::max(cores, w.cores), gpus = std::max(gpus, w.gpus);
      fits = "every task fits " + std::to_string(*ranks) + " rank(s): " + std::to_string(workers.size()) +
             " worker(s), the largest with " + std::to_string(cores) + " cores and " + std::to_string(gpus) +
             " GPUs";
      if (!workers.empty() && workers.front().mem_kb != 0)
        fits += ", " + core::format_memory(workers.front().mem_kb) + " of memory for the node's tasks";
      fits += "\n";
    }
    std::cout << check_report(table, core::summarize(table), *json);
    if (!*json) {
      for (const auto* c : {&pernode.start, &pernode.stop})
        if (!c->empty())
          std::cout << "pernode " << (c == &pernode.start ? "start" : "stop") << " (line " << c->line
                    << ", once on every node): " << c->command << "\n";
      std::cout << fits;
    }
    *exit_code = 0;
  });
}

}  // namespace mpiq::cli
