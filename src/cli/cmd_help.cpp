// `mpiq help [TOPIC]`, the list of commands that bare `mpiq` prints, and the nearest command to a
// mistyped one.

#include <algorithm>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/commands.hpp"
#include "mpiq/error.hpp"
#include "mpiq/version.hpp"

namespace mpiq::cli {

namespace {

// A summary of the task-file language (docs/design.md §2 has the whole of it).
constexpr const char* kTaskLanguage = R"(The task file: one task per line; its id is the line number.

  [# 3, 5-7, -1, prep #]  runs after tasks 3, 5 to 7, the previous line and the task named prep
  [@ /scratch/run1 @]     runs in that directory
  [% name=prep cores=4 gpus=1 timeout=30m retries=2 priority=10 %]
                          settings: defaults cores=1 gpus=0, no timeout, retries=0, priority=0
  [% mem=4G %]            reserves memory on the task's node (K, M, G, T: powers of 1024; default 0,
                          nothing): the tasks of all workers of a node together never ask for more
                          than it gives (its memory, Slurm's allocation or the cgroup limit, the
                          least; see mpiq topology). Not a limit on the task: it is not killed for
                          using more; its peak RSS is recorded.
  #MPIQ defaults cores=2  sets defaults for the lines below it (every setting but name)
  #MPIQ barrier           every later task waits for every earlier one
  #MPIQ pernode start CMD once on every node before its first task (stop CMD: after its last)
  # anything else         a comment; blank lines keep their numbers too

  A line ending in \ continues on the next one. A command with shell syntax (pipes, redirections,
  variables, quotes, globs, ...) runs under bash -c (/bin/sh -c without bash; --shell); a plain
  command runs directly.
  Durations: 90, 90s, 30m, 2h, 1h30m. Names: [A-Za-z_][A-Za-z0-9_.-]*, unique.
  Each task gets MPIQ_TASK_ID, MPIQ_TASK_NAME, MPIQ_ATTEMPT, MPIQ_CORES, OMP_NUM_THREADS and, with
  GPUs, CUDA_VISIBLE_DEVICES (or ROCR_VISIBLE_DEVICES, ZE_AFFINITY_MASK).

  Other tools' files keep their own meaning: --format pylauncher (CORES,COMMAND lines) and
  --format disbatch: every non-comment line a task, PREFIX + line + SUFFIX, with
  #DISBATCH PREFIX text, #DISBATCH SUFFIX text, #DISBATCH REPEAT n [start s] [step k] [cmd]
  (ids LINE[i]), #DISBATCH BARRIER (waits for the tasks above to end, failed or not) and
  #DISBATCH BARRIER CHECK (a failure above it stops what follows); DISBATCH_TASKID (disBatch's
  0-based count of tasks and barriers), DISBATCH_STREAM_INDEX (the line), DISBATCH_REPEAT_INDEX
  (-1 outside a REPEAT), their _ZP forms (%06d) and DISBATCH_CORES_PER_TASK are set.

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

// Roff-escapes `text` for the man page (backslashes, and a leading dot or quote).
std::string roff(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
    line_start = c == '\n';
  }
  return out;
}

// The options of `command` as (names, description): "-h,--help" style names.
std::vector<std::pair<std::string, std::string>> options_of(const CLI::App& command) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const CLI::Option* o : command.get_options()) {
    std::string names = o->get_name(false, true);
    // Flags have no type name; options that take a value show it (TEXT, INT, ...).
    if (!o->get_positional() && !o->get_type_name().empty()) names += " " + o->get_type_name();
    out.emplace_back(names, o->get_description());
  }
  return out;
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

