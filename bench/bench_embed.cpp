// Benchmark 3 (issue 7): no-op function tasks through the hub and its workers, tasks per second.
//
//   build/bin/bench-embed [TASKS]                         # one process: hub + one worker thread
//   mpirun -np 3 --oversubscribe build/bin/bench-embed    # hub + 2 workers
//
// Submits TASKS (default 2,000,000) no-op tasks with empty payloads before the run and times run().
// No run directory (nothing durable) unless --run-dir is given. The last line is `tasks_per_s=<n>`.

#include <mpiq/mpiq.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  mpiq::Session session(argc, argv);
  session.register_function("noop", [](mpiq::TaskContext&, std::string_view) { return std::string(); });
  if (!session.is_hub()) return session.run();
  const long tasks = argc > 1 ? std::atol(argv[1]) : 2'000'000;
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < tasks; ++i) session.submit("noop", {});
  const auto t1 = std::chrono::steady_clock::now();
  long done = 0;
  session.on_end([&](const mpiq::Result& r) { done += r.ok(); });
  const int code = session.run();
  const auto t2 = std::chrono::steady_clock::now();
  const double submit_s = std::chrono::duration<double>(t1 - t0).count();
  const double run_s = std::chrono::duration<double>(t2 - t1).count();
  std::printf("ranks %d  tasks %ld  done %ld  submit %.3f s  run %.3f s\n", session.size(), tasks, done, submit_s,
              run_s);
  std::printf("tasks_per_s=%.0f\n", static_cast<double>(tasks) / run_s);
  return code;
}
