// `mpiq topology [--xml FILE] [--ranks N] [--json]`: what mpiq sees of this node (or of an hwloc XML
// export) and the share each of N worker ranks would get. The report itself is hw::topology_report.

#include <iostream>
#include <string>

#include "cli/commands.hpp"
#include "hw/topology.hpp"
#include "hw/topology_report.hpp"
#include "mpiq/error.hpp"

namespace mpiq::cli {

void add_topology_command(CLI::App& app, int* exit_code) {
  struct Options {
    std::string xml;
    int ranks = 1;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd =
      app.add_subcommand("topology", "Show the cores and GPUs mpiq sees and how N worker ranks share them");
  cmd->add_option("--xml", options->xml,
                  "Read the topology from an hwloc XML export (default: HWLOC_XMLFILE, else this machine)");
  cmd->add_option("--ranks", options->ranks, "Number of worker ranks to split the node among")
      ->capture_default_str();
  cmd->add_flag("--json", options->json, "Print JSON instead of a summary");
  cmd->callback([options, exit_code] {
    if (options->ranks < 1)
      throw InputError("--ranks must be at least 1 (got " + std::to_string(options->ranks) + ")");
    const hw::Topology topology = hw::Topology::load(options->xml);
    std::cout << hw::topology_report(topology, options->ranks, options->json);
    *exit_code = 0;
  });
}

}  // namespace mpiq::cli
