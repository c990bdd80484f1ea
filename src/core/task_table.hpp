#pragma once
/// The task database: one row per task, one column per attribute (structure of arrays).
///
/// The same columns are the HDF5 checkpoint's datasets (docs/design.md §7), so a snapshot is one write per
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
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/column_memory.hpp"
#include "core/result_column.hpp"
#include "core/string_column.hpp"
#include "core/task_schema.hpp"

namespace mpiq::core {

/// A task's id: the 1-based line number of its first line in the task file. Tasks submitted later
/// get ids above every id already in the table.
using TaskId = uint32_t;
/// A task's 0-based row in a TaskTable.
using TaskIndex = uint32_t;

/// The lifecycle of docs/design.md §3. The numeric values are the HDF5 enum's values: never renumber.
enum class TaskState : uint8_t {
  waiting = 0,    ///< some dependency is not done yet
  ready = 1,      ///< may be dispatched
  assigned = 2,   ///< in a worker's local queue, not started
  running = 3,    ///< started on a worker
  done = 4,       ///< exited 0
  failed = 5,     ///< non-zero exit, signal, spawn error or timeout after its last retry
  skipped = 6,    ///< a dependency failed, was skipped or was cancelled
  cancelled = 7,  ///< `mpiq cancel` ended it (never started, or ended while it ran)
};
inline constexpr size_t kTaskStateCount = 8;
inline constexpr std::array<std::string_view, kTaskStateCount> kTaskStateNames = {
    "waiting", "ready", "assigned", "running", "done", "failed", "skipped", "cancelled"};

inline std::string_view to_string(TaskState s) {
  return kTaskStateNames[static_cast<size_t>(s)];
}
inline std::optional<TaskState> parse_task_state(std::string_view name) {
  for (size_t i = 0; i < kTaskStateCount; ++i)
    if (kTaskStateNames[i] == name) return static_cast<TaskState>(i);
  return std::nullopt;
}
/// True for the four end states: nothing will happen to the task any more in this run.
inline bool is_final(TaskState s) {
  return s == TaskState::done || s == TaskState::failed || s == TaskState::skipped ||
         s == TaskState::cancelled;
}

/// TaskTable::element of a row that is not an element of a sweep (docs/design.md §2): a plain task, a
/// barrier, or a sweep's join row.
inline constexpr uint32_t kNoElement = 0xFFFFFFFFu;

/// How messages and commands name a task: its id, `ID[i]` for element i of a sweep.
inline std::string task_label(uint32_t id, uint32_t element) {
  std::string s = std::to_string(id);
  if (element != kNoElement) {
    // append, not `"[" + ... + "]"`: g++ 12 warns (-Wrestrict, a false positive) on the temporaries
    s.push_back('[');
    s.append(std::to_string(element));
    s.push_back(']');
  }
  return s;
}

/// Bits of TaskTable::flags.
enum TaskFlag : uint8_t {
  /// A `#MPIQ barrier` line: no command; done as soon as every earlier task is done. It is a row of its
  /// own so that a barrier costs one edge per task instead of one per pair of tasks.
  kBarrier = 1u << 0,
  /// A row of a disBatch file (`--format disbatch`, core/disbatch.hpp): its task gets disBatch's
  /// `DISBATCH_*` variables, DISBATCH_TASKID being its row (disBatch's 0-based count of the file's tasks
  /// and barriers).
  kDisbatch = 1u << 1,
  /// With kBarrier: disBatch's `#DISBATCH BARRIER`, which waits for the tasks before it to end, however
  /// they end. A failed, skipped or cancelled task releases it as a done one does; only a barrier before
  /// it that did not pass (a failed `BARRIER CHECK`) skips it. Without this bit a barrier waits for
  /// success, as `#MPIQ barrier` and disBatch's `BARRIER CHECK` do.
  kAfterAny = 1u << 2,
};

/// One row's spec columns: a task as a task-file line or a submission describes it. The views and
/// the span must outlive the TaskTable::append call that copies them. The default values are the
/// columns' defaults (a row that an older file lacks the column for gets them).
struct TaskSpec {
  TaskId id = 0;
  uint32_t element = kNoElement;  ///< the sweep index of an element of a `repeat=` line
  uint32_t output_id = 0;         ///< the id its output is under when its line moved (an edit), else 0
  uint32_t output_run = 0;        ///< with output_id: that output is in the runs before this one
  uint8_t flags = 0;              ///< TaskFlag bits
  std::string_view name, command, workdir;
  uint32_t cores = 1, gpus = 0, timeout_s = 0, retries = 0;
  int32_t priority = 0;
  uint64_t mem_kb = 0;
  std::span<const TaskIndex> deps;  ///< rows of the table it is appended to, sorted and unique
  std::string_view kind;            ///< "" = a shell command
  std::string_view payload;
};

/// One row's runtime columns: what happened to the task, as a journal update carries it. The default
/// values are a task's before it ever ran (init_runtime_columns() gives them to new rows).
struct TaskRuntime {
  TaskState state = TaskState::waiting;
  uint32_t attempts = 0;     ///< attempts started
  int32_t exit_code = -1;    ///< of the last attempt, -1 when it has not exited
  int32_t signal = 0;        ///< signal that ended the last attempt, 0 if none
  int32_t worker_rank = -1;  ///< rank that ran the last attempt, -1 if none
  double start_time = 0;     ///< Unix time the last attempt started, 0 if never
  double end_time = 0;       ///< Unix time the last attempt ended, 0 if never
  int64_t max_rss_kb = 0;    ///< peak resident set of the last attempt, 0 if unknown
  std::string result;        ///< a function task's result or failure message
  uint32_t crashes = 0;      ///< times it was running on a worker that was lost (docs/design.md §3)
  bool operator==(const TaskRuntime&) const = default;
};

/// Every column has size() rows, except the CSR offsets (size()+1) and `deps` (number of edges).
/// Every member is a column listed in kTaskColumns below (or the kind names that `kind` indexes).
struct TaskTable {
  // --- What the task file says. ---
  std::vector<TaskId> id;  ///< ascending, with `element`: (id, element) is the key
  /// The sweep index (`MPIQ_REPEAT_INDEX`) of the elements of a `repeat=` line, which share the line's
  /// id and are shown as `LINE[i]`; kNoElement for every other row. Within one id, rows ascend by it.
  std::vector<uint32_t> element;
  /// Of a task whose line moved in an edit of the task file (core/task_edit.hpp) after it ended: the id
  /// its output was written under (stream records, `ID.out`), in runs before `output_run`; 0 for every
  /// other row, whose output is under its own id.
  std::vector<uint32_t> output_id;
  std::vector<uint32_t> output_run;
  std::vector<uint8_t> flags;       ///< TaskFlag bits
  StringColumn name;                ///< "" when unnamed
  StringColumn command;             ///< the command after its prefixes, continuation lines joined
  StringColumn workdir;             ///< "" = the run's working directory
  std::vector<uint32_t> cores;      ///< cores requested (default 1)
  std::vector<uint32_t> gpus;       ///< GPUs requested (default 0)
  std::vector<uint32_t> timeout_s;  ///< 0 = none
  std::vector<uint32_t> retries;    ///< extra attempts after a failure (default 0)
  std::vector<int32_t> priority;    ///< larger runs first (default 0)
  /// Memory asked for on the task's node, KiB (`mem=`; default 0, nothing asked). What the scheduler
  /// reserves from the node's budget while the task is on a worker there; never enforced on the task.
  std::vector<uint64_t> mem_kb;
  /// Dependencies as CSR over row indices: the rows that row i waits for are
  /// deps[dep_offsets[i] .. dep_offsets[i+1]). Sorted and unique within a row.
  std::vector<uint64_t> dep_offsets{0};
  std::vector<TaskIndex> deps;

