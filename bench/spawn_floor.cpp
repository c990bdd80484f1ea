// Benchmark 1's floor: starts N processes of PROGRAM (default /bin/true) with posix_spawn, keeping K in
// flight, and reaps them with waitpid. Nothing a task scheduler does can start commands faster on this
// machine, so mpiq's wall time is reported as a ratio to this one.
//
//   bench_spawn_floor N K [PROGRAM [ARGS...]]
//
// Prints `seconds=<wall> tasks_per_s=<rate>`.

#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

extern char** environ;

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 2000;
  const long k = argc > 2 ? std::atol(argv[2]) : 2;
  const char* program = argc > 3 ? argv[3] : "/bin/true";
  char* default_argv[] = {const_cast<char*>(program), nullptr};
  char** child_argv = argc > 3 ? argv + 3 : default_argv;

  const auto start = std::chrono::steady_clock::now();
  long started = 0, finished = 0, failed = 0;
  while (finished < n) {
    while (started < n && started - finished < k) {
      pid_t pid;
      if (posix_spawn(&pid, program, nullptr, nullptr, child_argv, environ) != 0) {
        std::perror("posix_spawn");
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
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("seconds=%.3f tasks_per_s=%.1f failed=%ld\n", s, static_cast<double>(n) / s, failed);
  return failed ? 1 : 0;
}
