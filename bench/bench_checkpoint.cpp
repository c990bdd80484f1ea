// Times the durable-state paths of the hub on a synthetic table (docs/design.md §7, issue 3's speed targets):
// checkpoint write (with its fsyncs) and load of N tasks with 40-byte commands and one dependency each,
// and the journal: N task updates appended, flushed and synced, then replayed; then the checkpoint again
// with an earlier attempt of every task (core/attempt_log.hpp, up to its bound), written and loaded.
//
//   bench_checkpoint [N=1000000] [DIR=/tmp] [KEEP_DIR]
//
// KEEP_DIR: leave the checkpoint with earlier attempts there as checkpoint.h5 (for `mpiq report`).
//
// Prints a table; never fails on a time (benchmarks do not gate CI).

#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/task_table.hpp"
#include "store/checkpoint.hpp"
#include "store/journal.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

mpiq::core::TaskTable make_table(size_t n) {
  using mpiq::core::TaskState;
  mpiq::core::TaskTable t;
  t.id.reserve(n);
  t.command.reserve(n, 40 * n);
  // 40-byte commands up to 10^7 tasks (longer beyond). The buffer fits the longest a size_t can print,
  // so nothing is cut: the seed used to be, by a 41-byte buffer under a 43-byte format.
  char command[64];
  for (size_t i = 0; i < n; ++i) {
    t.id.push_back(static_cast<uint32_t>(i + 1));
    t.flags.push_back(0);
    t.name.push_back("");
    const int len =
        std::snprintf(command, sizeof command, "./simulate --input=in/%07zu --seed=%03zu", i, i % 1000);
    t.command.push_back(std::string_view(command, static_cast<size_t>(len)));
    t.workdir.push_back("");
    t.cores.push_back(1);
    t.gpus.push_back(0);
    t.timeout_s.push_back(3600);
    t.retries.push_back(1);
    t.priority.push_back(0);
    t.deps.push_back(static_cast<uint32_t>(i == 0 ? 0 : i - 1));
    t.dep_offsets.push_back(i == 0 ? 0 : t.deps.size());
    if (i == 0) t.deps.clear();
  }
  t.init_runtime_columns();
  for (size_t i = 0; i < n; i += 2) {
    t.state[i] = TaskState::done;
    t.attempts[i] = 1;
    t.exit_code[i] = 0;
    t.worker_rank[i] = static_cast<int32_t>(1 + i % 64);
    t.start_time[i] = 1.7e9 + static_cast<double>(i);
    t.end_time[i] = 1.7e9 + static_cast<double>(i) + 0.5;
    t.max_rss_kb[i] = 10000 + static_cast<int64_t>(i % 977);
  }
  return t;
}