  // --- Function tasks (embedding, docs/design.md §10). A row is a shell command when its kind is 0. ---
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
  /// failed. Of a command task that failed for good: the end of its stderr (core/task_outcome.hpp).
  /// Empty otherwise. Set once, when the task reaches a final state.
  ResultColumn result;
  /// Times the task was running on a worker or node that was lost (docs/design.md §3), kept across
  /// resumes; at the crash limit the task fails.
  std::vector<uint32_t> crashes;

  size_t size() const noexcept { return id.size(); }
  size_t edge_count() const noexcept { return deps.size(); }
  bool is_barrier(TaskIndex i) const noexcept { return (flags[i] & kBarrier) != 0; }
  /// Whether row i ends when its dependencies end, however they end (kAfterAny).
  bool is_after_any(TaskIndex i) const noexcept { return (flags[i] & kAfterAny) != 0; }
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
  TaskIndex append(const TaskSpec& s);

  /// Makes room for `rows` rows in every column and `edges` dependencies (string bytes grow as they
  /// come), so that appending a known number of tasks one at a time copies no column.
  void reserve(size_t rows, size_t edges = 0);

  /// Row i's spec (views into this table: valid until it changes).
  TaskSpec spec(TaskIndex i) const;

  /// Row i's runtime columns.
  TaskRuntime runtime(TaskIndex i) const;
  /// Sets row i's runtime columns to `r`.
  void set_runtime(TaskIndex i, const TaskRuntime& r);

