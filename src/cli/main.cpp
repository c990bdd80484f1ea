// The `mpiq` command: subcommands registered by src/cli/cmd_*.cpp. Only `mpiq run` initialises MPI.

#include <algorithm>
#include <iostream>
#include <string_view>

#include "cli/commands.hpp"
#include "hw/topology.hpp"
#include "mpiq/error.hpp"
#include "mpiq/version.hpp"

int main(int argc, char** argv) {
  mpiq::hw::skip_unused_hwloc_plugins();  // before MPI_Init or any topology: one thread yet
  CLI::App app{"mpiq: run a batch of tasks through one MPI allocation", "mpiq"};
  app.require_subcommand(1);
  app.set_version_flag("-V,--version", std::string("mpiq ") + mpiq::kVersion);
  int exit_code = 0;
  mpiq::cli::add_run_command(app, &exit_code);
  mpiq::cli::add_check_command(app, &exit_code);
  mpiq::cli::add_topology_command(app, &exit_code);
  mpiq::cli::add_status_command(app, &exit_code);
  mpiq::cli::add_submit_command(app, &exit_code);
  mpiq::cli::add_cat_command(app, &exit_code);
  mpiq::cli::add_cancel_command(app, &exit_code);
  mpiq::cli::add_report_command(app, &exit_code);
  mpiq::cli::add_help_command(app, &exit_code);
  // Bare `mpiq` lists the commands; a first word that is neither an option nor a command is named,
  // with the nearest command. Both are bad usage: exit 2.
  if (argc < 2) {
    mpiq::cli::print_command_list(app, std::cerr);
    return 2;
  }
  const auto is_command = [&](const std::string& word) {
    const auto all = app.get_subcommands([](const CLI::App*) { return true; });
    return std::any_of(all.begin(), all.end(), [&](const CLI::App* c) { return c->get_name() == word; });
  };
  if (const std::string first = argv[1]; !first.empty() && first[0] != '-' && !is_command(first)) {
    const std::string near = mpiq::cli::nearest_command(app, first);
    std::cerr << "mpiq: unknown command '" << first << "'"
              << (near.empty() ? std::string() : "; did you mean '" + near + "'?") << "\n\n";
    mpiq::cli::print_command_list(app, std::cerr);
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;  // bad usage is bad input: docs/design.md §8
  } catch (const mpiq::InputError& e) {
    std::cerr << "mpiq: " << e.what() << "\n";
    return 2;
  } catch (const mpiq::DiskFull& e) {
    // A command that found no room (a run's own stop is handled where it ends): nothing is half done.
    std::cerr << "mpiq: the disk is full: " << e.what() << "\n";
    return 3;
  } catch (const mpiq::Error& e) {
    std::cerr << "mpiq: error: " << e.what() << "\n";
    return 1;
  }
  return exit_code;
}
