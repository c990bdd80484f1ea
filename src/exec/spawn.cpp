#include "exec/spawn.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
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
#include <memory>
#include <new>
#include <unordered_map>

#include "exec/clock.hpp"
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

// PATH's entries for `name`, as execvp tries them (unset: glibc's "/bin:/usr/bin"; an empty entry: ".").
std::vector<std::string> path_candidates(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/bin:/usr/bin";
  std::vector<std::string> out;
  while (true) {
    const size_t colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    out.push_back(std::string(dir.empty() ? std::string_view(".") : dir) + "/" + name);
    if (colon == std::string_view::npos) return out;
    dirs.remove_prefix(colon + 1);
  }
}

// The first of path_candidates(name) that is an executable regular file. A relative entry (or an
// empty one: the current directory) names a directory that depends on the task's: with `relative`
// false the walk stops there with nothing found (the child searches), with true it is looked at from
// this process's directory.
std::optional<std::string> search_path(const std::string& name, bool relative) {
  for (std::string& candidate : path_candidates(name)) {
    if (!relative && candidate.front() != '/') return std::nullopt;
    struct stat st;
    if (access(candidate.c_str(), X_OK) == 0 && stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode))
      return std::move(candidate);
  }
  return std::nullopt;
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

// A task's process is started with clone(CLONE_VM | CLONE_VFORK), as posix_spawn does inside, but on a
// stack this thread keeps: glibc's posix_spawn maps a fresh stack for every child and unmaps it after,
// and in a process with other running threads (the hub's thread in a one-rank run, a function task's)
// each unmapping is a TLB shootdown across the CPUs that run them. The child also binds itself to the
// task's CPUs, where the parent used to bind itself around the call and back (a migration of the
// worker's thread for every task on a worker with more cores than the task). bench/why.md §1.
//
// The child runs on the parent's memory while the parent waits, until it execs or exits: it only makes
// system calls on what the parent prepared, and leaves what went wrong in `ChildFailure`.
enum class ChildStep : uint8_t {
  none,
  clone,
  group,
  bind,
  input,
  output,
  error_output,
  script,
  workdir,
  exec
};

struct ChildFailure {
  ChildStep step = ChildStep::none;
  int err = 0;
};

// The task's CPUs as the kernel's mask, made before the child needs it.
class CpuMask {
 public:
  explicit CpuMask(const std::vector<int>& cpus) {
    if (cpus.empty()) return;
    // No valid CPU among them is an empty mask, which the kernel refuses: a start error, not no binding.
    const int count = std::max(*std::max_element(cpus.begin(), cpus.end()) + 1, 1);
    size_ = CPU_ALLOC_SIZE(count);
    set_ = CPU_ALLOC(count);
    if (!set_) throw std::bad_alloc();
    CPU_ZERO_S(size_, set_);
    for (int cpu : cpus)
      if (cpu >= 0) CPU_SET_S(static_cast<size_t>(cpu), size_, set_);
  }
  ~CpuMask() {
    if (set_) CPU_FREE(set_);
  }
  CpuMask(const CpuMask&) = delete;
  CpuMask& operator=(const CpuMask&) = delete;
  const cpu_set_t* set() const noexcept { return set_; }
  size_t size() const noexcept { return size_; }

 private:
  cpu_set_t* set_ = nullptr;
  size_t size_ = 0;
};

// What a child resets before its exec, looked up by the thread that starts it: the real-time signals
// whose disposition in this process is not the default (a handler, or SIG_IGN, which an exec keeps),
// and /dev/null open for the task's stdin. Resetting all 62 signals in every child, as posix_spawn
// does, took 13 us of each start here; the 31 standard ones are still reset in every child, but the
// real-time ones, which almost nothing here handles, are looked up once a second: a handler another
// thread gives one of them is reset in the children started a second later (until then the exec
// itself resets it, as an exec keeps no handler; an ignored one is kept by the exec meanwhile).
struct ChildResets {
  int realtime[NSIG] = {};
  int count = 0;
  double at = -1;  // monotonic seconds of the lookup
  int dev_null = -1;
  int tty = -2;  // this process's controlling terminal, open; -1: it has none; -2: not looked up yet
};

