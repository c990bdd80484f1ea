// Benchmark 3 (issue 7): no-op function tasks through the hub and its workers, tasks per second.
//
//   build/bin/bench-embed [TASKS] [--mode ahead|stream]        # one process: hub + one worker thread
//   mpirun -np 3 --oversubscribe build/bin/bench-embed [...]   # hub + 2 workers
//
// ahead (default): rank 0 submits TASKS (default 2,000,000) no-op tasks with empty payloads, then
//   runs them. Prints the submission time, run()'s time, and two rates: run() alone, and submission
//   plus run() (what a pool's map() is timed on, as bench/peers/mpi4py_noop.py does).
// stream: a second thread of rank 0 submits the tasks while run() runs them (Session::hold keeps the
//   run open until it is done); the rate is over the whole, from the first submission to run()'s end.
// No run directory (nothing durable) unless --run-dir is given. The last line is `tasks_per_s=<n>`,
// the end-to-end rate (submission included).

#include <mpiq/mpiq.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  mpiq::Session session(argc, argv);
  session.register_function("noop", [](mpiq::TaskContext&, std::string_view) { return std::string(); });
  if (!session.is_hub()) return mpiq::exit_status(session.run());
  long tasks = 2'000'000;
  bool stream = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
      stream = std::strcmp(argv[++i], "stream") == 0;
    } else {
      tasks = std::atol(argv[i]);
    }
  }
  long done = 0;
  session.on_end([&](const mpiq::Result& r) { done += r.ok(); });
  using clock = std::chrono::steady_clock;
  const auto seconds = [](clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  session.reserve(static_cast<size_t>(tasks));
  int code = 0;
  if (stream) {
    const auto t0 = clock::now();
    mpiq::Session::Hold hold = session.hold();
    clock::time_point submitted;
    std::thread producer([&, hold = std::move(hold)]() mutable {
      for (long i = 0; i < tasks; ++i) session.submit("noop", {});
      submitted = clock::now();
      hold.release();
    });
    code = mpiq::exit_status(session.run());
    const auto t1 = clock::now();
    producer.join();
    std::printf("mode stream  ranks %d  tasks %ld  done %ld  submitted in %.3f s  all ended in %.3f s\n",
                session.size(), tasks, done, seconds(t0, submitted), seconds(t0, t1));
    std::printf("tasks_per_s=%.0f\n", static_cast<double>(tasks) / seconds(t0, t1));
    return code;
  }
  const auto t0 = clock::now();
  for (long i = 0; i < tasks; ++i) session.submit("noop", {});
  const auto t1 = clock::now();
  code = mpiq::exit_status(session.run());
  const auto t2 = clock::now();
  std::printf("mode ahead  ranks %d  tasks %ld  done %ld  submit %.3f s  run %.3f s  run-only %.0f/s\n",
              session.size(), tasks, done, seconds(t0, t1), seconds(t1, t2),
              static_cast<double>(tasks) / seconds(t1, t2));
  std::printf("tasks_per_s=%.0f\n", static_cast<double>(tasks) / seconds(t0, t2));
  return code;
}
