// Benchmark 1's floor: starts N processes of PROGRAM (default /bin/true) with posix_spawn, keeping K in
// flight, and reaps them with waitpid. Nothing a task scheduler does can start commands faster on this
// machine, so mpiq's wall time is reported as a ratio to this one.
//
//   bench_spawn_floor [--procs P] [--out DIR] N K [PROGRAM [ARGS...]]
//
// --procs P splits the work among P spawning processes (forked first), each starting N/P with K/P in flight:
// as P worker ranks do. With one process, each posix_spawn holds the parent until the child has exec'd, so the
// starts themselves are serial.
//
// --out DIR sends each child's stdout and stderr to DIR/<i>.out and DIR/<i>.err (opened by posix_spawn's file
// actions, created and truncated), as a task scheduler that keeps every task's output must: the floor for that.
//
// Prints `seconds=<wall> tasks_per_s=<rate>`.

#include <spawn.h>
#include <sys/wait.h>

#include <fcntl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <algorithm>

extern char** environ;

int main(int argc, char** argv) {
  std::string out_dir;
  long procs = 1;
  for (;;) {
    if (argc > 2 && std::strcmp(argv[1], "--out") == 0) {
      out_dir = argv[2];
    } else if (argc > 2 && std::strcmp(argv[1], "--procs") == 0) {
      procs = std::max(1L, std::atol(argv[2]));
    } else {
      break;
    }
    argv += 2;
    argc -= 2;
  }
  const long total = argc > 1 ? std::atol(argv[1]) : 2000;
  const long total_k = argc > 2 ? std::atol(argv[2]) : 2;
  const char* program = argc > 3 ? argv[3] : "/bin/true";
  char* default_argv[] = {const_cast<char*>(program), nullptr};
  char** child_argv = argc > 3 ? argv + 3 : default_argv;

  const auto start = std::chrono::steady_clock::now();
  long n = total, k = total_k, first = 0;
  std::vector<pid_t> helpers;
  if (procs > 1) {
    // Each helper takes its share; this process only waits for the helpers.
    for (long p = 0; p < procs; ++p) {
      const pid_t pid = fork();
      if (pid == 0) {
        n = total / procs + (p < total % procs ? 1 : 0);
        k = std::max(1L, total_k / procs);
        first = p * (total / procs) + std::min(p, total % procs);
        helpers.clear();
        break;
      }
      helpers.push_back(pid);
    }
    if (!helpers.empty()) {
      long failed_helpers = 0;
      for (pid_t h : helpers) {
        int status = 0;
        waitpid(h, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed_helpers;
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("seconds=%.3f tasks_per_s=%.1f failed=%ld\n", s, static_cast<double>(total) / s, failed_helpers);
      return failed_helpers ? 1 : 0;
    }
  }
  long started = 0, finished = 0, failed = 0;
  while (finished < n) {
    while (started < n && started - finished < k) {
      pid_t pid;
      posix_spawn_file_actions_t actions;
      posix_spawn_file_actions_init(&actions);
      std::string out, err;
      if (!out_dir.empty()) {
        out = out_dir + "/" + std::to_string(first + started + 1) + ".out";
        err = out_dir + "/" + std::to_string(first + started + 1) + ".err";
        posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      }
      const int rc = posix_spawn(&pid, program, &actions, nullptr, child_argv, environ);
      posix_spawn_file_actions_destroy(&actions);
      if (rc != 0) {
        std::fprintf(stderr, "posix_spawn: %s\n", std::strerror(rc));
        return 1;
      }
      ++started;
    }
    int status = 0;
    if (waitpid(-1, &status, 0) < 0) {
      std::perror("waitpid");
      return 1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
    ++finished;
  }
  if (procs > 1) return failed ? 1 : 0;  // a helper: the parent reports
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("seconds=%.3f tasks_per_s=%.1f failed=%ld\n", s, static_cast<double>(n) / s, failed);
  return failed ? 1 : 0;
}
