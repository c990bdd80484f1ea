// `mpiq check FILE [--json]`: validates a task file without MPI and prints its shape.

#include <iostream>

#include "cli/check_report.hpp"
#include "cli/commands.hpp"
#include "core/graph.hpp"
#include "store/task_file_io.hpp"

namespace mpiq::cli {

void add_check_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("check", "Validate a task file and print a summary of its task graph");
  auto file = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("FILE", *file, "Task file")->required();
  cmd->add_flag("--json", *json, "Print the summary as one JSON object");
  cmd->callback([file, json, exit_code] {
    const core::TaskTable table = store::load_task_file(*file);
    std::cout << check_report(table, core::summarize(table), *json);
    *exit_code = 0;
  });
}

}  // namespace mpiq::cli