  /// The first row of task `task` (of a sweep: its first element), if there is one. O(log n).
  std::optional<TaskIndex> find(TaskId task) const {
    auto it = std::lower_bound(id.begin(), id.end(), task);
    if (it == id.end() || *it != task) return std::nullopt;
    return static_cast<TaskIndex>(it - id.begin());
  }
  /// The row of task `task`'s element `element` (kNoElement: the task itself), if there is one. O(log n).
  std::optional<TaskIndex> find(TaskId task, uint32_t element) const;
  /// The rows [first, last) that hold task `task`: one for a plain task, every element and the join
  /// row of a sweep; empty when there is no such task. O(log n).
  std::pair<TaskIndex, TaskIndex> rows_of(TaskId task) const {
    auto range = std::equal_range(id.begin(), id.end(), task);
    return {static_cast<TaskIndex>(range.first - id.begin()),
            static_cast<TaskIndex>(range.second - id.begin())};
  }
  bool is_element(TaskIndex i) const noexcept { return i < element.size() && element[i] != kNoElement; }
  /// Whether row i is a sweep's join row: the barrier-flagged row after a `repeat=` line's elements,
  /// which holds the line's name and stands for the line in dependencies.
  bool is_sweep_join(TaskIndex i) const noexcept {
    return is_barrier(i) && i > 0 && is_element(i - 1) && id[i - 1] == id[i];
  }
  /// Row i as messages name it: `ID` or `ID[i]`.
  std::string label(TaskIndex i) const {
    return task_label(id[i], i < element.size() ? element[i] : kNoElement);
  }

  /// Gives every row that lacks them the runtime columns' initial values (TaskRuntime's defaults: state
  /// `waiting`, no attempt), and any other column a row lacks its default (TaskSpec's: a shell command,
  /// no payload). The parser fills only the spec columns; parse_task_file and store::load_task_file
  /// call this last, once the parser's temporaries (and the file's text) are gone.
  void init_runtime_columns() { pad_columns(size()); }
  /// Gives every spec column that lacks rows its default, and leaves the runtime columns as they are
  /// (a table that init_runtime_columns() will complete later).
  void pad_spec_columns();

