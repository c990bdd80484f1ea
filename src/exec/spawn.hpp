#pragma once
/// Starting, watching and ending task processes. As posix_spawn does: clone(CLONE_VM | CLONE_VFORK), the
/// child sharing the parent's memory until its exec (never system/popen, never fork in an MPI process: a
/// forked MPI rank can corrupt the interconnect's pinned memory on older kernels; the one exception,
/// store/child_check.hpp, says why it is safe there).

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mpiq::exec {

/// What one task process needs.
struct SpawnRequest {
  /// Run directly when it has no shell syntax (a script without `#!` through `shell`, as execvp does),
  /// else by `shell -c`; longer than kMaxCommandArgument, `shell` reads it from a memory file on fd 3.
  std::string command;
  /// The worker's shell (exec::resolve_shell, chosen once per worker); empty = /bin/sh. A view: the
  /// worker keeps the string.
  std::string_view shell;
  std::string workdir;  ///< "" = inherit
  /// The environment, "K=V" each: `inherited`'s entries (when set), then `env`'s. A worker's tasks all
  /// share one inherited list, which is not copied per task (a module system's environment is often
  /// hundreds of entries); the names in `env` must not be among `inherited`'s (getenv takes the first).
  const std::vector<std::string>* inherited = nullptr;
  std::vector<std::string> env;
  std::string stdout_path;  ///< "" = inherit (or stdout_fd)
  std::string stderr_path;  ///< "" = inherit (or stderr_fd)
  int stdout_fd = -1;       ///< when >= 0 (and no path): the child's stdout (a pipe's write end)
  int stderr_fd = -1;       ///< when >= 0 (and no path): the child's stderr
  bool append = false;      ///< append to the output files (a retry) instead of truncating
  std::vector<int> cpus;    ///< the CPUs (OS indexes) the child binds itself to; empty = inherit
};

/// A started process: its pid (also its process group id) and a pidfd that becomes readable when
/// it exits, so the worker can sleep in poll() and still wake at once on an exit.
struct Child {
  pid_t pid = -1;
  int pidfd = -1;
};

/// Starts `req` in a new process group, bound to `req.cpus` (else with the calling thread's binding). On
/// failure returns pid -1 and sets `*error` to a message that says what failed (`cannot enter directory
/// '/x': No such file or directory`).
Child spawn(const SpawnRequest& req, std::string* error);

/// How a child ended.
struct Exit {
  int exit_code = -1;  ///< when it exited
  int signal = 0;      ///< when a signal ended it
  long max_rss_kb = 0;
};

/// Reaps `child` if it has exited (never blocks); closes its pidfd when it has.
bool try_reap(Child& child, Exit* out);

/// Sends `sig` to the child's whole process group (the task and everything it started).
void signal_group(const Child& child, int sig);

/// True when `command` needs a shell: anything beyond plain words of safe characters (quotes,
/// pipes, redirections, variables, globs, `~`, assignments, comments, ...).
bool needs_shell(std::string_view command);

/// Splits a command that needs no shell into its words.
std::vector<std::string> split_words(std::string_view command);

}  // namespace mpiq::exec

namespace mpiq::exec {

/// Runs `argv` (PATH searched) with no input and returns what it printed on stdout, or nullopt if it
/// could not start, failed, or ran past `timeout_s` (then it is killed). For short queries such as
/// `squeue`; never for tasks.
std::optional<std::string> capture_output(const std::vector<std::string>& argv, double timeout_s);

}  // namespace mpiq::exec
