// Benchmark 4 (issue 7): no-op function tasks on a DAG through the embedding API's hub and workers.
//
//   mpirun -np 3 build/bin/bench_dag_embed stencil|fan [TASKS=100000] [WIDTH=1000]
//
// stencil: levels of WIDTH tasks, each running after 3 of the level before (j-1, j, j+1, wrapping);
// fan: blocks of one task, WIDTH tasks after it and one task after those WIDTH, each block after the one
// before. Submits every task before run() and times run(). The last line is `tasks_per_s=<n>`.

#include <mpiq/mpiq.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  mpiq::Session session(argc, argv);
  session.register_function("noop", [](mpiq::TaskContext&, std::string_view) { return std::string(); });
  if (!session.is_hub()) return mpiq::exit_status(session.run());
  const bool fan = argc > 1 && std::strcmp(argv[1], "fan") == 0;
  const size_t n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 100000;
  const size_t k = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1000;

  std::vector<mpiq::TaskId> ids;
  ids.reserve(n);
  mpiq::TaskOptions o;
  if (!fan) {
    for (size_t i = 0; i < n; ++i) {
      o.after.clear();
      if (i >= k) {
        const size_t prev = i - i % k - k, j = i % k;
        for (size_t d : {prev + (j + k - 1) % k, prev + j, prev + (j + 1) % k})
          if (std::find(o.after.begin(), o.after.end(), ids[d]) == o.after.end()) o.after.push_back(ids[d]);
      }
      ids.push_back(session.submit("noop", {}, o));
    }
  } else {
    bool have_sink = false;
    mpiq::TaskId sink = 0;
    while (ids.size() < n) {
      o.after.clear();
      if (have_sink) o.after.push_back(sink);
      const mpiq::TaskId root = session.submit("noop", {}, o);
      ids.push_back(root);
      std::vector<mpiq::TaskId> middle;
      o.after.assign(1, root);
      for (size_t j = 0; j < k && ids.size() < n; ++j) {
        middle.push_back(session.submit("noop", {}, o));
        ids.push_back(middle.back());
      }
      if (ids.size() >= n) break;
      o.after = middle;
      sink = session.submit("noop", {}, o);
      ids.push_back(sink);
      have_sink = true;
    }
  }
  long done = 0;
  session.on_end([&](const mpiq::Result& r) { done += r.ok(); });
  const auto t0 = std::chrono::steady_clock::now();
  const int code = mpiq::exit_status(session.run());
  const double run_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("graph %s  ranks %d  tasks %zu  done %ld  run %.3f s\n", fan ? "fan" : "stencil", session.size(),
              ids.size(), done, run_s);
  std::printf("tasks_per_s=%.0f\n", static_cast<double>(ids.size()) / run_s);
  return code;
}
