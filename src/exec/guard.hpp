#pragma once
/// Task processes never outlive their worker.
///
/// Tasks run in process groups of their own (so a timeout can end a task and everything it started), which
/// also means a kill of the job's process group, or a kill -9 of the worker, would leave them running — and a
/// resumed run would race with them. PR_SET_PDEATHSIG is not enough: it fires when the thread that started
/// the task ends, and a task's own children do not inherit it. So each worker process starts one small guard
/// process in a process group of its own, shares with it a table of the task groups that are alive (a memfd
/// both map), and keeps the write end of a pipe to it. However the worker ends — exit, crash, kill -9 — the
/// kernel closes that end; the guard reads end-of-file and ends every group still in the table: SIGTERM, then
/// SIGKILL after the grace period. A task costs two stores into shared memory: no system call, and the guard
/// never wakes while the worker lives (a pipe message per start and end woke it twice per task: up to four
/// context switches, bench/why.md).
///
/// The guard is a small static program (guard_main.c) whose bytes this library carries: start()
/// writes them once into a memfd and runs that, so the `mpiq` binary and every program that embeds
/// mpiq (mpiq::Session) get a guard the same way, with no helper executable to install or find, and
/// a guard costs about a millisecond to start (it loads no shared library). Where a memfd cannot be
/// run (vm.memfd_noexec 2), the guard is the running program itself, started again with
/// MPIQ_GUARD_GRACE in its environment: a constructor of this library runs before main() and turns
/// that process into the guard (the same loop, guard_main.c), at ~13 ms of CPU for mpiq's libraries.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

namespace mpiq::exec {

class ProcessGuard {
 public:
  /// A guard that does nothing (tests, or when it cannot start; the worker says so on stderr).
  ProcessGuard() noexcept;
  /// Which program the guard runs: the static one from its memfd, falling back to this program
  /// again where that cannot start (`automatic`), or this program again (`self`: tests of the fallback).
  enum class Program { automatic, self };
  /// Starts the guard; `grace_s` between TERM and KILL. On failure the guard is inactive and
  /// `*error` says why.
  static ProcessGuard start(double grace_s, std::string* error, Program program = Program::automatic);
  ProcessGuard(ProcessGuard&& other) noexcept;
  ProcessGuard& operator=(ProcessGuard&& other) noexcept;
  ProcessGuard(const ProcessGuard&) = delete;
  ProcessGuard& operator=(const ProcessGuard&) = delete;
  /// Closes the pipe (the guard then ends any group still listed) and reaps the guard.
  ~ProcessGuard();

  bool active() const noexcept { return fd_ >= 0; }
  /// The guard process (-1 when inactive).
  pid_t pid() const noexcept { return pid_; }
  /// Process group `pgid` is a live task: end it if the worker dies. Thread-safe.
  void watch(pid_t pgid) noexcept;
  /// Process group `pgid` has ended. Thread-safe.
  void forget(pid_t pgid) noexcept;

  /// Task groups one guard can hold at once (slots of the shared table).
  static constexpr uint32_t kCapacity = 1u << 16;

 private:
  void end() noexcept;  // closes the pipe, reaps the guard, unmaps the table
  struct Table;         // the mapped table and its free slots
  int fd_ = -1;         // the pipe's write end: its closing is the guard's cue
  pid_t pid_ = -1;
  std::unique_ptr<Table> table_;
};

/// Starts the process-wide guard that exec::spawn and exec::try_reap report to (`mpiq run` and
/// mpiq::Session::run call this once, before any worker starts; without it, as in unit tests, nothing
/// is guarded). Returns false, with `*error` set, when the guard cannot start.
bool enable_process_guard(double grace_s, std::string* error);
/// Called by spawn/try_reap: a task group started or ended. No-ops when no guard is enabled.
void guard_watch(pid_t pgid) noexcept;
void guard_forget(pid_t pgid) noexcept;
/// The process-wide guard's pid (a child of the process), -1 when none is enabled.
pid_t guard_pid() noexcept;

}  // namespace mpiq::exec
