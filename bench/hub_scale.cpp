// Benchmark 5: what the hub pays to load a large batch. Parses a task file with the hub's parser and
// builds the hub's Scheduler from it (everything `mpiq run` holds per task before the first dispatch),
// timing both and reading this process's memory from /proc/self/status.
//
//   bench_hub_scale generate N FILE   writes N tasks of 40-byte commands, each waiting for the one before
//                                     (`[# -1 #]`), the first for none
//   bench_hub_scale sweep N FILE      writes one line, a sweep of N elements (`[% repeat=N %]`) whose
//                                     40-byte command names its element through $MPIQ_REPEAT_INDEX
//   bench_hub_scale load FILE         parses FILE, builds the Scheduler, prints key=value figures
//
// Memory per task excludes the command bytes (the commands themselves are the user's data):
//   peak_b_per_task   = (VmHWM - VmRSS at start - command bytes) / tasks: the high-water mark, which
//                       includes the file's text while it is parsed and the parser's temporaries
//   steady_b_per_task = (VmRSS after the Scheduler is built - VmRSS at start - command bytes) / tasks:
//                       what the hub keeps for the run

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "core/scheduler.hpp"
#include "store/task_file_io.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM").
long long status_bytes(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t len = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, len, field) == 0 && line.size() > len && line[len] == ':')
      return std::atoll(line.c_str() + len + 1) * 1024;
  return -1;
}

int generate(size_t n, const char* path) {
  std::FILE* f = std::fopen(path, "w");
  if (!f) {
    std::perror(path);
    return 1;
  }
  std::string buf;
  buf.reserve(1 << 20);
  char command[64];
  for (size_t i = 0; i < n; ++i) {
    // Exactly 40 bytes, like the checkpoint benchmark's commands.
    std::snprintf(command, sizeof command, "./simulate --in=in/%010zu --seed=%03zu", i, i % 1000);
    if (i > 0) buf += "[# -1 #] ";
    buf.append(command, 40);
    buf += '\n';
    if (buf.size() > (1 << 20) - 128) {
      std::fwrite(buf.data(), 1, buf.size(), f);
      buf.clear();
    }
  }
  std::fwrite(buf.data(), 1, buf.size(), f);
  return std::fclose(f) == 0 ? 0 : 1;
}

int sweep(size_t n, const char* path) {
  std::FILE* f = std::fopen(path, "w");
  if (!f) {
    std::perror(path);
    return 1;
  }
  // 40 bytes, as generate's commands: the table holds one copy per element, as it would per line.
  std::fprintf(f, "[%% repeat=%zu %%] ./simulate --in=$MPIQ_REPEAT_INDEX --s=1\n", n);
  return std::fclose(f) == 0 ? 0 : 1;
}

int load(const char* path) {
  const long long base = status_bytes("VmRSS");
  auto start = Clock::now();
  mpiq::core::TaskTable table = mpiq::store::load_task_file(path);
  const double parse_s = std::chrono::duration<double>(Clock::now() - start).count();
  const long long after_parse = status_bytes("VmRSS");
  const long long hwm_parse = status_bytes("VmHWM");

  start = Clock::now();
  mpiq::core::Scheduler scheduler(table, {});
  const double build_s = std::chrono::duration<double>(Clock::now() - start).count();
  const long long after_build = status_bytes("VmRSS");
  const long long hwm = status_bytes("VmHWM");

  const double n = static_cast<double>(table.size());
  const double command_bytes = static_cast<double>(table.command.blob().size());
  std::printf("tasks=%zu edges=%zu command_bytes=%.0f\n", table.size(), table.edge_count(), command_bytes);
  std::printf("parse_s=%.3f scheduler_s=%.3f parse_s_per_million=%.3f\n", parse_s, build_s,
              parse_s / n * 1e6);
  std::printf(
      "rss_start_mb=%.1f rss_after_parse_mb=%.1f hwm_after_parse_mb=%.1f rss_after_scheduler_mb=%.1f "
      "hwm_mb=%.1f\n",
      base / 1e6, after_parse / 1e6, hwm_parse / 1e6, after_build / 1e6, hwm / 1e6);
  std::printf("table_b_per_task=%.1f\n", (after_parse - base - command_bytes) / n);
  std::printf("peak_b_per_task=%.1f steady_b_per_task=%.1f\n", (hwm - base - command_bytes) / n,
              (after_build - base - command_bytes) / n);
  return scheduler.task_count() > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 4 && std::strcmp(argv[1], "generate") == 0)
      return generate(std::strtoull(argv[2], nullptr, 10), argv[3]);
    if (argc == 4 && std::strcmp(argv[1], "sweep") == 0)
      return sweep(std::strtoull(argv[2], nullptr, 10), argv[3]);
    if (argc == 3 && std::strcmp(argv[1], "load") == 0) return load(argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_hub_scale: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: bench_hub_scale generate N FILE | sweep N FILE | load FILE\n");
  return 2;
}