const ChildResets& child_resets() {
  thread_local ChildResets r;
  const double now = mono_now();
  if (r.at >= 0 && now - r.at < 1.0) return r;
  r.at = now;
  r.count = 0;
  for (int sig = SIGRTMIN; sig <= SIGRTMAX; ++sig) {
    struct sigaction current;
    if (sigaction(sig, nullptr, &current) == 0 && current.sa_handler != SIG_DFL) r.realtime[r.count++] = sig;
  }
  if (r.dev_null < 0) r.dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);  // else the child opens it
  if (r.tty == -2) r.tty = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);  // ENXIO: none
  return r;
}

struct ChildPlan {
  const SpawnRequest& req;
  char* const* argv;
  char* const* envp;
  int script_fd;
  const CpuMask& cpus;
  std::vector<std::string> candidates;  // execve'd in turn: the program's path, or PATH's entries
  std::vector<const char*> paths;       // their c_str(), made by start_child
  ChildFailure failed;
  const ChildResets* resets = nullptr;  // set by start_child
};

// The descriptors this process was started with above stderr and not close-on-exec: what the user's
// shell passed on (`exec 7>>log; mpiq run tasks.txt` with one rank), which every task gets too. Any
// other descriptor this process opens and leaves inheritable (Open MPI's PMIx socket, a library's
// file, an embedding program's socket) is closed in the task by its exec: a task starts with its
// stdin, stdout and stderr (fd 3 too for a long command) and what its launcher was given, as
// Python's subprocess (close_fds) and Rust's Command leave a child. Looked up before main(), by a
// constructor; plain data, so no order of static initialisation matters.
struct InheritedFds {
  int fd[64];
  int count;
  bool known;  // false: /proc unreadable, or more than 64 of them; then nothing is closed
};
InheritedFds inherited_fds;

__attribute__((constructor(102))) void note_inherited_fds() {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return;
  const int own = dirfd(dir);
  bool fits = true;
  while (const dirent* e = readdir(dir)) {
    const int fd = std::atoi(e->d_name);
    if (fd <= 2 || fd == own) continue;
    const int flags = fcntl(fd, F_GETFD);
    if (flags < 0 || (flags & FD_CLOEXEC)) continue;
    if (inherited_fds.count == static_cast<int>(std::size(inherited_fds.fd))) {
      fits = false;
      break;
    }
    inherited_fds.fd[inherited_fds.count++] = fd;
  }
  closedir(dir);
  std::sort(inherited_fds.fd, inherited_fds.fd + inherited_fds.count);
  inherited_fds.known = fits;
}

// In the child: every descriptor above stderr close-on-exec but the inherited ones (one system call
// where there are none; nothing on a kernel before 5.11, which lacks the flag).
void close_the_rest_on_exec() {
  if (!inherited_fds.known) return;
  unsigned lo = 3;
  for (int i = 0; i < inherited_fds.count; ++i) {
    const auto fd = static_cast<unsigned>(inherited_fds.fd[i]);
    if (fd > lo) close_range(lo, fd - 1, CLOSE_RANGE_CLOEXEC);
    lo = fd + 1;
  }
  close_range(lo, ~0u, CLOSE_RANGE_CLOEXEC);
}

// `from` as the child's descriptor `to`, inheritable (dup2 leaves a copy onto itself close-on-exec).
bool place_fd(int from, int to) {
  if (from == to) return fcntl(to, F_SETFD, 0) == 0;
  return dup2(from, to) == to;
}

bool open_as(const char* path, int flags, int to) {
  const int fd = open(path, flags, 0600);
  if (fd < 0) return false;
  if (fd == to) return true;
  const bool ok = dup2(fd, to) == to;
  close(fd);
  return ok;
}

