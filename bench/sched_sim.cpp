// Benchmarks 4 and 8: the hub's scheduling core (core::Scheduler, the same object `mpiq run` uses)
// driven by simulated workers in simulated time. No MPI, no processes: what is measured is the
// scheduler's own cost per decision, and the quality of its decisions (makespan against the bounds).
//
//   bench_sched_sim [--graph bag|stencil|fan] [--tasks N] [--workers W] [--cores C]
//                   [--durations zero|uniform] [--width K] [--seed S] [--no-steal]
//
// Graphs: `bag` independent tasks; `stencil` levels of K tasks, each waiting for 3 of the level before
// (j-1, j, j+1, wrapping); `fan` blocks of one task, K tasks waiting for it and one task waiting for those
// K, each block's first task waiting for the previous block's last.
// Workers: W workers of C cores (every task asks for one core). A worker starts a task the moment a core is
// free and its local queue holds one, reports its start and end at once, and answers a steal request by
// giving back the newest unstarted tasks of its queue. Messages take no time.
// Durations: `zero` (instant workers: measures pure hub throughput) or `uniform` in [0.5, 1.5) s.
//
// Prints key=value figures: decisions (tasks assigned, including re-assignments after a steal), wall_s
// of the event loop, decisions_per_s, tasks_per_s (both per second of that loop, the simulator's own
// event heap included: at 100,000 workers the heap's sift-downs take more than half of it),
// scheduler_s (the time spent inside Scheduler calls alone, timed with the TSC) and
// scheduler_decisions_per_s (decisions per second of scheduler_s: the scheduler's own throughput), and for
// timed runs the makespan against ideal = sum of durations / (W*C), critical path = longest chain of
// durations, bound = max of the two.

#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "core/scheduler.hpp"

