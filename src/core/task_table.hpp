#pragma once
/// The task database: one row per task, one column per attribute (structure of arrays).
///
/// The same columns are the HDF5 checkpoint's datasets (DESIGN §7), so a snapshot is one write per
/// column. Rows are ordered by task id; a task's row index never changes once it exists (tasks
/// submitted during a run are appended with larger ids).

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/column_memory.hpp"
#include "core/result_column.hpp"
#include "core/string_column.hpp"

namespace mpiq::core {

/// A task's id: the 1-based line number of its first line in the task file. Tasks submitted later
/// get ids above every id already in the table.
using TaskId = uint32_t;
/// A task's 0-based row in a TaskTable.
using TaskIndex = uint32_t;

/// The lifecycle of DESIGN §3. The numeric values are the HDF5 enum's values: never renumber.
enum class TaskState : uint8_t {
  waiting = 0,   ///< some dependency is not done yet
  ready = 1,     ///< may be dispatched
  assigned = 2,  ///< in a worker's local queue, not started
  running = 3,   ///< started on a worker
  done = 4,      ///< exited 0
  failed = 5,    ///< non-zero exit, signal, spawn error or timeout after its last retry
  skipped = 6,   ///< a dependency failed or was skipped
};
inline constexpr size_t kTaskStateCount = 7;
inline constexpr std::array<std::string_view, kTaskStateCount> kTaskStateNames = {
    "waiting", "ready", "assigned", "running", "done", "failed", "skipped"};

inline std::string_view to_string(TaskState s) {
  return kTaskStateNames[static_cast<size_t>(s)];
}
inline std::optional<TaskState> parse_task_state(std::string_view name) {
  for (size_t i = 0; i < kTaskStateCount; ++i)
    if (kTaskStateNames[i] == name) return static_cast<TaskState>(i);
  return std::nullopt;
}
/// True for the three end states: nothing will happen to the task any more in this run.
inline bool is_final(TaskState s) {
  return s == TaskState::done || s == TaskState::failed || s == TaskState::skipped;
}

/// Bits of TaskTable::flags.
enum TaskFlag : uint8_t {
  /// A `#MPIQ barrier` line: no command; done as soon as every earlier task is done. It is a row of its
  /// own so that a barrier costs one edge per task instead of one per pair of tasks.
  kBarrier = 1u << 0,
};

/// One row's spec columns: a task as a task-file line or a submission describes it. The views and
/// the span must outlive the TaskTable::append call that copies them.
struct TaskSpec {
  TaskId id = 0;
  uint8_t flags = 0;  ///< TaskFlag bits
  std::string_view name, command, workdir;
  uint32_t cores = 1, gpus = 0, timeout_s = 0, retries = 0;
  int32_t priority = 0;
  std::span<const TaskIndex> deps;  ///< rows of the table it is appended to, sorted and unique
  std::string_view kind;            ///< "" = a shell command
  std::string_view payload;
};

/// Every column has size() rows, except the CSR offsets (size()+1) and `deps` (number of edges).
struct TaskTable {
  // --- What the task file says. ---
  std::vector<TaskId> id;           ///< ascending
  std::vector<uint8_t> flags;       ///< TaskFlag bits
  StringColumn name;                ///< "" when unnamed
  StringColumn command;             ///< the command after its prefixes, continuation lines joined
  StringColumn workdir;             ///< "" = the run's working directory
  std::vector<uint32_t> cores;      ///< cores requested (default 1)
  std::vector<uint32_t> gpus;       ///< GPUs requested (default 0)
  std::vector<uint32_t> timeout_s;  ///< 0 = none
  std::vector<uint32_t> retries;    ///< extra attempts after a failure (default 0)
  std::vector<int32_t> priority;    ///< larger runs first (default 0)
  /// Dependencies as CSR over row indices: the rows that row i waits for are
  /// deps[dep_offsets[i] .. dep_offsets[i+1]). Sorted and unique within a row.
  std::vector<uint64_t> dep_offsets{0};
  std::vector<TaskIndex> deps;

  // --- Function tasks (embedding, DESIGN §10). A row is a shell command when its kind is 0. ---
  /// Index into kind_names: 0 = a shell command, otherwise the registered task kind the row runs.
  std::vector<uint16_t> kind;
  /// Task kinds by index; entry 0 is always "" (a shell command). Shared by every row.
  std::vector<std::string> kind_names{""};
  StringColumn payload;  ///< the bytes handed to the kind's work(); "" for commands

  // --- What happened to it. ---
  std::vector<TaskState> state;
  std::vector<uint32_t> attempts;  ///< attempts started (a running task interrupted by a stop is not counted)
  std::vector<int32_t> exit_code;  ///< of the last attempt; -1 when it has not exited
  std::vector<int32_t> signal;     ///< signal that ended the last attempt, 0 if none
  std::vector<int32_t> worker_rank;  ///< rank that ran the last attempt, -1 if none
  std::vector<double> start_time;    ///< Unix time (s) the last attempt started, 0 if never
  std::vector<double> end_time;      ///< Unix time (s) the last attempt ended, 0 if never
  std::vector<int64_t> max_rss_kb;   ///< peak resident set of the last attempt, 0 if unknown
  /// Of a function task that ended for good: its result bytes when done, the error message when
  /// failed. Empty otherwise (and always for commands). Set once, when the task reaches a final state.
  ResultColumn result;

  size_t size() const noexcept { return id.size(); }
  size_t edge_count() const noexcept { return deps.size(); }
  bool is_barrier(TaskIndex i) const noexcept { return (flags[i] & kBarrier) != 0; }
  bool is_function(TaskIndex i) const noexcept { return kind[i] != 0; }
  std::string_view kind_name(TaskIndex i) const noexcept { return kind_names[kind[i]]; }

