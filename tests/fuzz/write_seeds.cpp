/// Writes the seed corpus of fuzz_messages: one message of each kind, as mpiq's encoders make them,
/// behind the byte that makes the target pick its decoder. Usage: fuzz_write_seeds DIR; with
/// `--run-file`, prints the task file of the seeds' run (seed_run.hpp) instead.

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "core/messages.hpp"
#include "core/task_file.hpp"
#include "seed_run.hpp"

using namespace mpiq::core;

namespace {

void write(const std::string& dir, const std::string& name, char selector, const std::vector<char>& message) {
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out.put(selector);
  out.write(message.data(), static_cast<std::streamsize>(message.size()));
  if (!out) std::fprintf(stderr, "fuzz_write_seeds: cannot write %s/%s\n", dir.c_str(), name.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--run-file") {
    std::fputs(mpiq::fuzz::kSeedRun, stdout);
    return 0;
  }
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_write_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  write(dir, "hello", 0, encode(Hello{"node-1", "0-3,8", "0,1", 5, 2}));
  const TaskTable table = parse_task_file(mpiq::fuzz::kSeedRun, "seed.tasks");
  std::vector<TaskOrder> orders;
  for (TaskIndex t = 0; t < table.size(); ++t)
    if (!table.is_barrier(t)) orders.push_back(make_order(table, t));
  write(dir, "orders", 1, encode(orders));
  Report report;
  report.started.push_back({0, 1700000000.5});
  TaskResult done;
  done.task = 0;
  done.exit_code = 0;
  done.start_time = 1700000000.5;
  done.end_time = 1700000001.25;
  done.max_rss_kb = 2048;
  TaskResult failed = done;
  failed.task = 1;
  failed.exit_code = -1;
  failed.signal = 9;
  failed.timed_out = true;
  failed.output = "mpiq: timed out after 30s\n";
  report.finished = {done, failed};
  write(dir, "report", 2, encode(report));
  write(dir, "count", 3, encode_count(3));
  write(dir, "indices", 4, encode(std::vector<TaskIndex>{0, 2, 3}));
  write(dir, "stop", 5, encode(Stop{true}));
  write(dir, "cancel", 6, encode(Cancel{2.5, {1, 3}}));
  TaskTable functions;
  TaskSpec spec;
  spec.kind = "square";
  spec.payload = "7";
  for (TaskId id = 1; id <= 2; ++id) {
    spec.id = id;
    functions.append(spec);
  }
  functions.init_runtime_columns();
  const std::vector<TaskIndex> rows{0, 1};
  write(dir, "functions", 7, encode_functions(functions, rows, true));
  FunctionReportWriter results;
  results.add(0, 0, 1.0, 2.0, "49");
  results.add(1, 1, 1.0, 2.0, "bad payload");
  write(dir, "function-report", 8, results.take());
  return 0;
}
