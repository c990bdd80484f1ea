#pragma once
// Helpers shared by the store tests: a task table with every column set, running external tools
// (h5dump, h5py), and tests/support's TempDir and whole-file I/O.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "../core/task_table_testing.hpp"
#include "core/task_table.hpp"
#include "support/temp_dir.hpp"

namespace mpiq::store::test {

// The suite's temporary directory and whole-file helpers (tests/support), under the names the store
// tests use.
using ::mpiq::test::read_bytes;
using ::mpiq::test::TempDir;
using ::mpiq::test::write_bytes;

/// Appends one task with its spec columns; runtime columns are filled by init_runtime_columns().
inline void add_task(core::TaskTable& t, core::TaskId id, std::string_view command,
                     std::string_view name = "", std::initializer_list<core::TaskIndex> deps = {},
                     uint8_t flags = 0) {
  t.id.push_back(id);
  t.flags.push_back(flags);
  t.name.push_back(name);
  t.command.push_back(command);
  t.workdir.push_back(id % 2 ? "" : "/scratch/run " + std::to_string(id));
  t.cores.push_back(1 + id % 4);
  t.gpus.push_back(id % 3);
  t.timeout_s.push_back(id * 60);
  t.retries.push_back(id % 2);
  t.priority.push_back(static_cast<int32_t>(id) - 5);
  t.deps.insert(t.deps.end(), deps.begin(), deps.end());
  t.dep_offsets.push_back(t.deps.size());
}

/// Five tasks and a barrier with every column holding something distinctive: empty and non-ASCII
/// strings, a barrier row, several dependencies, negative values, every kind of state.
inline core::TaskTable sample_table() {
  core::TaskTable t;
  add_task(t, 1, "echo 'hello world' > out.txt", "prep");
  add_task(t, 2, "", "", {0});
  add_task(t, 4, "python3 run.py --grüße ✓", "solve.v2", {0, 1});
  add_task(t, 5, "", "", {0, 1, 2}, core::kBarrier);
  add_task(t, 9, "sleep 1; false", "", {3});
  add_task(t, 12, "true", "last-one", {2, 3, 4});
  t.init_runtime_columns();
  t.state = {core::TaskState::done,    core::TaskState::failed, core::TaskState::running,
             core::TaskState::skipped, core::TaskState::ready,  core::TaskState::assigned};
  t.attempts = {1, 3, 2, 0, 0, 1};
  t.exit_code = {0, 7, -1, -1, -1, 137};
  t.signal = {0, 0, 0, 0, 0, 9};
  t.worker_rank = {1, 2, 3, -1, -1, 4};
  t.start_time = {1700000000.25, 1700000001.5, 1700000002.125, 0, 0, 1700000003};
  t.end_time = {1700000010.75, 1700000011.5, 0, 0, 0, 1700000004};
  t.max_rss_kb = {1024, 2048, 0, 0, 0, int64_t{1} << 40};
  return t;
}

/// Expects `a` and `b` to hold the same rows in every column of the schema.
inline void expect_tables_equal(const core::TaskTable& a, const core::TaskTable& b) {
  core::testing::expect_same_columns(a, b);
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

/// Runs `command` through the shell and collects its output.
inline CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  char buffer[4096];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, got);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace mpiq::store::test