  /// The index of kind `name` in kind_names, added when new. Throws std::length_error past 65,535 kinds.
  uint16_t intern_kind(std::string_view name) {
    for (size_t k = 0; k < kind_names.size(); ++k)
      if (kind_names[k] == name) return static_cast<uint16_t>(k);
    if (kind_names.size() > UINT16_MAX) throw std::length_error("more than 65535 task kinds");
    kind_names.emplace_back(name);
    return static_cast<uint16_t>(kind_names.size() - 1);
  }

  /// Appends a row holding `s` in the spec columns and returns it. The runtime columns are left to
  /// init_runtime_columns(). The one way rows are added: parser, submissions, journal replay, tests.
  TaskIndex append(const TaskSpec& s) {
    const auto row = static_cast<TaskIndex>(size());
    // First what may throw (too many kinds), so that a failure leaves no half-appended row.
    const uint16_t kind_index = s.kind.empty() ? uint16_t{0} : intern_kind(s.kind);
    // Rows added by hand (or by an older writer) before this one may lack a kind and payload.
    pad_function_columns(row);
    push_column(id, s.id);
    push_column(flags, s.flags);
    name.push_back(s.name);
    command.push_back(s.command);
    workdir.push_back(s.workdir);
    push_column(cores, s.cores);
    push_column(gpus, s.gpus);
    push_column(timeout_s, s.timeout_s);
    push_column(retries, s.retries);
    push_column(priority, s.priority);
    grow_column(deps, s.deps.size());
    deps.insert(deps.end(), s.deps.begin(), s.deps.end());
    push_column(dep_offsets, deps.size());
    push_column(kind, kind_index);
    payload.push_back(s.payload);
    return row;
  }

  /// Makes room for `rows` rows in every column (string bytes grow as they come), so that appending
  /// a known number of tasks one at a time copies no column.
  void reserve(size_t rows) {
    reserve_column(id, rows);
    reserve_column(flags, rows);
    name.reserve(rows, 0);
    command.reserve(rows, 0);
    workdir.reserve(rows, 0);
    for (auto* c : {&cores, &gpus, &timeout_s, &retries, &attempts}) reserve_column(*c, rows);
    reserve_column(priority, rows);
    reserve_column(dep_offsets, rows + 1);
    reserve_column(kind, rows);
    payload.reserve(rows, 0);
    reserve_column(state, rows);
    for (auto* c : {&exit_code, &signal, &worker_rank}) reserve_column(*c, rows);
    reserve_column(start_time, rows);
    reserve_column(end_time, rows);
    reserve_column(max_rss_kb, rows);  // `result` costs nothing per row until one has a result
  }

  /// Row i's spec (views into this table: valid until it changes).
  TaskSpec spec(TaskIndex i) const {
    TaskSpec s;
    s.id = id[i];
    s.flags = flags[i];
    s.name = name[i];
    s.command = command[i];
    s.workdir = workdir[i];
    s.cores = cores[i];
    s.gpus = gpus[i];
    s.timeout_s = timeout_s[i];
    s.retries = retries[i];
    s.priority = priority[i];
    s.deps = {deps.data() + dep_offsets[i], deps.data() + dep_offsets[i + 1]};
    s.kind = i < kind.size() ? kind_names[kind[i]] : std::string_view();
    s.payload = i < payload.size() ? payload[i] : std::string_view();
    return s;
  }

  /// The row of task `task`, if there is one. O(log n).
  std::optional<TaskIndex> find(TaskId task) const {
    auto it = std::lower_bound(id.begin(), id.end(), task);
    if (it == id.end() || *it != task) return std::nullopt;
    return static_cast<TaskIndex>(it - id.begin());
  }

  /// Appends the runtime columns' initial values for every row that lacks them (state `waiting`,
  /// no attempt), and the function-task columns of rows that lack them (a shell command, no payload);
  /// the parser fills only the spec columns and calls this last.
  void init_runtime_columns() {
    const size_t n = size();
    pad_function_columns(n);
    result.resize(n);
    grow(state, n, TaskState::waiting);
    grow(attempts, n, 0u);
    grow(exit_code, n, -1);
    grow(signal, n, 0);
    grow(worker_rank, n, -1);
    grow(start_time, n, 0.0);
    grow(end_time, n, 0.0);
    grow(max_rss_kb, n, int64_t{0});
  }

 private:
  // Gives rows [.., n) that lack them a shell command's kind and an empty payload.
  void pad_function_columns(size_t n) {
    grow(kind, n, uint16_t{0});
    while (payload.size() < n) payload.push_back({});
  }
  // resize() to one more row reallocates every time in libstdc++ 12 (measured: 200,000 one-row
  // resizes took 0.11 s for doubles, 0.38 s for strings); tasks submitted one at a time need
  // amortised growth.
  template <class T, class V>
  static void grow(std::vector<T>& column, size_t n, const V& value) {
    if (column.capacity() < n) reserve_column(column, std::max(n, 2 * column.capacity()));
    column.resize(n, value);
  }
};

/// The shape of a task graph, as `mpiq check` prints it. Barrier rows are not counted as tasks.
struct GraphSummary {
  uint64_t tasks = 0;  ///< command tasks
  uint64_t edges = 0;  ///< dependency edges between command tasks (through barriers counted once per pair
                       ///< of task and barrier)
  uint64_t roots = 0;  ///< tasks with no dependency
  uint64_t depth = 0;  ///< tasks on the longest dependency chain
  uint64_t widest_level = 0;  ///< most tasks at one depth
  uint32_t max_cores = 0;     ///< the largest cores= request
  uint32_t max_gpus = 0;      ///< the largest gpus= request
  uint64_t barriers = 0;      ///< `#MPIQ barrier` lines
};

}  // namespace mpiq::core
