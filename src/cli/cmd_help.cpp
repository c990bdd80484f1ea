// `mpiq help [TOPIC]`, the list of commands that bare `mpiq` prints, and the nearest command to a
// mistyped one.

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "mpiq/error.hpp"

namespace mpiq::cli {

namespace {

// A summary of the task-file language (docs/design.md §2 has the whole of it).
constexpr const char* kTaskLanguage = R"(The task file: one task per line; its id is the line number.

  [# 3, 5-7, -1, prep #]  runs after tasks 3, 5 to 7, the previous line and the task named prep
  [@ /scratch/run1 @]     runs in that directory
  [% name=prep cores=4 gpus=1 timeout=30m retries=2 priority=10 %]
                          settings: defaults cores=1 gpus=0, no timeout, retries=0, priority=0
  #MPIQ defaults cores=2  sets defaults for the lines below it (every setting but name)
  #MPIQ barrier           every later task waits for every earlier one
  # anything else         a comment; blank lines keep their numbers too

  A line ending in \ continues on the next one. A command with shell syntax (pipes, redirections,
  variables, quotes, globs, ...) runs under /bin/sh -c; a plain command runs directly.
  Durations: 90, 90s, 30m, 2h, 1h30m. Names: [A-Za-z_][A-Za-z0-9_.-]*, unique.
  Each task gets MPIQ_TASK_ID, MPIQ_TASK_NAME, MPIQ_ATTEMPT, MPIQ_CORES, OMP_NUM_THREADS and, with
  GPUs, CUDA_VISIBLE_DEVICES (or ROCR_VISIBLE_DEVICES, ZE_AFFINITY_MASK).

  mpiq check FILE validates a file and summarises its graph without running anything.
)";

// Levenshtein distance, for "did you mean".
size_t distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::vector<const CLI::App*> commands_of(const CLI::App& app) {
  std::vector<const CLI::App*> out;
  for (const CLI::App* c : app.get_subcommands([](const CLI::App*) { return true; })) out.push_back(c);
  return out;
}

void print_command_list(const CLI::App& app, std::ostream& out) {
  out << "usage: mpiq COMMAND [OPTIONS] [ARGS]\n\ncommands:\n";
  size_t width = 0;
  for (const CLI::App* c : commands_of(app)) width = std::max(width, c->get_name().size());
  for (const CLI::App* c : commands_of(app))
    out << "  " << c->get_name() << std::string(width + 2 - c->get_name().size(), ' ') << c->get_description()
        << "\n";
  out << "\n`mpiq help COMMAND` shows a command's options; `mpiq help tasks` the task-file language;\n"
         "`mpiq --version` the version.\n";
}

std::string nearest_command(const CLI::App& app, const std::string& word) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const CLI::App* c : commands_of(app)) {
    const std::string& name = c->get_name();
    const size_t d = name.rfind(word, 0) == 0 && !word.empty() ? 0 : distance(word, name);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  return best;
}

void add_help_command(CLI::App& app, int* exit_code) {
  auto* cmd =
      app.add_subcommand("help", "Show a command's help, or the task-file language (mpiq help tasks)");
  auto topic = std::make_shared<std::string>();
  cmd->add_option("TOPIC", *topic, "A command, or `tasks`");
  cmd->callback([&app, cmd, topic, exit_code] {
    if (topic->empty()) {
      std::cout << app.help();
    } else if (*topic == "tasks") {
      std::cout << kTaskLanguage;
    } else if (*topic != cmd->get_name()) {
      const CLI::App* command = nullptr;
      for (const CLI::App* c : commands_of(app))
        if (c->get_name() == *topic) command = c;
      if (!command) {
        const std::string near = nearest_command(app, *topic);
        throw InputError("no command or topic '" + *topic + "'" +
                         (near.empty() ? std::string() : "; did you mean '" + near + "'?") +
                         " (`mpiq` lists the commands)");
      }
      std::cout << command->help("mpiq");
    } else {
      std::cout << cmd->help("mpiq");
    }
    *exit_code = 0;
  });
}

}  // namespace mpiq::cli