 private:
  // Gives every column that has fewer than n rows its default value in the rows it lacks (rows added
  // by hand, or by an older writer that did not know the column).
  void pad_columns(size_t n);
  // The same for one spec column (append() checks each before it adds to it): the check inline, the
  // padding out of line.
  template <class D>
  [[gnu::always_inline]] void pad_spec_column(const D& c, size_t n);
  static void pad_text(StringColumn& column, size_t n, std::string_view value);  // task_table.cpp
  static void pad_offsets(std::vector<uint64_t>& offsets, size_t n);
  // resize() to one more row reallocates every time in libstdc++ 12 (measured: 200,000 one-row
  // resizes took 0.11 s for doubles, 0.38 s for strings); tasks submitted one at a time need
  // amortised growth.
  // The check inline, the growth out of line: append() checks every spec column per row.
  template <class T, class V>
  [[gnu::always_inline]] static void grow(std::vector<T>& column, size_t n, const V& value) {
    if (column.size() < n) [[unlikely]]
      grow_to(column, n, value);
  }
  template <class T, class V>
  [[gnu::noinline]] static void grow_to(std::vector<T>& column, size_t n, const V& value) {
    if (column.capacity() < n) reserve_column(column, std::max(n, 2 * column.capacity()));
    column.resize(n, value);
  }
};

inline bool is_known_state(TaskState s) {
  return static_cast<size_t>(s) < kTaskStateCount;
}
inline bool is_known_flags(uint8_t flags) {
  // kAfterAny belongs to barriers only.
  return (flags & ~(kBarrier | kDisbatch | kAfterAny)) == 0 &&
         ((flags & kAfterAny) == 0 || (flags & kBarrier) != 0);
}

/// The schema: every column of TaskTable, once, in the order of the journal's records (spec columns:
/// fixed-size values, then strings, then dependencies; then the runtime columns). To add a column,
/// declare it in TaskTable and its value in TaskSpec or TaskRuntime (whose default member initialiser
/// is the column's default), then list it here with the checkpoint and journal versions that first
/// hold it: append, spec, reserve, padding, the table check, the checkpoint and the journal follow.
inline constexpr auto kTaskColumns = std::make_tuple(
    // What the task file says.
    ValueColumn<TaskSpec, TaskId>{"id", &TaskTable::id, &TaskSpec::id},
    ValueColumn<TaskSpec, uint32_t>{"element", &TaskTable::element, &TaskSpec::element, {3, 2}},
    ValueColumn<TaskSpec, uint32_t>{"output_id", &TaskTable::output_id, &TaskSpec::output_id, {3, 2}},
    ValueColumn<TaskSpec, uint32_t>{"output_run", &TaskTable::output_run, &TaskSpec::output_run, {3, 2}},
    ValueColumn<TaskSpec, uint8_t>{"flags", &TaskTable::flags, &TaskSpec::flags, {}, is_known_flags},
    ValueColumn<TaskSpec, uint32_t>{"cores", &TaskTable::cores, &TaskSpec::cores},
    ValueColumn<TaskSpec, uint32_t>{"gpus", &TaskTable::gpus, &TaskSpec::gpus},
    ValueColumn<TaskSpec, uint32_t>{"timeout_s", &TaskTable::timeout_s, &TaskSpec::timeout_s},
    ValueColumn<TaskSpec, uint32_t>{"retries", &TaskTable::retries, &TaskSpec::retries},
    ValueColumn<TaskSpec, int32_t>{"priority", &TaskTable::priority, &TaskSpec::priority},
    ValueColumn<TaskSpec, uint64_t>{"mem_kb", &TaskTable::mem_kb, &TaskSpec::mem_kb, {6, 4}},
    TextColumn<TaskSpec>{"name", &TaskTable::name, &TaskSpec::name},
    TextColumn<TaskSpec>{"command", &TaskTable::command, &TaskSpec::command},
    TextColumn<TaskSpec>{"workdir", &TaskTable::workdir, &TaskSpec::workdir},
    KindColumn<TaskSpec>{"kind", &TaskTable::kind, &TaskTable::kind_names, &TaskSpec::kind, {2, 1, true}},
    TextColumn<TaskSpec>{"payload", &TaskTable::payload, &TaskSpec::payload, {2, 1, true}},
    DependencyColumn<TaskSpec>{"deps", &TaskTable::dep_offsets, &TaskTable::deps, &TaskSpec::deps},
    // What happened to it.
    ValueColumn<TaskRuntime, TaskState>{"state", &TaskTable::state, &TaskRuntime::state, {}, is_known_state},
    ValueColumn<TaskRuntime, uint32_t>{"attempts", &TaskTable::attempts, &TaskRuntime::attempts},
    ValueColumn<TaskRuntime, int32_t>{"exit_code", &TaskTable::exit_code, &TaskRuntime::exit_code},
    ValueColumn<TaskRuntime, int32_t>{"signal", &TaskTable::signal, &TaskRuntime::signal},
    ValueColumn<TaskRuntime, int32_t>{"worker_rank", &TaskTable::worker_rank, &TaskRuntime::worker_rank},
    ValueColumn<TaskRuntime, double>{"start_time", &TaskTable::start_time, &TaskRuntime::start_time},
    ValueColumn<TaskRuntime, double>{"end_time", &TaskTable::end_time, &TaskRuntime::end_time},
    ValueColumn<TaskRuntime, int64_t>{"max_rss_kb", &TaskTable::max_rss_kb, &TaskRuntime::max_rss_kb},
    ResultTextColumn<TaskRuntime>{"result", &TaskTable::result, &TaskRuntime::result, {2, 1, true}},
    ValueColumn<TaskRuntime, uint32_t>{"crashes", &TaskTable::crashes, &TaskRuntime::crashes, {3, 2}});

/// Calls `f(descriptor)` for every column of the schema, in order.
template <class F>
constexpr void for_each_column(F&& f) {
  for_each_in(kTaskColumns, std::forward<F>(f));
}

namespace detail {
// The bytes of the TaskTable members a descriptor names.
template <class D>
constexpr size_t member_bytes() {
  if constexpr (kIsColumn<D, KindColumn>)
    return sizeof(std::vector<uint16_t>) + sizeof(std::vector<std::string>);
  else if constexpr (kIsColumn<D, DependencyColumn>)
    return sizeof(std::vector<uint64_t>) + sizeof(std::vector<TaskIndex>);
  else if constexpr (kIsColumn<D, TextColumn>)
    return sizeof(StringColumn);
  else if constexpr (kIsColumn<D, ResultTextColumn>)
    return sizeof(ResultColumn);
  else
    return sizeof(std::vector<typename D::Value>);
}
template <class... D>
constexpr size_t schema_bytes(const std::tuple<D...>&) {
  return (member_bytes<D>() + ...);
}
}  // namespace detail

// A member added to TaskTable but not to the schema would be missed by the checkpoint and the journal:
// every member is a column (all are multiples of 8 bytes, so there is no padding to miscount).
static_assert(detail::schema_bytes(kTaskColumns) == sizeof(TaskTable),
              "every TaskTable member must be listed in kTaskColumns");

inline TaskIndex TaskTable::append(const TaskSpec& s) {
  const auto row = static_cast<TaskIndex>(size());
  // First what may throw (too many kinds), so that a failure leaves no half-appended row.
  const uint16_t kind_index = s.kind.empty() ? uint16_t{0} : intern_kind(s.kind);
  // Inlined whole (g++ 12 left a call per column of ~35 instructions: a row costs ~20 columns).
  for_each_column([&](const auto& c) __attribute__((always_inline)) {
    using D = std::remove_cvref_t<decltype(c)>;
    // Rows added by hand (or by an older writer) before this one may lack a column.
    if constexpr (kIsSpecColumn<D>) pad_spec_column(c, row);
    if constexpr (!kIsSpecColumn<D>) {
    } else if constexpr (kIsColumn<D, TextColumn>) {
      (this->*c.rows).push_back(s.*c.field);
    } else if constexpr (kIsColumn<D, KindColumn>) {
      push_column(this->*c.rows, kind_index);
    } else if constexpr (kIsColumn<D, DependencyColumn>) {
      const std::span<const TaskIndex> d = s.*c.field;
      std::vector<TaskIndex>& edges = this->*c.edges;
      grow_column(edges, d.size());
      edges.insert(edges.end(), d.begin(), d.end());
      push_column(this->*c.offsets, edges.size());
    } else {
      push_column(this->*c.rows, s.*c.field);
    }
  });
  return row;
}

inline void TaskTable::reserve(size_t rows, size_t edges) {
  for_each_column([&](const auto& c) {
    using D = std::remove_cvref_t<decltype(c)>;
    if constexpr (kIsColumn<D, TextColumn>) {
      (this->*c.rows).reserve(rows, 0);
    } else if constexpr (kIsColumn<D, DependencyColumn>) {
      reserve_column(this->*c.offsets, rows + 1);
      reserve_column(this->*c.edges, edges);
    } else if constexpr (kIsColumn<D, ResultTextColumn>) {
      // costs nothing per row until one has a result
    } else {
      reserve_column(this->*c.rows, rows);
    }
  });
}

inline TaskSpec TaskTable::spec(TaskIndex i) const {
  TaskSpec s;
  for_each_column([&](const auto& c) {
    using D = std::remove_cvref_t<decltype(c)>;
    // A column shorter than the table (rows added by hand) reads as its default.
    if constexpr (!kIsSpecColumn<D>) {
    } else if constexpr (kIsColumn<D, DependencyColumn>) {
      const uint64_t* offsets = (this->*c.offsets).data();
      s.*c.field = {(this->*c.edges).data() + offsets[i], (this->*c.edges).data() + offsets[i + 1]};
    } else if constexpr (kIsColumn<D, KindColumn>) {
      if (i < (this->*c.rows).size()) s.*c.field = (this->*c.names)[(this->*c.rows)[i]];
    } else {
      if (i < (this->*c.rows).size()) s.*c.field = (this->*c.rows)[i];
    }
  });
  return s;
}

inline TaskRuntime TaskTable::runtime(TaskIndex i) const {
  TaskRuntime r;
  for_each_column([&](const auto& c) {
    using D = std::remove_cvref_t<decltype(c)>;
    if constexpr (kIsSpecColumn<D>) {
    } else if constexpr (kIsColumn<D, ResultTextColumn>) {
      if (i < (this->*c.rows).size()) r.*c.field = (this->*c.rows)[i];
    } else {
      r.*c.field = (this->*c.rows)[i];
    }
  });
  return r;
}

inline void TaskTable::set_runtime(TaskIndex i, const TaskRuntime& r) {
  for_each_column([&](const auto& c) {
    if constexpr (!kIsSpecColumn<decltype(c)>) (this->*c.rows)[i] = r.*c.field;
  });
}

template <class D>
inline void TaskTable::pad_spec_column(const D& c, size_t n) {
  static constexpr TaskSpec spec_defaults{};
  if constexpr (kIsColumn<D, TextColumn>) {
    StringColumn& column = this->*c.rows;
    if (column.size() < n) [[unlikely]]
      pad_text(column, n, spec_defaults.*c.field);
  } else if constexpr (kIsColumn<D, KindColumn>) {
    grow(this->*c.rows, n, uint16_t{0});  // kind_names[0] is "", TaskSpec's default kind
  } else if constexpr (kIsColumn<D, DependencyColumn>) {
    std::vector<uint64_t>& offsets = this->*c.offsets;
    if (offsets.size() < n + 1) [[unlikely]]
      pad_offsets(offsets, n);
  } else {
    grow(this->*c.rows, n, spec_defaults.*c.field);
  }
}

inline void TaskTable::pad_spec_columns() {
  for_each_column([&](const auto& c) {
    if constexpr (kIsSpecColumn<std::remove_cvref_t<decltype(c)>>) pad_spec_column(c, size());
  });
}

inline void TaskTable::pad_columns(size_t n) {
  static const TaskRuntime runtime_defaults{};
  for_each_column([&](const auto& c) {
    using D = std::remove_cvref_t<decltype(c)>;
    if constexpr (kIsSpecColumn<D>) {
      pad_spec_column(c, n);
    } else {
      if constexpr (kIsColumn<D, ResultTextColumn>) {
        if ((this->*c.rows).size() < n) (this->*c.rows).resize(n);  // default "": nothing stored
      } else {
        grow(this->*c.rows, n, runtime_defaults.*c.field);
      }
    }
  });
}

/// Checks the invariants everything that reads a table relies on, visiting the schema: every column has
/// size() rows, the CSR and string offsets are consistent, ids ascend, edges are row indices ascending
/// within a row, kinds index kind_names, and states and flags are known values. Returns the first
/// problem found, or "" when there is none.
std::string find_table_problem(const TaskTable& table);

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
  uint64_t max_mem_kb = 0;    ///< the largest mem= request, KiB
  uint64_t barriers = 0;      ///< `#MPIQ barrier` lines
  uint64_t sweeps = 0;        ///< `repeat=` lines (their elements are counted in `tasks`)
};

}  // namespace mpiq::core
