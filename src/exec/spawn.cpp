#include "exec/spawn.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "exec/guard.hpp"
#include "exec/task_command.hpp"

extern char** environ;

namespace mpiq::exec {

namespace {

// RAII for the posix_spawn attribute objects.
struct SpawnSetup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

// Walks PATH as execvp does (unset: glibc's "/bin:/usr/bin") for the first executable regular file
// named `name`. A relative entry (or an empty one: the current directory) names a directory that
// depends on the task's: with `relative` false the walk stops there with nothing found (the child
// searches), with true it is looked at from this process's directory.
std::optional<std::string> search_path(const std::string& name, bool relative) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/bin:/usr/bin";
  while (true) {
    const size_t colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    if (!relative && (dir.empty() || dir.front() != '/')) return std::nullopt;
    std::string candidate(dir.empty() ? std::string_view(".") : dir);
    candidate += '/';
    candidate += name;
    struct stat st;
    if (access(candidate.c_str(), X_OK) == 0 && stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode))
      return candidate;
    if (colon == std::string_view::npos) return std::nullopt;
    dirs.remove_prefix(colon + 1);
  }
}

// Defined below: the remembered PATH search that find_program goes through first.
const std::string* find_in_path(const std::string& name);

// The file `program` names, PATH searched as execvp does ("" when none is executable): only for a
// script without `#!` (ENOEXEC), which goes to the shell by its path.
std::string find_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  if (const std::string* found = find_in_path(program)) return *found;
  return search_path(program, /*relative=*/true).value_or("");
}

// A memory file holding `text`, close-on-exec (the child gets it through dup2), or -1.
int memory_file(std::string_view text) {
  const int fd = memfd_create("mpiq-command", MFD_CLOEXEC);
  if (fd < 0) return -1;
  for (size_t done = 0; done < text.size();) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      close(fd);
      return -1;
    }
    done += static_cast<size_t>(n);
  }
  lseek(fd, 0, SEEK_SET);
  return fd;
}

std::string describe(int err, const SpawnRequest& req, const std::string& program) {
  std::string why = std::strerror(err);
  // posix_spawn reports a failed chdir or open as the spawn's own errno; name the likely culprit.
  if (!req.workdir.empty() && access(req.workdir.c_str(), X_OK) != 0)
    return "cannot enter directory '" + req.workdir + "': " + why;
  return "cannot start '" + program + "': " + why;
}

// Where `name` (no slash) is found in this process's PATH, as posix_spawnp would search it: the first
// executable regular file. Remembered per thread, as a shell's hash table does, so that a run of a
// million `prog` tasks searches PATH once, not once per task (posix_spawnp tries every directory
// before prog's with a failed execve, in the child, while the worker waits: 9 per task on this
// machine's PATH). Relative PATH entries are not remembered (they name the task's directory).
// nullptr when not found: posix_spawnp then makes the error.
std::unordered_map<std::string, std::string>& found_in_path() {
  thread_local std::unordered_map<std::string, std::string> found;
  return found;
}

const std::string* find_in_path(const std::string& name) {
  auto& found = found_in_path();
  if (auto it = found.find(name); it != found.end()) return &it->second;
  std::optional<std::string> where = search_path(name, /*relative=*/false);
  return where ? &found.emplace(name, std::move(*where)).first->second : nullptr;
}

void forget_in_path(const std::string& name) {
  found_in_path().erase(name);
}

}  // namespace

bool needs_shell(std::string_view cmd) {
  // Builtins with no program of their own behave only inside a shell.
  static constexpr std::string_view kBuiltins[] = {
      "cd",     "exit",  "export",   "set",  "unset", "source", ".",     "alias",
      "ulimit", "umask", "wait",     "eval", "exec",  "read",   "shift", "trap",
      "return", "break", "continue", ":",    "type",  "command"};
  const size_t start = cmd.find_first_not_of(" \t");
  if (start != std::string_view::npos) {
    const std::string_view first = cmd.substr(start, cmd.find_first_of(" \t", start) - start);
    for (std::string_view b : kBuiltins)
      if (first == b) return true;
  }
  bool first_word = true, in_word = false;
  for (char c : cmd) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-' || c == '.' || c == '/' || c == ',' || c == ':' || c == '@' ||
                      c == '+' || c == '%' || c == '^';
    if (c == ' ' || c == '\t') {
      if (in_word) first_word = false;
      in_word = false;
      continue;
    }
    if (c == '=' && !first_word) {  // `x=1` as an argument is plain text; as the first word, an assignment
      in_word = true;
      continue;
    }
    if (!safe) return true;
    in_word = true;
  }
  return false;
}

std::vector<std::string> split_words(std::string_view cmd) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < cmd.size()) {
    while (i < cmd.size() && (cmd[i] == ' ' || cmd[i] == '\t')) ++i;
    size_t j = i;
    while (j < cmd.size() && cmd[j] != ' ' && cmd[j] != '\t') ++j;
    if (j > i) words.emplace_back(cmd.substr(i, j - i));
    i = j;
  }
  return words;
}

