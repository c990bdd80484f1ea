#pragma once
// The files in tests/data/old-formats were written by mpiq at c62902e, before the task table had a
// schema (tests/data/old-formats/make_old_formats.cpp.txt is the program). These helpers repeat what
// that program did, so a test can check that today's reader sees the same table and today's writer
// writes the same bytes.

#include <string>
#include <vector>

#include "core/task_table.hpp"
#include "store/checkpoint.hpp"
#include "store/journal.hpp"

namespace mpiq::store::test {

inline const std::string kOldFormats = std::string(MPIQ_TEST_DATA) + "/old-formats";

inline void old_spec_row(core::TaskTable& t, core::TaskId id, const char* name, const char* cmd,
                         const char* wd, uint32_t cores, uint32_t gpus, uint32_t timeout, uint32_t retries,
                         int32_t prio, std::vector<core::TaskIndex> deps, uint8_t flags = 0,
                         const char* kind = "", const char* payload = "") {
  core::TaskSpec s;
  s.id = id;
  s.flags = flags;
  s.name = name;
  s.command = cmd;
  s.workdir = wd;
  s.cores = cores;
  s.gpus = gpus;
  s.timeout_s = timeout;
  s.retries = retries;
  s.priority = prio;
  s.deps = deps;
  s.kind = kind;
  s.payload = payload;
  t.append(s);
}

inline void old_runtime(core::TaskTable& t, size_t i, core::TaskState st, uint32_t att, int32_t ec,
                        int32_t sig, int32_t rank, double t0, double t1, int64_t rss) {
  t.state[i] = st;
  t.attempts[i] = att;
  t.exit_code[i] = ec;
  t.signal[i] = sig;
  t.worker_rank[i] = rank;
  t.start_time[i] = t0;
  t.end_time[i] = t1;
  t.max_rss_kb[i] = rss;
}

inline CheckpointMeta old_meta() {
  CheckpointMeta meta;
  meta.mpiq_version = "0.1.0";
  meta.task_file = "tasks.txt";
  meta.task_file_sha256 = std::string(64, 'a');
  meta.created = "2026-12-01T21:50:00Z";
  meta.restarts = 2;
  meta.slurm_job_ids = {"77"};
  meta.journal_epoch = 7;
  return meta;
}

/// checkpoint-format1.h5: commands only.
inline core::TaskTable old_command_table() {
  core::TaskTable t;
  old_spec_row(t, 1, "prep", "echo 'hi' > out.txt", "", 1, 0, 0, 0, 0, {});
  old_spec_row(t, 3, "", "python3 run.py --grüße ✓", "/scratch/a b", 4, 1, 1800, 2, -3, {0});
  old_spec_row(t, 4, "", "", "", 1, 0, 0, 0, 0, {0, 1}, core::kBarrier);
  old_spec_row(t, 6, "last.one", "sleep 1; false", "", 2, 0, 60, 1, 10, {2});
  t.init_runtime_columns();
  old_runtime(t, 0, core::TaskState::done, 1, 0, 0, 1, 1700000000.25, 1700000001.5, 2048);
  old_runtime(t, 1, core::TaskState::failed, 3, -1, 9, 2, 1700000002.0, 1700000003.0, 4096);
  old_runtime(t, 2, core::TaskState::done, 0, 0, 0, -1, 0, 0, 0);
  old_runtime(t, 3, core::TaskState::skipped, 0, -1, 0, -1, 0, 0, 0);
  return t;
}

/// journal-format1, following checkpoint-format1.h5: an update (kind 1), an append (kind 2) and a
/// submission (kind 5). Writes it at `path` and applies it to `t`.
inline void old_command_journal(const std::string& path, core::TaskTable& t) {
  auto j = Journal::open(path, 7);
  JournalRecord r;
  r.row = 3;
  r.state = core::TaskState::done;
  r.attempts = 2;
  r.exit_code = 0;
  r.signal = 0;
  r.worker_rank = 3;
  r.start_time = 1700000010.5;
  r.end_time = 1700000011.75;
  r.max_rss_kb = 777;
  j.append(r);
  t.set_runtime(3, r);
  const auto first = static_cast<core::TaskIndex>(t.size());
  old_spec_row(t, 8, "late", "echo late", "/tmp/x", 2, 1, 30, 1, 5, {0, 3});
  t.init_runtime_columns();
  j.append_tasks(t, first);
  const auto first2 = static_cast<core::TaskIndex>(t.size());
  old_spec_row(t, 1001, "sub1", "echo sub", "", 1, 0, 0, 0, 0, {4});
  old_spec_row(t, 1002, "", "echo sub2", "", 3, 0, 0, 0, -1, {5});
  t.init_runtime_columns();
  j.append_submission(t, first2, "x.tasks", 1000);
  j.sync();
}

/// checkpoint-format2.h5: function tasks among commands.
inline core::TaskTable old_function_table() {
  core::TaskTable t;
  old_spec_row(t, 1, "", "echo cmd", "", 1, 0, 0, 0, 0, {});
  // The payload was written from a C string: "\x01", cut at the NUL that followed.
  old_spec_row(t, 2, "fn", "", "", 2, 0, 5, 1, 7, {0}, 0, "square", "\x01");
  old_spec_row(t, 3, "", "", "", 1, 0, 0, 0, 0, {1}, 0, "cube", "payload-3");
  t.init_runtime_columns();
  old_runtime(t, 0, core::TaskState::done, 1, 0, 0, 1, 1.5, 2.5, 10);
  old_runtime(t, 1, core::TaskState::done, 1, 0, 0, 0, 3.0, 4.0, 20);
  t.result[1] = std::string("result\0bytes", 12);
  old_runtime(t, 2, core::TaskState::failed, 2, -1, 0, 0, 5.0, 6.0, 30);
  t.result[2] = "error: boom";
  return t;
}

/// journal-format1-functions, following checkpoint-format2.h5: a function task appended (kind 3) and
/// its update with a result (kind 4). Writes it at `path` and applies it to `t`.
inline void old_function_journal(const std::string& path, core::TaskTable& t) {
  auto j = Journal::open(path, 7);
  const auto first = static_cast<core::TaskIndex>(t.size());
  old_spec_row(t, 4, "", "", "", 1, 0, 0, 0, 0, {2}, 0, "square", "p4");
  t.init_runtime_columns();
  j.append_tasks(t, first);
  JournalRecord r = JournalRecord::from_row(t, 3);
  r.state = core::TaskState::done;
  r.attempts = 1;
  r.exit_code = 0;
  r.worker_rank = 1;
  r.start_time = 8;
  r.end_time = 9;
  r.max_rss_kb = 5;
  r.result = "sixteen";
  j.append(r);
  t.set_runtime(3, r);
  j.sync();
}

}  // namespace mpiq::store::test
