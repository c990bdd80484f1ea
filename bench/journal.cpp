// Benchmark 6, journal part: the cost of the run directory's journal per finished task, measured by
// driving store::Journal the way the hub does (hub/run_directory.cpp): after each batch of worker
// reports the finished tasks are appended and flushed (one write(2)), and an fdatasync follows at most
// every 50 ms. mpiq has no switch to turn the journal off, so its overhead on benchmark 1 is computed
// from these two costs and benchmark 1's time per task (bench/run.sh does the arithmetic):
//
//   overhead = append_flush_us / task_us + sync_us / 50 ms
//
// the first term paid per task, the second once per 50 ms of run time.
//
//   bench_journal [N=20000] [DIR=/tmp] [BATCH=1]
//
// Prints `append_flush_us=<per record> sync_us=<median fdatasync after one batch>`.

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/task_table.hpp"
#include "store/journal.hpp"

namespace {
using Clock = std::chrono::steady_clock;
double us_since(Clock::time_point t) { return std::chrono::duration<double, std::micro>(Clock::now() - t).count(); }
}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20000;
  const std::string base = argc > 2 ? argv[2] : "/tmp";
  const size_t batch = argc > 3 ? std::max<size_t>(1, std::strtoull(argv[3], nullptr, 10)) : 1;
  std::string dir = base + "/mpiq-bench-journal-XXXXXX";
  if (!::mkdtemp(dir.data())) {
    std::perror("mkdtemp");
    return 1;
  }
  try {
    mpiq::store::JournalRecord rec;
    rec.state = mpiq::core::TaskState::done;
    rec.attempts = 1;
    rec.exit_code = 0;
    rec.worker_rank = 1;
    rec.start_time = 1.7e9;
    rec.end_time = 1.7e9 + 0.002;
    rec.max_rss_kb = 1200;

    auto journal = mpiq::store::Journal::open(dir + "/journal", 1);
    // Append + flush of every batch, no sync: the per-task part.
    auto t = Clock::now();
    for (size_t i = 0; i < n; ++i) {
      rec.row = static_cast<uint32_t>(i);
      journal.append(rec);
      if ((i + 1) % batch == 0) journal.flush();
    }
    journal.flush();
    const double append_flush_us = us_since(t) / static_cast<double>(n);

    // One batch then fdatasync, as the hub's 50 ms sync finds it: the per-interval part.
    std::vector<double> syncs;
    for (int k = 0; k < 200; ++k) {
      for (size_t i = 0; i < batch; ++i) journal.append(rec);
      journal.flush();
      t = Clock::now();
      journal.sync();
      syncs.push_back(us_since(t));
    }
    std::sort(syncs.begin(), syncs.end());
    std::printf("records=%zu batch=%zu dir=%s\n", n, batch, base.c_str());
    std::printf("append_flush_us=%.2f sync_us=%.1f sync_p90_us=%.1f\n", append_flush_us, syncs[syncs.size() / 2],
                syncs[syncs.size() * 9 / 10]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_journal: %s\n", e.what());
    std::filesystem::remove_all(dir);
    return 1;
  }
  std::filesystem::remove_all(dir);
  return 0;
}