[[noreturn]] int child_fail(ChildPlan& plan, ChildStep step) {
  plan.failed = {step, errno};
  _exit(127);
}

int child_main(void* arg) {
  ChildPlan& plan = *static_cast<ChildPlan*>(arg);
  const SpawnRequest& req = plan.req;
  // Every signal back to its default (a handler would run on the parent's memory; an ignored one would
  // stay ignored in the task), then none blocked: what posix_spawn's SETSIGDEF and SETSIGMASK gave.
  // The real-time ones that are not at their default only (ChildResets); glibc's two internal signals
  // stay blocked until the exec.
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < SIGRTMIN; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  for (int i = 0; i < plan.resets->count; ++i) sigaction(plan.resets->realtime[i], &dfl, nullptr);
  // First: the descriptors placed below (stdin, stdout, stderr, the script's fd 3) clear the flag on
  // their copies.
  close_the_rest_on_exec();
  if (setpgid(0, 0) != 0) return child_fail(plan, ChildStep::group);  // a timeout ends the whole group
  // No controlling terminal: in an interactive run a task that read the terminal (ssh's or sudo's
  // prompt, `read < /dev/tty`) was a background group's reader, stopped by SIGTTIN for good; now
  // /dev/tty cannot be opened (ENXIO), and it fails at once with that error in its stderr. TIOCNOTTY
  // gives up the terminal for this process alone (it leads no session). Not setsid, which does the
  // same but, with the kernel's autogroups (sched_autogroup_enabled), also made each task a
  // scheduling group of its own: 20,000 true, np 3, 2 % slower (6.09 s against 5.96, 4 rounds).
  if (plan.resets->tty >= 0) ioctl(plan.resets->tty, TIOCNOTTY);
  if (plan.cpus.set() && sched_setaffinity(0, plan.cpus.size(), plan.cpus.set()) != 0)
    return child_fail(plan, ChildStep::bind);
  if (plan.resets->dev_null >= 0 ? !place_fd(plan.resets->dev_null, 0) : !open_as("/dev/null", O_RDONLY, 0))
    return child_fail(plan, ChildStep::input);
  const int mode = O_WRONLY | O_CREAT | (req.append ? O_APPEND : O_TRUNC);
  if (!req.stdout_path.empty() ? !open_as(req.stdout_path.c_str(), mode, 1)
                               : req.stdout_fd >= 0 && !place_fd(req.stdout_fd, 1))
    return child_fail(plan, ChildStep::output);
  if (!req.stderr_path.empty() ? !open_as(req.stderr_path.c_str(), mode, 2)
                               : req.stderr_fd >= 0 && !place_fd(req.stderr_fd, 2))
    return child_fail(plan, ChildStep::error_output);
  if (!req.workdir.empty() && chdir(req.workdir.c_str()) != 0) return child_fail(plan, ChildStep::workdir);
  if (plan.script_fd >= 0 && !place_fd(plan.script_fd, 3)) return child_fail(plan, ChildStep::script);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // As execvp: a candidate that is missing (or behind a missing directory) passes the search on, one
  // that may not be run passes it on but is the error if nothing else starts; any other error ends it.
  int err = ENOENT;
  for (const char* path : plan.paths) {
    execve(path, plan.argv, plan.envp);
    if (errno == EACCES)
      err = EACCES;
    else if (errno != ENOENT && errno != ENOTDIR) {
      err = errno;
      break;
    }
  }
  errno = err;
  return child_fail(plan, ChildStep::exec);
}

// The stack the children of this thread start on (one child at a time: the parent waits for each).
char* child_stack_top() {
  constexpr size_t kStackBytes = 64 * 1024;
  thread_local std::unique_ptr<char[]> stack(new char[kStackBytes]);
  return stack.get() + kStackBytes;  // x86-64 and aarch64 stacks grow down; new[] aligns to 16
}