void print_man_page(const CLI::App& app, std::ostream& out) {
  out << ".TH MPIQ 1 \"\" \"mpiq " << kVersion << "\" \"User Commands\"\n"
      << ".SH NAME\nmpiq \\- run a batch of tasks through one MPI allocation\n"
      << ".SH SYNOPSIS\n.B mpiq\n.I COMMAND\n[\\fIOPTIONS\\fR] [\\fIARGS\\fR]\n.br\n"
      << ".B srun \\-n\n.I N\n.B mpiq run\n.I FILE\n"
      << ".SH DESCRIPTION\n"
      << roff(
             "mpiq pushes the tasks of a task file through one allocation. Rank 0 is the hub: it holds the "
             "task graph (dependencies, priorities, retries) and hands tasks to the workers, every other "
             "rank, each bound to its share of its node's cores and GPUs. The state is checkpointed to HDF5 "
             "with a journal in between, so a run stopped by a signal, its time limit or a crash resumes "
             "when the same command runs again, and no finished task runs twice. Without a launcher, one "
             "process runs the hub and one worker.\n")
      << ".SH COMMANDS\n";
  for (const CLI::App* c : commands_of(app)) {
    out << ".SS \"" << c->get_name() << "\"\n" << roff(c->get_description()) << "\n";
    if (!c->get_footer().empty()) out << ".PP\n" << roff(c->get_footer()) << "\n";
    for (const auto& [names, description] : options_of(*c))
      out << ".TP\n.B " << roff(names) << "\n" << roff(description) << "\n";
  }
  out << ".SH TASK FILES\n.nf\n"
      << roff(kTaskLanguage) << ".fi\n"
      << ".SH RUN DIRECTORY\n"
      << roff(
             "tasks.mpiq/ for tasks.txt unless --run-dir says otherwise: checkpoint.h5 and journal (the "
             "durable state), status.json (read by mpiq status), hub.log, out/ (the tasks' output, read "
             "by mpiq cat) and inbox/ (mpiq submit).\n")
      << ".SH EXIT STATUS\n"
      << ".TP\n.B 0\nevery task done\n.TP\n.B 1\nsome tasks failed or were skipped\n"
      << ".TP\n.B 2\nbad usage or input; nothing ran\n"
      << ".TP\n.B 3\nstopped early with the state saved: run the same command again to resume\n"
      << ".SH SIGNALS\n"
      << roff(
             "SIGTERM, SIGINT or SIGUSR1 to any rank (under mpirun: SIGUSR1 to mpirun, which forwards it), "
             "--time-limit running out or the Slurm job's end time drawing near: dispatch stops, running "
             "tasks are ended (TERM, then KILL after --grace), the state is saved, exit 3.\n")
      << ".SH ENVIRONMENT\n"
      << roff(
             "Each task gets MPIQ_TASK_ID, MPIQ_TASK_NAME, MPIQ_ATTEMPT, MPIQ_RANK, MPIQ_HOST, "
             "MPIQ_RUN_DIR, MPIQ_CORES and OMP_NUM_THREADS, and on GPU nodes CUDA_VISIBLE_DEVICES, "
             "ROCR_VISIBLE_DEVICES or ZE_AFFINITY_MASK. mpiq reads SLURM_JOB_ID (the job's end time) "
             "and HWLOC_SYNTHETIC.\n")
      << ".SH SEE ALSO\n.BR mpirun (1),\n.BR srun (1)\n";
}

void print_bash_completion(const CLI::App& app, std::ostream& out) {
  std::string commands;
  for (const CLI::App* c : commands_of(app)) commands += c->get_name() + " ";
  out << "# bash completion for mpiq " << kVersion << " (generated by `mpiq help --bash-completion`)\n"
      << "_mpiq() {\n"
      << "  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]} opts=\"\"\n"
      << "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
      << "    COMPREPLY=($(compgen -W \"" << commands << "-V --version -h --help\" -- \"$cur\"))\n"
      << "    return\n"
      << "  fi\n"
      << "  case $cmd in\n";
  for (const CLI::App* c : commands_of(app)) {
    out << "    " << c->get_name() << ") opts=\"";
    for (const CLI::Option* o : c->get_options()) {
      for (const std::string& n : o->get_lnames()) out << "--" << n << " ";
      for (const std::string& n : o->get_snames()) out << "-" << n << " ";
    }
    out << "\" ;;\n";
  }
  out << "  esac\n"
      << "  if [[ $cur == -* ]]; then\n"
      << "    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
      << "  elif [[ $cmd == help && $COMP_CWORD -eq 2 ]]; then\n"
      << "    COMPREPLY=($(compgen -W \"" << commands << "tasks\" -- \"$cur\"))\n"
      << "  else\n"
      << "    COMPREPLY=($(compgen -f -- \"$cur\"))  # task files and run directories\n"
      << "  fi\n"
      << "}\n"
      << "complete -o filenames -F _mpiq mpiq\n";
}

void add_help_command(CLI::App& app, int* exit_code) {
  auto* cmd =
      app.add_subcommand("help", "Show a command's help, or the task-file language (mpiq help tasks)");
  auto topic = std::make_shared<std::string>();
  auto man = std::make_shared<bool>(false);
  auto completion = std::make_shared<bool>(false);
  cmd->add_option("TOPIC", *topic, "A command, or `tasks`");
  cmd->add_flag("--man", *man, "Print the manual page mpiq(1) in roff (installed under share/man/man1)");
  cmd->add_flag("--bash-completion", *completion,
                "Print the bash completion script (installed under share/bash-completion/completions)");
  cmd->callback([&app, cmd, topic, man, completion, exit_code] {
    if (*man) {
      print_man_page(app, std::cout);
    } else if (*completion) {
      print_bash_completion(app, std::cout);
    } else if (topic->empty()) {
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
