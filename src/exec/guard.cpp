#include "exec/guard.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

extern char** environ;

namespace mpiq::exec {

// The path of the running executable, for messages (the guard itself is started as /proc/self/exe).
static std::string self_executable() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

namespace {
// The shared table: one slot per live task group, 0 when free. The worker stores, the guard reads
// after the worker has gone, so relaxed atomics are enough (the kernel orders the closing of the
// pipe after every store the worker made).
using Slot = std::atomic<int32_t>;
static_assert(sizeof(Slot) == sizeof(int32_t) && Slot::is_always_lock_free);
constexpr size_t kTableBytes = size_t{ProcessGuard::kCapacity} * sizeof(Slot);
// The table's descriptor in the guard process.
constexpr int kGuardTableFd = 3;
}  // namespace

struct ProcessGuard::Table {
  int memfd = -1;
  Slot* slots = nullptr;
  std::mutex mutex;  // guards the fields below; the slots themselves are atomics
  std::unordered_map<pid_t, uint32_t> slot_of;
  std::vector<uint32_t> free_slots;
  uint32_t next_unused = 0;
  bool full_reported = false;
  ~Table() {
    if (slots) munmap(slots, kTableBytes);
    if (memfd >= 0) ::close(memfd);
  }
};

ProcessGuard::ProcessGuard() noexcept = default;

ProcessGuard ProcessGuard::start(double grace_s, std::string* error) {
  ProcessGuard g;
  auto table = std::make_unique<Table>();
  table->memfd = memfd_create("mpiq-guard", MFD_CLOEXEC);
  if (table->memfd < 0 || ftruncate(table->memfd, kTableBytes) != 0) {
    *error = std::string("cannot make the task guard's table: ") + std::strerror(errno);
    return g;
  }
  void* map = mmap(nullptr, kTableBytes, PROT_READ | PROT_WRITE, MAP_SHARED, table->memfd, 0);
  if (map == MAP_FAILED) {
    *error = std::string("cannot map the task guard's table: ") + std::strerror(errno);
    return g;
  }
  table->slots = static_cast<Slot*>(map);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return g;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 0);  // dup2 clears close-on-exec for stdin
  posix_spawn_file_actions_adddup2(&actions, table->memfd, kGuardTableFd);
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
  g.fd_ = fds[1];
  g.table_ = std::move(table);
  return g;
}

ProcessGuard::ProcessGuard(ProcessGuard&& o) noexcept
    : fd_(o.fd_), pid_(o.pid_), table_(std::move(o.table_)) {
  o.fd_ = -1;
  o.pid_ = -1;
}

ProcessGuard& ProcessGuard::operator=(ProcessGuard&& o) noexcept {
  if (this != &o) {
    end();
    fd_ = o.fd_;
    pid_ = o.pid_;
    table_ = std::move(o.table_);
    o.fd_ = -1;
    o.pid_ = -1;
  }
  return *this;
}

ProcessGuard::~ProcessGuard() {
  end();
}

// Closes the pipe (the guard then ends any group still listed), reaps the guard and unmaps the table.
// Not the destructor called by hand: operator= must not destroy the members it assigns next.
void ProcessGuard::end() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  if (pid_ > 0) {
    int status;
    waitpid(std::exchange(pid_, -1), &status, 0);  // it exits at once: nothing it watched is left
  }
  table_.reset();
}

void ProcessGuard::watch(pid_t pgid) noexcept {
  if (fd_ < 0 || !table_ || pgid <= 0) return;
  Table& t = *table_;
  std::lock_guard lock(t.mutex);
  uint32_t slot;
  if (!t.free_slots.empty()) {
    slot = t.free_slots.back();
    t.free_slots.pop_back();
  } else if (t.next_unused < kCapacity) {
    slot = t.next_unused++;
  } else {
    if (!t.full_reported)
      std::fprintf(stderr, "mpiq: the task guard holds %u task groups already; more are not guarded\n",
                   kCapacity);
    t.full_reported = true;
    return;
  }
  try {
    t.slot_of[pgid] = slot;
  } catch (...) {  // out of memory: unguarded, as when the guard is full
    t.free_slots.push_back(slot);
    return;
  }
  t.slots[slot].store(static_cast<int32_t>(pgid), std::memory_order_relaxed);
}

void ProcessGuard::forget(pid_t pgid) noexcept {
  if (!table_) return;
  Table& t = *table_;
  std::lock_guard lock(t.mutex);
  const auto it = t.slot_of.find(pgid);
  if (it == t.slot_of.end()) return;
  t.slots[it->second].store(0, std::memory_order_relaxed);
  t.free_slots.push_back(it->second);  // capacity reserved up to next_unused: never throws past it
  t.slot_of.erase(it);
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

// The process's guard. Set once, before any worker thread starts, and only read after; watch and
// forget of several worker threads (tests, the one-rank run) take the table's lock.
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
// The guard's loop: waits for end-of-file on stdin (the worker has gone), then ends every group
// still in the shared table on descriptor kGuardTableFd. Returns the process exit code.
int guard_loop(double grace) {
  // The worker's end of things is the pipe, not signals: a Ctrl-C to the terminal's group must not
  // end the guard before its worker.
  for (int sig : {SIGINT, SIGTERM, SIGUSR1, SIGHUP}) signal(sig, SIG_IGN);
  void* map = mmap(nullptr, kTableBytes, PROT_READ, MAP_SHARED, kGuardTableFd, 0);
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
  }
  if (map == MAP_FAILED) return 1;
  std::vector<pid_t> groups;
  const Slot* slots = static_cast<const Slot*>(map);
  for (uint32_t i = 0; i < ProcessGuard::kCapacity; ++i)
    if (const int32_t g = slots[i].load(std::memory_order_relaxed); g > 0) groups.push_back(g);
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
  // from the worker, on stdin, and the shared table are the guard's.
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, 1);
    dup2(null, 2);
  }
  close_range(kGuardTableFd + 1, ~0u, 0);
  _exit(guard_loop(std::atof(grace)));
}
}  // namespace

}  // namespace mpiq::exec
