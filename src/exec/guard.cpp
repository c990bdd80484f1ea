#include "exec/guard.hpp"

#include "exec/guard_main.h"

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

// The path of the running executable, for messages (the fallback guard is started as /proc/self/exe).
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
static_assert(ProcessGuard::kCapacity == MPIQ_GUARD_CAPACITY, "guard_main.c reads the same table");
// The table's descriptor in the guard process.
constexpr int kGuardTableFd = MPIQ_GUARD_TABLE_FD;
// The grace period's variable, which also makes the fallback guard (this program again) the guard.
constexpr const char* kGuardVariable = MPIQ_GUARD_GRACE_VARIABLE;

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U  // Linux 6.3: an executable memfd even where vm.memfd_noexec is 1
#endif

// A descriptor of the static guard program (guard_main.c), written once into a memfd; -1 where it
// cannot be (no memfd, or executable memfds refused: vm.memfd_noexec 2). Kept open for the process's
// life: every guard this process starts runs the same bytes.
int guard_program_fd() {
  static const int fd = [] {
    int m = memfd_create("mpiq-guard", MFD_CLOEXEC | MFD_EXEC);
    if (m < 0 && errno == EINVAL) m = memfd_create("mpiq-guard", MFD_CLOEXEC);  // before Linux 6.3
    if (m < 0) return -1;
    const unsigned char* p = mpiq_guard_image_begin;
    while (p < mpiq_guard_image_end) {
      const ssize_t n = ::write(m, p, static_cast<size_t>(mpiq_guard_image_end - p));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(m);
        return -1;
      }
      p += n;
    }
    return m;
  }();
  return fd;
}
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

ProcessGuard ProcessGuard::start(double grace_s, std::string* error, Program program) {
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
  // The grace period reaches the guard in its environment; the fallback (this program again) is also
  // told by it to be the guard (see run_guard_if_asked below).
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
  // The static guard from its memfd (the descriptor is close-on-exec, but the kernel has opened the
  // image by the time it closes it); else this program again: /proc/self/exe rather than its target,
  // the same image even if the file was replaced or deleted.
  int rc = ENOENT;
  if (const int image = program == Program::automatic ? guard_program_fd() : -1; image >= 0) {
    const std::string path = "/proc/self/fd/" + std::to_string(image);
    rc = posix_spawn(&g.pid_, path.c_str(), &actions, &attr, argv, env.data());
  }
  if (rc != 0) rc = posix_spawn(&g.pid_, "/proc/self/exe", &actions, &attr, argv, env.data());
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
pid_t guard_pid() noexcept {
  return process_guard().pid();
}

namespace {
// Runs before main() (and before the program's own static constructors, priority 101): in a process
// started by ProcessGuard::start's fallback, be the guard and never return to the program.
__attribute__((constructor(101))) void run_guard_if_asked() {
  if (std::getenv(kGuardVariable)) _exit(mpiq_guard_main());
}
}  // namespace

}  // namespace mpiq::exec