// Starts the child of `plan`; its pid in `*pid` unless it failed before its exec.
ChildFailure start_child(ChildPlan& plan, pid_t* pid) {
  plan.paths.clear();
  for (const std::string& c : plan.candidates) plan.paths.push_back(c.c_str());
  plan.failed = {};
  plan.resets = &child_resets();
  // No signal handler may run in the child before it has reset them all, and none in this thread while
  // the child borrows its memory: everything is blocked around the clone.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t child = clone(child_main, child_stack_top(), CLONE_VM | CLONE_VFORK | SIGCHLD, &plan);
  const int clone_err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (child < 0) return {ChildStep::clone, clone_err};
  if (plan.failed.step != ChildStep::none) {
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    return plan.failed;
  }
  *pid = child;
  return {};
}

std::string describe(const ChildFailure& f, const SpawnRequest& req, const std::string& program) {
  const std::string why = std::strerror(f.err);
  switch (f.step) {
    case ChildStep::workdir:
      return "cannot enter directory '" + req.workdir + "': " + why;
    case ChildStep::bind:
      return "cannot bind the task to its cores: " + why;
    case ChildStep::output:
      return "cannot open the task's stdout" + (req.stdout_path.empty() ? "" : " '" + req.stdout_path + "'") +
             ": " + why;
    case ChildStep::error_output:
      return "cannot open the task's stderr" + (req.stderr_path.empty() ? "" : " '" + req.stderr_path + "'") +
             ": " + why;
    case ChildStep::input:
      return "cannot open /dev/null for the task's stdin: " + why;
    case ChildStep::group:
      return "cannot give the task a process group of its own: " + why;
    case ChildStep::script:
      return "cannot pass the command to the shell on fd 3: " + why;
    case ChildStep::none:
    case ChildStep::clone:
    case ChildStep::exec:
      break;
  }
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
    words = {shell, "/dev/fd/3"};
  } else if (needs_shell(req.command)) {
    words = {shell, "-c", req.command};
  } else {
    words = split_words(req.command);
    if (words.empty()) words = {"/bin/true"};
  }
  std::vector<char*> envp;
  envp.reserve((req.inherited ? req.inherited->size() : 0) + req.env.size() + 1);
  if (req.inherited)
    for (const auto& e : *req.inherited) envp.push_back(const_cast<char*>(e.c_str()));
  for (const auto& e : req.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  CpuMask cpus(req.cpus);

  Child child;
  ChildFailure failed;
  const auto start = [&] {
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    ChildPlan plan{req, argv.data(), envp.data(), script_fd, cpus, {}, {}, {}, nullptr};
    // PATH is searched as execvp does. A program found before is started from where it was found;
    // if it is gone, PATH is searched again (in the child: relative entries name its directory).
    if (words[0].find('/') != std::string::npos) {
      plan.candidates = {words[0]};
    } else if (const std::string* found = find_in_path(words[0])) {
      plan.candidates = {*found};
      failed = start_child(plan, &child.pid);
      if (failed.step != ChildStep::exec || (failed.err != ENOENT && failed.err != EACCES)) return;
      forget_in_path(words[0]);  // moved or removed since
      plan.candidates = path_candidates(words[0]);
    } else {
      plan.candidates = path_candidates(words[0]);
    }
    failed = start_child(plan, &child.pid);
  };
  start();
  if (failed.step == ChildStep::exec && failed.err == ENOEXEC && script_fd < 0 && words[0] != shell) {
    // A script without `#!`: execvp runs such a file through the shell, and so do we. Only this failed
    // start pays for it.
    const std::string path = find_program(words[0]);
    if (!path.empty()) {
      words[0] = path;
      words.insert(words.begin(), shell);
      start();
    }
  }
  if (script_fd >= 0) close(script_fd);
  if (failed.step != ChildStep::none) {
    *error = describe(failed, req, words[0]);
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