void row(const char* what, double seconds, double megabytes) {
  std::printf("| %-34s | %8.3f s | %9.1f MB | %8.0f MB/s |\n", what, seconds, megabytes,
              seconds > 0 ? megabytes / seconds : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  std::string base = argc > 2 ? argv[2] : "/tmp";
  std::string pattern = base + "/mpiq-bench-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = pattern;
  const std::string checkpoint = dir + "/checkpoint.h5";
  const std::string journal_path = dir + "/journal";

  try {
    auto start = Clock::now();
    const mpiq::core::TaskTable table = make_table(n);
    const double build_s = seconds_since(start);

    mpiq::store::CheckpointMeta meta;
    meta.mpiq_version = "bench";
    meta.task_file = "tasks.txt";
    meta.journal_epoch = 1;

    // Twice: the first write also pays for the file system allocating the blocks; the second is what
    // a running hub's periodic snapshot costs (it replaces a file of the same size).
    start = Clock::now();
    mpiq::store::write_checkpoint(checkpoint, table, meta);
    const double write1_s = seconds_since(start);
    start = Clock::now();
    mpiq::store::write_checkpoint(checkpoint, table, meta);
    const double write2_s = seconds_since(start);
    const double file_mb = static_cast<double>(std::filesystem::file_size(checkpoint)) / 1e6;

    start = Clock::now();
    const mpiq::core::TaskTable loaded = mpiq::store::read_checkpoint(checkpoint, nullptr);
    const double read_s = seconds_since(start);
    if (loaded.size() != n || loaded.command[n / 2] != table.command[n / 2]) {
      std::fprintf(stderr, "bench_checkpoint: the loaded table differs\n");
      return 1;
    }

    // The parse alone, without the child that read_checkpoint() runs it in first (issue 17).
    start = Clock::now();
    const mpiq::core::TaskTable here = mpiq::store::read_checkpoint_in_process(checkpoint, nullptr);
    const double read_here_s = seconds_since(start);
    if (here.size() != n) return 1;

    start = Clock::now();
    {
      auto journal = mpiq::store::Journal::open(journal_path, 1);
      for (size_t i = 0; i < n; ++i) {
        journal.append(mpiq::store::JournalRecord::from_row(table, static_cast<uint32_t>(i)));
        // As the hub does: a flush per batch of 64 results, an fdatasync per 4096.
        if (i % 64 == 63) journal.flush();
        if (i % 4096 == 4095) journal.sync();
      }
      journal.sync();
    }
    const double journal_s = seconds_since(start);
    const double journal_mb = static_cast<double>(std::filesystem::file_size(journal_path)) / 1e6;

    mpiq::core::TaskTable replayed = table;
    start = Clock::now();
    const auto replay = mpiq::store::apply_journal(journal_path, 1, replayed);
    const double replay_s = seconds_since(start);

    mpiq::store::CheckpointMeta with_attempts = meta;
    for (size_t i = 0; i < n; ++i)
      with_attempts.earlier_attempts.add({static_cast<uint32_t>(i), 1, static_cast<int32_t>(1 + (i + 7) % 64),
                                          1, 0, mpiq::core::AttemptEnd::failed,
                                          1.7e9 + static_cast<double>(i) - 0.5,
                                          1.7e9 + static_cast<double>(i) - 0.1, 9000});
    const std::string attempts_path = dir + "/attempts.h5";
    start = Clock::now();
    mpiq::store::write_checkpoint(attempts_path, table, with_attempts);
    const double write_attempts_s = seconds_since(start);
    const double attempts_mb = static_cast<double>(std::filesystem::file_size(attempts_path)) / 1e6;
    start = Clock::now();
    mpiq::store::CheckpointMeta loaded_meta;
    mpiq::store::read_checkpoint(attempts_path, &loaded_meta);
    const double read_attempts_s = seconds_since(start);
    if (loaded_meta.earlier_attempts.records() != with_attempts.earlier_attempts.records()) {
      std::fprintf(stderr, "bench_checkpoint: the loaded earlier attempts differ\n");
      return 1;
    }
    if (argc > 3) std::filesystem::copy_file(attempts_path, std::string(argv[3]) + "/checkpoint.h5");

    std::printf("mpiq checkpoint benchmark: %zu tasks, 40-byte commands, 1 dependency each, in %s\n\n", n,
                dir.c_str());
    std::printf("| %-34s | %10s | %12s | %13s |\n", "step", "time", "size", "rate");
    std::printf("|%s|%s|%s|%s|\n", std::string(36, '-').c_str(), std::string(12, '-').c_str(),
                std::string(14, '-').c_str(), std::string(15, '-').c_str());
    row("build table (in memory)", build_s, 0);
    row("write checkpoint, new file", write1_s, file_mb);
    row("write checkpoint, replacing", write2_s, file_mb);
    row("load checkpoint (all checks)", read_s, file_mb);
    row("load checkpoint, parse alone", read_here_s, file_mb);
    row("journal: append+flush+sync all", journal_s, journal_mb);
    row("journal: replay into table", replay_s, journal_mb);
    char what[64];
    std::snprintf(what, sizeof what, "write, %zu earlier attempts", with_attempts.earlier_attempts.size());
    row(what, write_attempts_s, attempts_mb);
    std::snprintf(what, sizeof what, "load, %zu earlier attempts", with_attempts.earlier_attempts.size());
    row(what, read_attempts_s, attempts_mb);
    std::printf("\njournal records replayed: %llu\n", static_cast<unsigned long long>(replay.records));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_checkpoint: %s\n", e.what());
    std::filesystem::remove_all(dir);
    return 1;
  }
  std::filesystem::remove_all(dir);
  return 0;
}