namespace {

using mpiq::core::TaskIndex;
using mpiq::core::TaskTable;

struct Options {
  std::string graph = "bag";
  size_t tasks = 1000000;
  uint32_t workers = 10000;
  uint32_t cores = 1;
  std::string durations = "uniform";
  size_t width = 1000;
  uint64_t seed = 1;
  bool steal = true;
};

void add_row(TaskTable& t, std::vector<TaskIndex> deps) {
  std::sort(deps.begin(), deps.end());
  deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
  mpiq::core::TaskSpec spec;
  spec.id = static_cast<uint32_t>(t.size()) + 1;
  spec.command = "true";
  spec.deps = deps;
  t.append(spec);
}

TaskTable make_graph(const Options& o) {
  TaskTable t;
  const size_t n = o.tasks, k = std::max<size_t>(1, o.width);
  if (o.graph == "bag") {
    for (size_t i = 0; i < n; ++i) add_row(t, {});
  } else if (o.graph == "stencil") {
    for (size_t i = 0; i < n; ++i) {
      if (i < k) {
        add_row(t, {});
        continue;
      }
      const size_t level_start = i - i % k, j = i % k, prev = level_start - k;
      add_row(t, {static_cast<TaskIndex>(prev + (j + k - 1) % k), static_cast<TaskIndex>(prev + j),
                  static_cast<TaskIndex>(prev + (j + 1) % k)});
    }
  } else if (o.graph == "fan") {
    TaskIndex last_sink = 0;
    bool have_sink = false;
    while (t.id.size() < n) {
      const auto root = static_cast<TaskIndex>(t.id.size());
      add_row(t, have_sink ? std::vector<TaskIndex>{last_sink} : std::vector<TaskIndex>{});
      std::vector<TaskIndex> middle;
      for (size_t j = 0; j < k && t.id.size() < n; ++j) {
        middle.push_back(static_cast<TaskIndex>(t.id.size()));
        add_row(t, {root});
      }
      if (t.id.size() >= n) break;
      last_sink = static_cast<TaskIndex>(t.id.size());
      add_row(t, middle);
      have_sink = true;
    }
  } else {
    std::fprintf(stderr, "bench_sched_sim: unknown graph '%s'\n", o.graph.c_str());
    std::exit(2);
  }
  t.init_runtime_columns();
  return t;
}

struct SimWorker {
  std::deque<TaskIndex> queue;  // assigned, not started
  uint32_t running = 0;
};

struct Event {
  double time;
  uint32_t worker;
  TaskIndex task;
  bool operator>(const Event& o) const noexcept { return time > o.time; }
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_sched_sim: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--graph")
      o.graph = value();
    else if (a == "--tasks")
      o.tasks = std::strtoull(value().c_str(), nullptr, 10);
    else if (a == "--workers")
      o.workers = static_cast<uint32_t>(std::strtoul(value().c_str(), nullptr, 10));
    else if (a == "--cores")
      o.cores = static_cast<uint32_t>(std::strtoul(value().c_str(), nullptr, 10));
    else if (a == "--durations")
      o.durations = value();
    else if (a == "--width")
      o.width = std::strtoull(value().c_str(), nullptr, 10);
    else if (a == "--seed")
      o.seed = std::strtoull(value().c_str(), nullptr, 10);
    else if (a == "--no-steal")
      o.steal = false;
    else {
      std::fprintf(stderr, "bench_sched_sim: unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  TaskTable table = make_graph(o);
  const size_t n = table.size();

  std::vector<double> duration(n, 0.0);
  if (o.durations == "uniform") {
    std::mt19937_64 rng(o.seed);
    std::uniform_real_distribution<double> dist(0.5, 1.5);
    for (double& d : duration) d = dist(rng);
  } else if (o.durations != "zero") {
    std::fprintf(stderr, "bench_sched_sim: unknown durations '%s'\n", o.durations.c_str());
    return 2;
  }
  // Bounds. Rows are in an order where every dependency comes first (the generators point backward).
  double total = 0, critical = 0;
  {
    std::vector<double> finish(n, 0.0);
    for (TaskIndex t = 0; t < n; ++t) {
      double start = 0;
      for (uint64_t e = table.dep_offsets[t]; e < table.dep_offsets[t + 1]; ++e)
        start = std::max(start, finish[table.deps[e]]);
      finish[t] = start + duration[t];
      critical = std::max(critical, finish[t]);
      total += duration[t];
    }
  }

  auto t0 = std::chrono::steady_clock::now();
  mpiq::core::SchedulerOptions so;
  so.steal = o.steal;
  mpiq::core::Scheduler scheduler(table, so);
  const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // Worker ids 1..W, as ranks: 0 is the hub.
  std::vector<SimWorker> workers(o.workers + 1);
  for (uint32_t w = 1; w <= o.workers; ++w) scheduler.add_worker(w, o.cores, 0);

  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events;
  std::vector<mpiq::core::Assignment> assignments;
  std::vector<mpiq::core::StealRequest> steals;
  std::vector<TaskIndex> returned;
  double now = 0, makespan = 0;
  uint64_t decisions = 0, dispatch_calls = 0, steal_requests = 0, finished = 0;

  // Time inside the scheduler's calls only, in TSC ticks (a read costs a few nanoseconds; a clock_gettime
  // per call would be a fifth of a decision's cost), converted with the loop's own ticks per second.
  uint64_t scheduler_ticks = 0;
  auto timed = [&](auto&& call) {
    const uint64_t a = __rdtsc();
    call();
    scheduler_ticks += __rdtsc() - a;
  };
  auto start_tasks = [&](uint32_t w) {
    SimWorker& sw = workers[w];
    while (sw.running < o.cores && !sw.queue.empty()) {
      const TaskIndex t = sw.queue.front();
      sw.queue.pop_front();
      ++sw.running;
      timed([&] { scheduler.on_started(w, t, now); });
      events.push({now + duration[t], w, t});
    }
  };

  t0 = std::chrono::steady_clock::now();
  const uint64_t loop_ticks0 = __rdtsc();
  for (;;) {
    steals.clear();
    timed([&] { scheduler.dispatch(assignments, steals); });
    ++dispatch_calls;
    for (const auto& a : assignments) {
      decisions += a.tasks.size();
      auto& q = workers[a.worker].queue;
      q.insert(q.end(), a.tasks.begin(), a.tasks.end());
      start_tasks(a.worker);
    }
    for (const auto& s : steals) {
      ++steal_requests;
      auto& q = workers[s.victim].queue;
      returned.clear();
      for (uint32_t i = 0; i < s.count && !q.empty(); ++i) {
        returned.push_back(q.back());
        q.pop_back();
      }
      timed([&] { scheduler.on_returned(s.victim, returned); });
    }
    if (!steals.empty()) continue;  // returned tasks are ready: dispatch them before time moves on
    if (events.empty()) break;
    const Event e = events.top();
    events.pop();
    now = e.time;
    makespan = std::max(makespan, now);
    --workers[e.worker].running;
    mpiq::core::TaskResult r;
    r.task = e.task;
    r.exit_code = 0;
    r.start_time = now - duration[e.task];
    r.end_time = now;
    timed([&] { scheduler.on_finished(e.worker, std::move(r)); });
    ++finished;
    start_tasks(e.worker);
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double ticks_per_s = static_cast<double>(__rdtsc() - loop_ticks0) / wall;
  const double scheduler_s = static_cast<double>(scheduler_ticks) / ticks_per_s;
  const bool ok = scheduler.all_final() && finished == n;

  const double ideal = total / (static_cast<double>(o.workers) * o.cores);
  const double bound = std::max(ideal, critical);
  std::printf("graph=%s tasks=%zu edges=%zu workers=%u cores=%u durations=%s steal=%d\n", o.graph.c_str(), n,
              table.edge_count(), o.workers, o.cores, o.durations.c_str(), o.steal ? 1 : 0);
  std::printf("scheduler_build_s=%.3f wall_s=%.3f decisions=%llu dispatch_calls=%llu steal_requests=%llu\n",
              build_s, wall, static_cast<unsigned long long>(decisions),
              static_cast<unsigned long long>(dispatch_calls),
              static_cast<unsigned long long>(steal_requests));
  std::printf("decisions_per_s=%.0f tasks_per_s=%.0f\n", static_cast<double>(decisions) / wall,
              static_cast<double>(finished) / wall);
  std::printf("scheduler_s=%.3f scheduler_decisions_per_s=%.0f\n", scheduler_s,
              static_cast<double>(decisions) / scheduler_s);
  if (o.durations != "zero")
    std::printf("makespan=%.3f ideal=%.3f critical_path=%.3f bound=%.3f makespan_over_bound=%.4f\n", makespan,
                ideal, critical, bound, makespan / bound);
  std::printf("all_final=%d\n", ok ? 1 : 0);
  return ok ? 0 : 1;
}
