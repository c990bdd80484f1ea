#pragma once
/// The messages hub and workers exchange, and their byte encoding. Pure: the transport moves bytes,
/// this file gives them meaning. Every message is batched (one assignment carries many tasks, one
/// report many results), so per-task cost is a few dozen bytes, not a round trip.

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/scheduler.hpp"
#include "core/task_table.hpp"

namespace mpiq::core {

/// Message kinds; the value is the transport tag.
enum class MessageKind : int {
  hello = 1,              ///< worker -> hub: I am up, here are my resources
  assign = 2,             ///< hub -> worker: run these tasks
  report = 3,             ///< worker -> hub: these started, these finished
  steal = 4,              ///< hub -> worker: give back up to N unstarted tasks
  returned = 5,           ///< worker -> hub: the tasks given back (possibly none)
  stop = 6,               ///< hub -> worker: start nothing more; end running tasks if asked; then say bye
  bye = 7,                ///< worker -> hub: all my tasks are reported, I am leaving
  interrupt = 8,          ///< worker -> hub: this rank got a stop signal (SIGTERM/SIGINT/SIGUSR1)
  assign_functions = 9,   ///< hub -> worker: run these function tasks (FunctionBatch)
  report_functions = 10,  ///< worker -> hub: these function tasks ended (results and messages)
  /// Either way, no payload: I am alive. The hub sends one to every worker every half second; a
  /// worker that hears nothing from the hub for a few seconds starts no new task (docs/design.md §12),
  /// and a worker sends one when it has sent nothing else for a while, so the hub can tell a lost
  /// worker from a busy one.
  heartbeat = 11,
  cancel = 12,  ///< hub -> worker: drop these queued tasks, end these running ones (Cancel)
  /// worker -> hub: a write of this rank (its output stream) found the disk full; the payload is the
  /// error's text, "PATH: CALL: strerror". The hub stops the run (exit 3).
  disk_full = 13,
  /// worker -> hub: this rank cannot write its output stream for another reason (EIO, EROFS, the
  /// directory gone); the payload is the error's text. The hub stops the run (exit 3).
  output_failed = 14,
};

/// A function task as a worker needs it: no command, environment or directory, only its kind (an
/// index into its batch's kind names) and payload.
struct FunctionOrder {
  TaskIndex task = 0;
  TaskId id = 0;
  uint32_t attempt = 0;
  uint32_t timeout_s = 0;  ///< 0 = none
  uint16_t kind = 0;       ///< index into FunctionBatch::kinds
  std::string payload;
};

/// One assign_functions message: kind names are sent once per message, not once per task.
struct FunctionBatch {
  bool report_starts = false;  ///< the hub wants a start report per task (someone watches on_start)
  std::vector<std::string> kinds;
  std::vector<FunctionOrder> orders;
};

/// A task as a worker needs it.
struct TaskOrder {
  TaskIndex task = 0;
  TaskId id = 0;
  uint32_t element = kNoElement;  ///< the sweep index (MPIQ_REPEAT_INDEX) of a sweep's element
  uint32_t attempt = 0;           ///< 1 for the first attempt
  uint32_t cores = 1, gpus = 0, timeout_s = 0;
  bool disbatch = false;  ///< a row of a disBatch file: it gets DISBATCH_* (DISBATCH_TASKID is `task`)
  std::string name, command, workdir;
};

struct Hello {
  std::string host;
  std::string cpus;  ///< hwloc list syntax
  std::string gpus;  ///< comma-separated GPU indices of the node, "" when none
  uint32_t cores = 0, gpu_count = 0;
  uint64_t mem_kb = 0;  ///< its node's memory budget (hw::node_memory), KiB; 0 = unknown
};

struct Report {
  struct Started {
    TaskIndex task;
    double time;
  };
  std::vector<Started> started;
  std::vector<TaskResult> finished;
  bool empty() const noexcept { return started.empty() && finished.empty(); }
};

/// The rows of TaskOrder::task for a node's `#MPIQ pernode` commands (docs/design.md §2), which are
/// not rows of the table: a worker runs them as tasks (its stream keeps their output under the
/// directive's line as id and the node index as element), and the hub takes their reports apart.
inline constexpr TaskIndex kNodeStartTask = 0xFFFFFFF0u;
inline constexpr TaskIndex kNodeStopTask = 0xFFFFFFF1u;
inline bool is_node_command(TaskIndex t) noexcept { return t == kNodeStartTask || t == kNodeStopTask; }

struct Stop {
  Stop() = default;
  explicit Stop(bool kill, std::optional<TaskOrder> node = std::nullopt)
      : kill_running(kill), node_stop(std::move(node)) {}
  bool kill_running = false;  ///< true: TERM/KILL running tasks; false: let them finish
  /// For the first worker of a node with a `#MPIQ pernode stop` command: run it once this worker's
  /// tasks have ended, report its end, then say bye.
  std::optional<TaskOrder> node_stop;
};

/// Tasks `mpiq cancel` ended that a worker holds: it drops the queued ones and reports each as
/// ended (interrupted, never started), and sends TERM to the running ones, then KILL after grace_s.
struct Cancel {
  double grace_s = 10;
  std::vector<TaskIndex> tasks;
};

/// Appends values to a byte buffer. Little-endian native layout: hub and workers are one build on
/// one kind of machine (a heterogeneous job is out of scope and documented).
class Writer {
 public:
  template <typename T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    // resize + memcpy rather than insert(end, p, p + sizeof(T)): g++ 12 at -O2 warned
    // (-Wstringop-overflow) on the range insert into a buffer it had just allocated.
    const size_t at = bytes_.size();
    bytes_.resize(at + sizeof(T));
    std::memcpy(bytes_.data() + at, &v, sizeof(T));
  }
  void put_bytes(std::string_view s) {
    put<uint32_t>(static_cast<uint32_t>(s.size()));
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  /// Overwrites a value put earlier at byte `offset` (a count known only at the end).
  template <typename T>
  void put_at(size_t offset, const T& v) {
    std::memcpy(bytes_.data() + offset, &v, sizeof(T));
  }
  size_t size() const noexcept { return bytes_.size(); }
  void reserve(size_t n) { bytes_.reserve(n); }
  void put_string(const std::string& s) {
    put<uint32_t>(static_cast<uint32_t>(s.size()));
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  std::vector<char> take() { return std::move(bytes_); }

 private:
  std::vector<char> bytes_;
};

/// Reads what a Writer wrote; every read is bounds-checked and throws mpiq::Error on a short or
/// malformed message, so a bad message can never read past its buffer.
class Reader {
 public:
  Reader(const char* data, size_t size) : p_(data), end_(data + size) {}
  template <typename T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T));
    T v;
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
    return v;
  }
  std::string get_string();
  /// A length-prefixed byte string, as a view into the message (valid while the message lives).
  std::string_view get_bytes();
  bool at_end() const noexcept { return p_ == end_; }

 private:
  void need(size_t n) const;
  const char* p_;
  const char* end_;
};

