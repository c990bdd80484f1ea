#include "exec/guard.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_set>
#include <vector>

extern char** environ;

namespace mpiq::exec {

// The path of the running executable, for messages (the guard itself is started as /proc/self/exe).
static std::string self_executable() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

ProcessGuard ProcessGuard::start(double grace_s, std::string* error) {
  ProcessGuard g;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return g;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 0);  // dup2 clears close-on-exec for stdin
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group: a kill of the job's group must not take the guard with it.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  // The same program, told by its environment to be the guard (see run_guard_if_asked below).
  std::vector<std::string> env_strings;
  const std::string prefix = std::string(kGuardVariable) + "=";
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, prefix.c_str(), prefix.size()) != 0) env_strings.emplace_back(*e);
  char grace[32];
  const auto [end, ec] = std::to_chars(grace, grace + sizeof grace, grace_s);  // not the locale's comma
  env_strings.push_back(prefix + (ec == std::errc() ? std::string(grace, end) : std::string("10")));
  std::vector<char*> env;
  for (std::string& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  char* argv[] = {const_cast<char*>("mpiq-guard"), nullptr};
  // /proc/self/exe rather than its target: the same image even if the file was replaced or deleted.
  const int rc = posix_spawn(&g.pid_, "/proc/self/exe", &actions, &attr, argv, env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[0]);
  if (rc != 0) {
    *error = "cannot start the task guard (" + self_executable() + "): " + std::strerror(rc);
    ::close(fds[1]);
    g.pid_ = -1;
    return g;
  }
  // A full pipe (a stuck guard) must not stall the worker: a line that does not fit is dropped.
  fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
  g.fd_ = fds[1];
  return g;
}

ProcessGuard::ProcessGuard(ProcessGuard&& o) noexcept : fd_(o.fd_), pid_(o.pid_) {
  o.fd_ = -1;
  o.pid_ = -1;
}

ProcessGuard& ProcessGuard::operator=(ProcessGuard&& o) noexcept {
  if (this != &o) {
    this->~ProcessGuard();
    fd_ = o.fd_;
    pid_ = o.pid_;
    o.fd_ = -1;
    o.pid_ = -1;
  }
  return *this;
}

ProcessGuard::~ProcessGuard() {
  if (fd_ >= 0) ::close(fd_);
  if (pid_ > 0) {
    int status;
    waitpid(pid_, &status, 0);  // it exits at once: every task it watched has been forgotten
  }
}

void ProcessGuard::send(char op, pid_t pgid) noexcept {
  if (fd_ < 0) return;
  char line[32];
  const int n = std::snprintf(line, sizeof line, "%c%d\n", op, static_cast<int>(pgid));
  // A line is far below PIPE_BUF, so each write is atomic; a full pipe (a stuck guard) must not
  // stall the worker, but the pipe holds thousands of lines and the guard reads them at once.
  if (::write(fd_, line, static_cast<size_t>(n)) < 0 && errno == EPIPE) {
    ::close(fd_);
    fd_ = -1;
  }
}

void ProcessGuard::watch(pid_t pgid) noexcept {
  send('+', pgid);
}
void ProcessGuard::forget(pid_t pgid) noexcept {
  send('-', pgid);
}

namespace {
// True while a process of group `pgid` runs. Zombies do not count: kill(-pgid, 0) would, and an
// orphan's zombie can linger for good where the container's init does not reap.
bool group_alive(pid_t pgid) {
  DIR* proc = opendir("/proc");
  if (!proc) return kill(-pgid, 0) == 0;
  bool alive = false;
  while (dirent* e = readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const std::string path = std::string("/proc/") + e->d_name + "/stat";
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) continue;
    char buf[512];
    const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // Fields after the command name, which is in parentheses and may hold spaces.
    const char* rest = std::strrchr(buf, ')');
    char state = 0;
    int ppid = 0, pgrp = 0;
    if (rest && std::sscanf(rest + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pgid &&
        state != 'Z' && state != 'X') {
      alive = true;
      break;
    }
  }
  closedir(proc);
  return alive;
}

// The process's guard. Set once, before any worker thread starts, and only read after: spawn and
// reap of several worker threads (tests, the one-rank run) write whole lines, which a pipe keeps
// atomic, so no lock is needed.
ProcessGuard& process_guard() {
  static ProcessGuard guard;
  return guard;
}
}  // namespace

bool enable_process_guard(double grace_s, std::string* error) {
  if (process_guard().active()) return true;
  process_guard() = ProcessGuard::start(grace_s, error);
  return process_guard().active();
}

void guard_watch(pid_t pgid) noexcept {
  process_guard().watch(pgid);
}
void guard_forget(pid_t pgid) noexcept {
  process_guard().forget(pgid);
}

namespace {
// The guard's loop: reads `+PGID`/`-PGID` lines on stdin until end-of-file, then ends every group still
// listed. Returns the process exit code.
int guard_loop(double grace) {
  // The worker's end of things is the pipe, not signals: a Ctrl-C to the terminal's group must not
  // end the guard before its worker.
  for (int sig : {SIGINT, SIGTERM, SIGUSR1, SIGHUP}) signal(sig, SIG_IGN);
  std::unordered_set<pid_t> groups;
  std::string pending;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    size_t start = 0, nl;
    while ((nl = pending.find('\n', start)) != std::string::npos) {
      const pid_t pgid = static_cast<pid_t>(std::atol(pending.c_str() + start + 1));
      if (pgid > 0) {
        if (pending[start] == '+')
          groups.insert(pgid);
        else
          groups.erase(pgid);
      }
      start = nl + 1;
    }
    pending.erase(0, start);
  }
  if (groups.empty()) return 0;
  for (pid_t g : groups) kill(-g, SIGTERM);
  // Wait for the groups to go, up to the grace period, then kill what is left.
  for (double waited = 0; waited < grace; waited += 0.05) {
    bool any = false;
    for (pid_t g : groups) any = any || group_alive(g);
    if (!any) return 0;
    usleep(50000);
  }
  for (pid_t g : groups) kill(-g, SIGKILL);
  return 0;
}

// Runs before main() (and before the program's own static constructors, priority 101): in a process
// started by ProcessGuard::start, be the guard and never return to the program.
__attribute__((constructor(101))) void run_guard_if_asked() {
  const char* grace = std::getenv(kGuardVariable);
  if (!grace) return;
  // Hold none of the program's files (its output pipes, sockets) past the worker's end: only the pipe
  // from the worker, on stdin, is the guard's.
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, 1);
    dup2(null, 2);
  }
  close_range(3, ~0u, 0);
  _exit(guard_loop(std::atof(grace)));
}
}  // namespace

}  // namespace mpiq::exec