Child spawn(const SpawnRequest& req, std::string* error) {
  SpawnSetup s;
  short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  posix_spawnattr_setflags(&s.attr, flags);
  posix_spawnattr_setpgroup(&s.attr, 0);  // its own group: a timeout kills the task and its children
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&s.attr, &none);  // the worker blocks signals it reads; the task must not
  posix_spawnattr_setsigdefault(&s.attr, &all);
  posix_spawn_file_actions_addopen(&s.actions, 0, "/dev/null", O_RDONLY, 0);
  const int mode = O_WRONLY | O_CREAT | O_CLOEXEC | (req.append ? O_APPEND : O_TRUNC);
  if (!req.stdout_path.empty())
    posix_spawn_file_actions_addopen(&s.actions, 1, req.stdout_path.c_str(), mode & ~O_CLOEXEC, 0600);
  if (!req.stderr_path.empty())
    posix_spawn_file_actions_addopen(&s.actions, 2, req.stderr_path.c_str(), mode & ~O_CLOEXEC, 0600);
  // dup2 clears close-on-exec on the child's copy, so pipe ends made O_CLOEXEC reach it as 1 and 2 only.
  if (req.stdout_path.empty() && req.stdout_fd >= 0)
    posix_spawn_file_actions_adddup2(&s.actions, req.stdout_fd, 1);
  if (req.stderr_path.empty() && req.stderr_fd >= 0)
    posix_spawn_file_actions_adddup2(&s.actions, req.stderr_fd, 2);
  if (!req.workdir.empty()) posix_spawn_file_actions_addchdir_np(&s.actions, req.workdir.c_str());

  const std::string shell(req.shell.empty() ? std::string_view("/bin/sh") : req.shell);
  std::vector<std::string> words;
  int script_fd = -1;  // a command too long to be an argument, for the shell to read
  if (req.command.size() > kMaxCommandArgument) {
    script_fd = memory_file(req.command);
    if (script_fd < 0) {
      *error = std::string("cannot pass the ") + std::to_string(req.command.size()) +
               "-byte command to the shell: " + std::strerror(errno);
      return Child{};
    }
    posix_spawn_file_actions_adddup2(&s.actions, script_fd, 3);
    words = {shell, "/dev/fd/3"};
  } else if (needs_shell(req.command)) {
    words = {shell, "-c", req.command};
  } else {
    words = split_words(req.command);
    if (words.empty()) words = {"/bin/true"};
  }
  std::vector<char*> envp;
  envp.reserve(req.env.size() + 1);
  for (const auto& e : req.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  Child child;
  const auto start = [&] {
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    // posix_spawnp searches PATH as the shell would; glibc reports exec failures (ENOENT, EACCES)
    // through its return value, so a missing program is a spawn error, not exit code 127. A program
    // found before is started from where it was found; if it is gone, PATH is searched again.
    if (words[0].find('/') == std::string::npos)
      if (const std::string* found = find_in_path(words[0])) {
        const int rc = posix_spawn(&child.pid, found->c_str(), &s.actions, &s.attr, argv.data(), envp.data());
        if (rc != ENOENT && rc != EACCES) return rc;
        forget_in_path(words[0]);  // moved or removed since
      }
    return posix_spawnp(&child.pid, argv[0], &s.actions, &s.attr, argv.data(), envp.data());
  };
  int rc = start();
  if (rc == ENOEXEC && script_fd < 0 && words[0] != shell) {
    // A script without `#!`: execvp runs such a file through the shell, and so do we (posix_spawnp
    // does not). Only this failed start pays for it.
    const std::string path = find_program(words[0]);
    if (!path.empty()) {
      words[0] = path;
      words.insert(words.begin(), shell);
      rc = start();
    }
  }
  if (script_fd >= 0) close(script_fd);
  if (rc != 0) {
    *error = describe(rc, req, words[0]);
    child.pid = -1;
    return child;
  }
  guard_watch(child.pid);
  // glibc 2.36's <sys/pidfd.h> lacks extern "C" (fixed in 2.37), so call the system call itself.
  child.pidfd = static_cast<int>(syscall(SYS_pidfd_open, child.pid, 0));
  return child;
}

bool try_reap(Child& child, Exit* out) {
  int status = 0;
  struct rusage ru;
  pid_t r = wait4(child.pid, &status, WNOHANG, &ru);
  if (r != child.pid) return false;
  if (WIFEXITED(status)) {
    out->exit_code = WEXITSTATUS(status);
    out->signal = 0;
  } else if (WIFSIGNALED(status)) {
    out->exit_code = -1;
    out->signal = WTERMSIG(status);
  }
  out->max_rss_kb = ru.ru_maxrss;
  // The caller kills what is left of the group next; the guard need not watch it any more.
  guard_forget(child.pid);
  if (child.pidfd >= 0) close(child.pidfd);
  child.pidfd = -1;
  return true;
}

void signal_group(const Child& child, int sig) {
  if (child.pid > 0) kill(-child.pid, sig);
}

}  // namespace mpiq::exec

namespace mpiq::exec {

std::optional<std::string> capture_output(const std::vector<std::string>& args, double timeout_s) {
  if (args.empty()) return std::nullopt;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
  SpawnSetup s;
  posix_spawn_file_actions_addopen(&s.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&s.actions, fds[1], 1);
  posix_spawn_file_actions_addopen(&s.actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETSIGMASK);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&s.attr, &none);
  std::vector<std::string> words = args;
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &s.actions, &s.attr, argv.data(), environ);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return std::nullopt;
  }
  std::string out;
  bool timed_out = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);  // this pid only: a worker thread's children are not ours to reap
  if (timed_out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return out;
}

}  // namespace mpiq::exec