std::vector<char> encode(const Hello&);
std::vector<char> encode(const std::vector<TaskOrder>&);
std::vector<char> encode(const Report&);
std::vector<char> encode_count(uint32_t);
std::vector<char> encode(const std::vector<TaskIndex>&);
std::vector<char> encode(const Stop&);
std::vector<char> encode(const Cancel&);

Hello decode_hello(const std::vector<char>&);
std::vector<TaskOrder> decode_orders(const std::vector<char>&);
Report decode_report(const std::vector<char>&);
uint32_t decode_count(const std::vector<char>&);
std::vector<TaskIndex> decode_indices(const std::vector<char>&);
Stop decode_stop(const std::vector<char>&);
Cancel decode_cancel(const std::vector<char>&);

/// The assign_functions message for rows `tasks` of `table` (function tasks; attempt numbers are the
/// next ones), straight from the table's columns.
std::vector<char> encode_functions(const TaskTable& table, std::span<const TaskIndex> tasks,
                                   bool report_starts);
FunctionBatch decode_functions(const std::vector<char>&);

/// Builds a report_functions message one result at a time, without an intermediate vector.
class FunctionReportWriter {
 public:
  FunctionReportWriter() { writer_.put<uint32_t>(0); }
  /// `outcome`: 0 done, 1 failed, 2 timed out, 3 interrupted (the attempt does not count).
  void add(TaskIndex task, uint8_t outcome, double start_time, double end_time, std::string_view output);
  size_t count() const noexcept { return count_; }
  size_t bytes() const noexcept { return writer_.size(); }
  /// The message; the writer is empty afterwards.
  std::vector<char> take();

 private:
  Writer writer_;
  uint32_t count_ = 0;
};
/// The results of a report_functions message, as the scheduler takes them (exit code 0 done, 1
/// failed; `output` holds the result or the message).
std::vector<TaskResult> decode_function_report(const std::vector<char>&);

/// The order for row `t` of `table` (its attempt number is the next one).
TaskOrder make_order(const TaskTable& table, TaskIndex t);

}  // namespace mpiq::core
