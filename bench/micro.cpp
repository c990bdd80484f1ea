// Google Benchmark micro-benchmarks of the hub's per-task paths (issue 7): the task file parser, the
// ready queue with dispatch, and the graph release path (a finished task making its dependants ready).
// Built with the normal build, never run by CI: `build/bin/bench_micro` (bench/run.sh runs it with a short
// --benchmark_min_time). Items per second are tasks per second.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/scheduler.hpp"
#include "core/task_file.hpp"

namespace {

using mpiq::core::Scheduler;
using mpiq::core::TaskIndex;
using mpiq::core::TaskTable;

// N task lines of 40-byte commands; with `deps`, each waits for the line before.
std::string task_text(size_t n, bool deps) {
  std::string text;
  char command[64];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(command, sizeof command, "./simulate --in=in/%010zu --seed=%03zu", i, i % 1000);
    if (deps && i > 0) text += "[# -1 #] ";
    text.append(command, 40);
    text += '\n';
  }
  return text;
}

void BM_ParsePlain(benchmark::State& state) {
  const std::string text = task_text(static_cast<size_t>(state.range(0)), false);
  for (auto _ : state) benchmark::DoNotOptimize(mpiq::core::parse_task_file(text, "bench.txt"));
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_ParsePlain)->Arg(1000)->Arg(100000)->Unit(benchmark::kMicrosecond);

void BM_ParseWithDependency(benchmark::State& state) {
  const std::string text = task_text(static_cast<size_t>(state.range(0)), true);
  for (auto _ : state) benchmark::DoNotOptimize(mpiq::core::parse_task_file(text, "bench.txt"));
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_ParseWithDependency)->Arg(1000)->Arg(100000)->Unit(benchmark::kMicrosecond);

// A table of n one-core tasks; `fan_out` makes rows 1..n-1 wait for row 0.
TaskTable table_of(size_t n, bool fan_out) {
  TaskTable t;
  for (size_t i = 0; i < n; ++i) {
    static const TaskIndex kFirst = 0;
    mpiq::core::TaskSpec spec;
    spec.id = static_cast<uint32_t>(i + 1);
    spec.command = "true";
    spec.priority = static_cast<int32_t>(i % 7);  // the heap sees mixed keys
    if (fan_out && i > 0) spec.deps = {&kFirst, 1};
    t.append(spec);
  }
  t.init_runtime_columns();
  return t;
}

// The ready queue and dispatch: n ready tasks pushed (the Scheduler's constructor), then handed to W
// one-core workers, each task started and finished at once, until all are done.
void BM_ReadyQueueDispatch(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const auto workers = static_cast<uint32_t>(state.range(1));
  const TaskTable base = table_of(n, false);
  std::vector<mpiq::core::Assignment> assignments;
  std::vector<mpiq::core::StealRequest> steals;
  for (auto _ : state) {
    state.PauseTiming();
    TaskTable table = base;
    state.ResumeTiming();
    Scheduler s(table, {});
    for (uint32_t w = 1; w <= workers; ++w) s.add_worker(w, 1, 0);
    while (!s.all_final()) {
      steals.clear();
      s.dispatch(assignments, steals);
      for (const auto& a : assignments)
        for (TaskIndex t : a.tasks) {
          s.on_started(a.worker, t, 0);
          mpiq::core::TaskResult r;
          r.task = t;
          r.exit_code = 0;
          s.on_finished(a.worker, r);
        }
    }
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ReadyQueueDispatch)->Args({100000, 2})->Args({100000, 1000})->Unit(benchmark::kMillisecond);

// The release path: one task finishes and makes its n-1 dependants ready.
void BM_ReleaseFanOut(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const TaskTable base = table_of(n, true);
  std::vector<mpiq::core::Assignment> assignments;
  std::vector<mpiq::core::StealRequest> steals;
  for (auto _ : state) {
    state.PauseTiming();
    TaskTable table = base;
    Scheduler s(table, {});
    s.add_worker(1, 1, 0);
    s.dispatch(assignments, steals);
    s.on_started(1, 0, 0);
    mpiq::core::TaskResult r;
    r.task = 0;
    r.exit_code = 0;
    state.ResumeTiming();
    s.on_finished(1, r);
    benchmark::DoNotOptimize(s.counts());
  }
  state.SetItemsProcessed(state.iterations() * (state.range(0) - 1));
}
BENCHMARK(BM_ReleaseFanOut)->Arg(100000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
