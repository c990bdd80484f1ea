// The embedding API's Session: the same hub, workers, scheduler and run directory as `mpiq run`, driven
// from a program instead of the command line. Rank 0 runs the hub on its main thread (and, alone, a
// worker on a second thread over the in-process transport); every other rank runs a worker.

#include "mpiq/session.hpp"

#include <limits.h>
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "store/task_file_io.hpp"
#include "exec/clock.hpp"
#include "exec/guard.hpp"
#include "exec/signals.hpp"
#include "hub/hub.hpp"
#include "hub/log.hpp"
#include "hub/run_directory.hpp"
#include "hw/binding.hpp"
#include "hw/cpu_list.hpp"
#include "hw/shares.hpp"
#include "hw/topology.hpp"
#include "mpi/mpi_transport.hpp"
#include "store/sha256.hpp"
#include "worker/worker.hpp"

namespace mpiq {

namespace fs = std::filesystem;
using core::TaskIndex;
using core::TaskState;

namespace {

std::string host_name() {
  char buf[HOST_NAME_MAX + 1] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

uint64_t mix(uint64_t h, uint64_t v) {
  return (h ^ v) * 0x100000001b3ull + (h >> 29);
}

// What a resumed program's submission is matched on: kind, payload and dependencies (ids, ascending).
uint64_t content_key(std::string_view kind, std::string_view payload, std::span<const TaskId> deps) {
  uint64_t h = mix(std::hash<std::string_view>{}(kind), std::hash<std::string_view>{}(payload));
  for (TaskId d : deps) h = mix(h, d);
  return h;
}

// Takes `--name VALUE` / `--flag` options of mpiq out of argv, leaving the program's own.
void take_options(int& argc, char**& argv, SessionOptions& o) {
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&](const char* name) -> std::string {
      if (i + 1 >= argc) throw InputError(std::string(name) + ": needs a value");
      return argv[++i];
    };
    const auto number = [&](const char* name) -> double {
      const std::string v = value(name);
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(d >= 0) || d > 4e9)
        throw InputError(std::string(name) + ": '" + v + "' is not a non-negative number");
      return d;
    };
    if (a == "--run-dir")
      o.run_dir = value("--run-dir");
    else if (a == "--fresh")
      o.fresh = true;
    else if (a == "--fail-fast")
      o.fail_fast = true;
    else if (a == "--recycle-after")
      o.recycle_after = static_cast<uint32_t>(number("--recycle-after"));
    else if (a == "--task-timeout")
      o.task_timeout_s = number("--task-timeout");
    else if (a == "--function-window")
      o.function_window = static_cast<uint32_t>(number("--function-window"));
    else if (a == "--log-level")
      o.log_level = value("--log-level");
    else
      argv[out++] = argv[i];
  }
  argc = out;
  argv[argc] = nullptr;
  hub::LogLevel level;
  if (!hub::parse_log_level(o.log_level, &level))
    throw InputError("--log-level: '" + o.log_level + "' is not error, warn, info or debug");
}

}  // namespace

// A submission that waits for the hub's thread to append it (one made from another thread during run()).
// A submission's settings besides its kind, payload, name and dependencies.
struct Settings {
  int32_t priority = 0;
  uint32_t cores = 1, gpus = 0, timeout_s = 0, retries = 0;
};
struct Pending {
  TaskId id = 0;
  std::string kind, payload, name;
  std::vector<TaskId> deps;  // ascending
  Settings settings;
};

// Threads. run() runs the hub on the calling thread (the hub's thread); hooks run there too. submit()
// may come from any thread at any time. `mutex` guards everything submissions touch: next_id, names,
// the resume claims, `pending`, `promises`, and every change to the table's rows. During run() only the
// hub's thread appends rows (other threads queue Pending ones for its next turn, Impl::poll), because the
// hub reads the table without the lock; other threads read only the table's spec columns (and the ended
// rows a resumed run restored), under the lock.
struct Session::Impl final : hub::HubObserver {
  SessionOptions options;
  std::unique_ptr<transport::MpiSession> mpi;
  int rank = 0, size = 1;
  std::shared_ptr<worker::FunctionSettings> functions = std::make_shared<worker::FunctionSettings>();

  // --- The hub's side. ---
  core::TaskTable table;
  std::string task_file;
  std::unique_ptr<hub::RunDirectory> state;
  bool state_opened = false;
  std::unordered_map<std::string, TaskId> names;
  TaskId next_id = 1;
  size_t submissions = 0;
  hub::Hub* hub = nullptr;  // while the hub runs
  std::thread::id hub_thread;  // the thread in run(), while `running`
  bool running = false;        // run() has started on the hub's thread and not returned
  bool ended = false;          // run() has returned: no more submissions
  bool ran = false;
  std::atomic<int> holds{0};
  std::function<void(const TaskInfo&)> send_hook, start_hook;
  std::function<void(const Result&)> end_hook;
  std::unordered_map<TaskIndex, std::promise<Result>> promises;
  std::vector<Pending> pending;  // ids ascending, all above the table's
  std::atomic<size_t> queued{0};  // pending.size(), for keeps_open without the lock
  // Futures of resumed tasks claimed from another thread during the run: the hub's thread resolves
  // them (their runtime columns are the hub's to read).
  std::vector<std::pair<TaskIndex, std::promise<Result>>> claimed_promises;
  std::vector<uint8_t> restored_final;  // rows that had ended when the run directory was opened
  std::mutex mutex;
  // Resume: function rows of the checkpoint no submission has claimed yet, by content.
  std::unordered_multimap<uint64_t, TaskIndex> unclaimed;
  std::vector<uint8_t> claimed;

  void require_hub(const char* what) const {
    if (rank != 0) throw Error(std::string("mpiq::Session::") + what + " is for the hub (rank 0) only");
  }

  // Opens the run directory (once): a resumed run's table replaces the empty one. Called before run(),
  // with the mutex held when a submission calls it.
  void open_state() {
    if (state_opened) return;
    state_opened = true;
    std::string dir = options.run_dir;
    if (dir.empty() && !task_file.empty())
      dir = (fs::current_path() / (fs::path(task_file).stem().string() + ".mpiq")).string();
    if (dir.empty()) return;
    state = std::make_unique<hub::RunDirectory>(fs::absolute(dir).lexically_normal().string(),
                                                hub::ResumeMode{options.fresh, false});
    if (!state->resuming()) return;
    table = std::move(state->restored());
    claimed.assign(table.size(), 0);
    restored_final.assign(table.size(), 0);
    for (TaskIndex t = 0; t < table.size(); ++t) restored_final[t] = core::is_final(table.state[t]);
    std::vector<TaskId> ids;
    for (TaskIndex t = 0; t < table.size(); ++t) {
      if (!table.name[t].empty()) names.emplace(std::string(table.name[t]), table.id[t]);
      if (!table.is_function(t)) continue;
      dep_ids(t, ids);
      unclaimed.emplace(content_key(table.kind_name(t), table.payload[t], ids), t);
    }
    if (!table.id.empty()) next_id = table.id.back() + 1;
  }

  void dep_ids(TaskIndex t, std::vector<TaskId>& out) const {
    out.clear();
    for (uint64_t e = table.dep_offsets[t]; e < table.dep_offsets[t + 1]; ++e) out.push_back(table.id[table.deps[e]]);
  }

  Result make_result(TaskIndex t, bool from_checkpoint) const {
    Result r;
    r.id = table.id[t];
    r.name = table.name[t];
    r.kind = table.kind_name(t);
    r.attempts = table.attempts[t];
    r.worker_rank = table.worker_rank[t];
    r.start_time = table.start_time[t];
    r.end_time = table.end_time[t];
    r.from_checkpoint = from_checkpoint;
    switch (table.state[t]) {
      case TaskState::done:
        r.status = TaskStatus::done;
        if (table.is_function(t)) r.bytes = table.result[t];
        break;
      case TaskState::skipped:
        r.status = TaskStatus::skipped;
        r.error = "a task it depends on failed or was skipped";
        break;
      default:
        r.status = TaskStatus::failed;
        if (table.is_function(t))
          r.error = table.result[t];
        else if (table.signal[t] != 0)
          r.error = "signal " + std::to_string(table.signal[t]);
        else
          r.error = "exit code " + std::to_string(table.exit_code[t]);
    }
    return r;
  }

  // Hands ended rows to on_end and to their futures. On the hub's thread, without the mutex (a hook
  // may submit).
  void deliver(std::span<const TaskIndex> rows, bool from_checkpoint) {
    std::vector<std::pair<TaskIndex, std::promise<Result>>> owed;
    {
      std::lock_guard lock(mutex);
      if (!promises.empty())
        for (TaskIndex t : rows)
          if (auto p = promises.find(t); p != promises.end()) {
            owed.emplace_back(t, std::move(p->second));
            promises.erase(p);
          }
    }
    if (!end_hook && owed.empty()) return;
    size_t next_owed = 0;
    for (TaskIndex t : rows) {
      if (table.is_barrier(t)) continue;
      const bool is_owed = next_owed < owed.size() && owed[next_owed].first == t;
      if (!end_hook && !is_owed) continue;
      Result r = make_result(t, from_checkpoint);
      if (end_hook) end_hook(r);
      if (is_owed) owed[next_owed++].second.set_value(std::move(r));
    }
  }

  TaskInfo info(TaskIndex t, int worker) const {
    return TaskInfo{table.id[t], table.name[t], table.kind_name(t), worker, table.attempts[t] + 1};
  }

  // --- hub::HubObserver ---
  void sent(int worker, std::span<const TaskIndex> tasks) override {
    if (send_hook)
      for (TaskIndex t : tasks) send_hook(info(t, worker));
  }
  void started(TaskIndex t, int worker) override {
    if (start_hook) {
      TaskInfo i = info(t, worker);
      i.attempt = table.attempts[t];
      start_hook(i);
    }
  }
  void finalized(std::span<const TaskIndex> rows) override { deliver(rows, false); }
  bool wants_starts() const override { return static_cast<bool>(start_hook); }
  void poll(hub::Hub& h) override {
    TaskIndex first = 0;
    std::vector<std::pair<TaskIndex, std::promise<Result>>> claims;
    {
      std::lock_guard lock(mutex);  // submitters hold it for well under a microsecond each
      if (pending.empty() && claimed_promises.empty()) return;
      claims.swap(claimed_promises);
      first = pending.empty() ? static_cast<TaskIndex>(table.size()) : append_pending();
      for (auto& [t, promise] : claims)
        if (!core::is_final(table.state[t])) promises.emplace(t, std::move(promise));
    }
    for (auto& [t, promise] : claims)
      if (core::is_final(table.state[t])) promise.set_value(make_result(t, restored_final[t] != 0));
    if (first < table.size()) h.add_tasks(first);
  }
  // Open while a hold lives or submissions wait: a producer's last submit() comes before its release,
  // so once `holds` reads 0, its submissions are counted in `queued` (both sequentially consistent).
  bool keeps_open() const override { return holds.load() > 0 || queued.load() > 0; }

  // Appends the pending submissions to the table (mutex held); returns the first new row.
  TaskIndex append_pending() {
    const auto first = static_cast<TaskIndex>(table.size());
    std::vector<TaskIndex> rows;
    size_t done = 0;
    try {
      for (const Pending& p : pending) {
        append(p.id, p.kind, p.payload, p.name, p.settings, p.deps, rows);
        ++done;
      }
    } catch (...) {  // out of memory, too many kinds: what was appended must not be appended again
      pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(done));
      queued = pending.size();
      throw;
    }
    pending.clear();
    queued = 0;
    table.init_runtime_columns();
    return first;
  }

  // Appends one submitted task (mutex held; its dependencies are in the table, checked at submit).
  TaskIndex append(TaskId id, std::string_view kind, std::string_view payload, std::string_view name,
                   const Settings& settings, const std::vector<TaskId>& deps, std::vector<TaskIndex>& rows) {
    rows.clear();
    for (TaskId d : deps) rows.push_back(*table.find(d));  // ids ascend with rows: rows stay sorted
    core::TaskSpec spec;
    spec.id = id;
    spec.name = name;
    spec.cores = settings.cores;
    spec.gpus = settings.gpus;
    spec.timeout_s = settings.timeout_s;
    spec.retries = settings.retries;
    spec.priority = settings.priority;
    spec.deps = rows;
    spec.kind = kind;
    spec.payload = payload;
    return table.append(spec);
  }

  // A task id that exists or waits in `pending` (mutex held).
  bool known(TaskId id) const {
    return table.find(id).has_value() || (!pending.empty() && id >= pending.front().id && id < next_id);
  }

  // Returns the new (or, on a resume, the matched) task's row... or, for one queued from another thread
  // during the run, no row yet: the id is what the caller gets either way. `promise` (may be null) is
  // registered in the same critical section, before the hub can see the task.
  TaskId submit(std::string_view kind, std::string_view payload, const TaskOptions& o,
                std::promise<Result>* promise) {
    require_hub("submit");
    if (kind.empty()) throw InputError("submit: the task kind is empty");
    if (payload.size() > kMaxPayloadBytes)
      throw InputError("submit: a payload of " + std::to_string(payload.size()) +
                       " bytes exceeds the limit of " + std::to_string(kMaxPayloadBytes) +
                       " bytes (kMaxPayloadBytes)");
    if (o.cores == 0) throw InputError("submit: cores must be at least 1");
    if (!(o.timeout_s >= 0)) throw InputError("submit: the timeout is negative");
    const double timeout = o.timeout_s > 0 ? o.timeout_s : options.task_timeout_s;
    const Settings settings{o.priority, o.cores, o.gpus, static_cast<uint32_t>(std::min(std::ceil(timeout), 4e9)),
                            o.retries};

    std::unique_lock lock(mutex);
    if (ended) throw Error("submit: run() has ended; a session runs once");
    open_state();
    Pending p;
    for (TaskId id : o.after) {
      if (!known(id)) throw InputError("submit: unknown dependency: task " + std::to_string(id));
      p.deps.push_back(id);
    }
    for (const std::string& n : o.after_names) {
      auto it = names.find(n);
      if (it == names.end()) throw InputError("submit: unknown dependency '" + n + "'");
      p.deps.push_back(it->second);
    }
    std::sort(p.deps.begin(), p.deps.end());
    p.deps.erase(std::unique(p.deps.begin(), p.deps.end()), p.deps.end());
    ++submissions;

    if (auto t = claim(kind, payload, o.name, p.deps)) {
      // A resumed run's task: it exists already, ended or not.
      if (promise) {
        if (running && std::this_thread::get_id() != hub_thread)
          claimed_promises.emplace_back(*t, std::move(*promise));  // resolved by the hub's thread
        else if (core::is_final(table.state[*t]))
          promise->set_value(make_result(*t, restored_final[*t] != 0));
        else
          promises.emplace(*t, std::move(*promise));
      }
      return table.id[*t];
    }

    if (!o.name.empty() && names.count(o.name))
      throw InputError("submit: a task named '" + o.name + "' already exists");
    if (table.size() + pending.size() >= UINT32_MAX - 1 || next_id == UINT32_MAX)
      throw Error("submit: too many tasks");
    // The id and the name are taken only once the task is queued or appended (either may throw).
    const TaskId id = next_id;
    if (running && std::this_thread::get_id() != hub_thread) {
      // The hub's thread appends it at its next turn (poll); the promise is keyed by the row it gets.
      p.id = id;
      p.kind = kind;
      p.payload = payload;
      p.name = o.name;
      p.settings = settings;
      pending.push_back(std::move(p));
      ++next_id;
      queued = pending.size();
      if (!o.name.empty()) names.emplace(o.name, id);
      if (promise) promises.emplace(static_cast<TaskIndex>(table.size() + pending.size() - 1), std::move(*promise));
      return id;
    }
    // Before run(), or on the hub's thread: straight into the table, after what other threads queued.
    const TaskIndex first = pending.empty() ? static_cast<TaskIndex>(table.size()) : append_pending();
    std::vector<TaskIndex> rows;
    const TaskIndex row = append(id, kind, payload, o.name, settings, p.deps, rows);
    ++next_id;
    if (!o.name.empty()) names.emplace(o.name, id);
    table.init_runtime_columns();
    if (promise) promises.emplace(row, std::move(*promise));
    // Running means this is the hub's thread (else the task was queued above); `hub` is its own.
    hub::Hub* const target = running ? hub : nullptr;
    lock.unlock();
    if (target) target->add_tasks(first);
    return id;
  }

  // A resumed run: the same kind, payload and dependencies as a task of the checkpoint no submission
  // has claimed yet is that task (named tasks must match their name's task). Mutex held.
  std::optional<TaskIndex> claim(std::string_view kind, std::string_view payload, const std::string& name,
                                 const std::vector<TaskId>& deps) {
    if (unclaimed.empty() && (name.empty() || !names.count(name))) return std::nullopt;
    std::vector<TaskId> ids;
    const auto same = [&](TaskIndex t) {
      if (claimed[t] || table.kind_name(t) != kind || table.payload[t] != payload || table.name[t] != name)
        return false;
      dep_ids(t, ids);
      return ids == deps;
    };
    if (!name.empty()) {
      if (auto it = names.find(name); it != names.end()) {
        const auto t = table.find(it->second);
        if (t && *t < claimed.size() && same(*t)) {
          claimed[*t] = 1;
          return t;
        }
        throw InputError("submit: a task named '" + name + "' already exists" +
                         (t && *t < claimed.size() && table.is_function(*t)
                              ? " in the checkpoint with another kind, payload or dependencies; start with "
                                "--fresh to drop the saved run"
                              : ""));
      }
    }
    auto [lo, hi] = unclaimed.equal_range(content_key(kind, payload, deps));
    for (auto it = lo; it != hi; ++it)
      if (same(it->second)) {
        const TaskIndex t = it->second;
        claimed[t] = 1;
        unclaimed.erase(it);
        return t;
      }
    return std::nullopt;
  }

  // Both constructors: the settings, and MPI when a launcher started the program.
  void start(SessionOptions o, int& argc, char**& argv) {
    options = std::move(o);
    functions->recycle_after = options.recycle_after;
    if (transport::launched_by_mpi()) {
      mpi = std::make_unique<transport::MpiSession>(&argc, &argv);
      rank = mpi->world_rank();
      size = mpi->world_size();
    }
  }

  int run_hub(transport::Transport& net);
  void run_worker(transport::Transport& net, const std::string& out_dir, core::WorkerShare share,
                  std::vector<std::string> gpu_vendors);
};

Session::Session(int& argc, char**& argv, SessionOptions options) : impl_(std::make_unique<Impl>()) {
  take_options(argc, argv, options);
  impl_->start(std::move(options), argc, argv);
}

Session::Session(SessionOptions options) : impl_(std::make_unique<Impl>()) {
  int argc = 0;
  char* none[] = {nullptr};
  char** argv = none;
  impl_->start(std::move(options), argc, argv);
}

Session::~Session() = default;

bool Session::is_hub() const noexcept {
  return impl_->rank == 0;
}
int Session::rank() const noexcept {
  return impl_->rank;
}
int Session::size() const noexcept {
  return impl_->size;
}

void Session::register_kind(std::string name, std::function<std::unique_ptr<TaskWorker>()> make,
                            KindOptions options) {
  if (name.empty()) throw InputError("register_kind: the kind name is empty");
  for (const auto& k : impl_->functions->kinds)
    if (k.name == name) throw InputError("register_kind: kind '" + name + "' is registered twice");
  impl_->functions->kinds.push_back({std::move(name), std::move(make), options.recycle_after});
}

void Session::register_function(std::string name,
                                std::function<std::string(TaskContext&, std::string_view)> fn,
                                KindOptions options) {
  struct FunctionWorker final : TaskWorker {
    explicit FunctionWorker(std::function<std::string(TaskContext&, std::string_view)> f)
        : fn(std::move(f)) {}
    std::string work(TaskContext& c, std::string_view p) override { return fn(c, p); }
    std::function<std::string(TaskContext&, std::string_view)> fn;
  };
  register_kind(
      std::move(name), [fn = std::move(fn)] { return std::unique_ptr<TaskWorker>(new FunctionWorker(fn)); },
      options);
}

void Session::load_task_file(const std::string& path) {
  Impl& s = *impl_;
  s.require_hub("load_task_file");
  std::lock_guard lock(s.mutex);
  if (s.running || s.ended) throw Error("load_task_file: call it before run()");
  if (!s.task_file.empty()) throw InputError("load_task_file: a task file is already loaded");
  if (s.submissions > 0) throw InputError("load_task_file: call it before the first submit()");
  // A submit() that threw may have opened the state before any task file: the file's name decides.
  if (s.state_opened && !s.state) s.state_opened = false;
  core::TaskTable parsed = store::load_task_file(path);
  s.task_file = path;
  s.open_state();
  const std::string sha = store::sha256_file(path);
  if (s.state) s.state->set_task_file(path, sha);  // refuses a changed task file on resume
  if (!s.state || !s.state->resuming()) {
    s.table = std::move(parsed);
    s.table.init_runtime_columns();
    for (TaskIndex t = 0; t < s.table.size(); ++t)
      if (!s.table.name[t].empty()) s.names.emplace(std::string(s.table.name[t]), s.table.id[t]);
    if (!s.table.id.empty()) s.next_id = s.table.id.back() + 1;
  }
}

TaskId Session::submit(std::string_view kind, std::string_view payload, const TaskOptions& options) {
  return impl_->submit(kind, payload, options, nullptr);
}

void Session::reserve(size_t tasks) {
  impl_->require_hub("reserve");
  std::lock_guard lock(impl_->mutex);
  // Not while the hub's thread reads the table; and the run directory is not opened here, since a
  // task file loaded next decides its default name.
  if (!impl_->running) impl_->table.reserve(impl_->table.size() + tasks);
}

std::future<Result> Session::submit_future(std::string_view kind, std::string_view payload,
                                           const TaskOptions& options) {
  std::promise<Result> promise;
  std::future<Result> future = promise.get_future();
  impl_->submit(kind, payload, options, &promise);
  return future;
}

std::optional<TaskId> Session::find(std::string_view name) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->names.find(std::string(name));
  if (it == impl_->names.end()) return std::nullopt;
  return it->second;
}

std::optional<Result> Session::result(TaskId id) const {
  const Impl& s = *impl_;
  std::unique_lock lock(impl_->mutex);
  if (s.running) {
    if (std::this_thread::get_id() != s.hub_thread)
      throw Error("mpiq::Session::result: during run() call it from the hub's thread (a hook), or use "
                  "submit_future");
    lock.unlock();  // the hub's thread is the table's only writer
  }
  auto row = s.table.find(id);
  if (!row || !core::is_final(s.table.state[*row])) return std::nullopt;
  return s.make_result(*row, !s.ran);
}

Session::Hold Session::hold() {
  impl_->require_hub("hold");
  return Hold(impl_.get());
}

Session::Hold::Hold(Impl* impl) : impl_(impl) {
  impl_->holds.fetch_add(1);
}
Session::Hold::Hold(Hold&& other) noexcept : impl_(other.impl_) {
  other.impl_ = nullptr;
}
Session::Hold& Session::Hold::operator=(Hold&& other) noexcept {
  if (this != &other) {
    release();
    impl_ = other.impl_;
    other.impl_ = nullptr;
  }
  return *this;
}
Session::Hold::~Hold() {
  release();
}
void Session::Hold::release() noexcept {
  if (impl_) impl_->holds.fetch_sub(1);
  impl_ = nullptr;
}

void Session::on_send(std::function<void(const TaskInfo&)> hook) {
  impl_->send_hook = std::move(hook);
}
void Session::on_start(std::function<void(const TaskInfo&)> hook) {
  impl_->start_hook = std::move(hook);
}
void Session::on_end(std::function<void(const Result&)> hook) {
  impl_->end_hook = std::move(hook);
}

int Session::Impl::run_hub(transport::Transport& net) {
  hub::LogLevel level = hub::LogLevel::warn;
  hub::parse_log_level(options.log_level, &level);
  hub::Log log(level, true);
  // Tasks that ended in an earlier run are delivered first; their hooks may submit more.
  if (state && state->resuming())
    for (TaskIndex t = 0; t < table.size(); ++t)
      if (core::is_final(table.state[t])) deliver(std::span(&t, 1), true);
  table.init_runtime_columns();
  std::string out_dir = state ? state->path() + "/out" : fs::current_path().string();
  if (state) {
    if (!log.open_file(state->path() + "/hub.log"))
      std::cerr << "mpiq: cannot open " << state->path() << "/hub.log\n";
    state->start(table);
  }
  hub::HubOptions ho;
  ho.scheduler.fail_fast = options.fail_fast;
  ho.scheduler.function_window = options.function_window;
  ho.status_interval_s = state ? options.status_interval_s : 0;
  ho.checkpoint_interval_s = state ? options.checkpoint_interval_s : 0;
  ho.out_dir = out_dir;
  ho.host = host_name();
  hub::Hub h(net, table, ho, log, state.get());
  h.set_observer(this);
  hub = &h;  // only the hub's thread reads it
  int code = 2;
  try {
    code = h.run();
  } catch (...) {
    hub = nullptr;
    throw;
  }
  hub = nullptr;
  if (state) state->close();
  return code;
}

void Session::Impl::run_worker(transport::Transport& net, const std::string& out_dir, core::WorkerShare share,
                               std::vector<std::string> gpu_vendors) {
  worker::WorkerOptions wo;
  wo.run_dir = out_dir;
  wo.out_dir = out_dir;
  wo.host = host_name();
  wo.grace_s = options.grace_s;
  wo.gpu_vendors = std::move(gpu_vendors);
  wo.functions = functions;
  worker::Worker(net, std::move(share), wo).run();
}

int Session::run() {
  Impl& s = *impl_;
  if (s.rank == 0) {
    // From here on the table is the hub thread's: other threads' submissions queue (Impl::submit).
    std::lock_guard lock(s.mutex);
    if (s.ran || s.running) throw Error("mpiq::Session::run: a session runs once");
    s.open_state();
    s.running = true;
    s.hub_thread = std::this_thread::get_id();
  } else if (s.ran) {
    throw Error("mpiq::Session::run: a session runs once");
  }
  struct EndOfRun {
    Impl& s;
    ~EndOfRun() {
      std::lock_guard lock(s.mutex);
      s.running = false;
      s.ended = s.rank == 0;
      s.ran = true;
      // Nothing will run now (a stop, or submissions after the last turn): no future may wait forever.
      // A task that ended before the stop was delivered already and is not among these.
      for (auto& [t, promise] : s.claimed_promises)
        if (core::is_final(s.table.state[t]))
          promise.set_value(s.make_result(t, s.restored_final[t] != 0));
        else
          promise.set_exception(std::make_exception_ptr(
              Error("mpiq: the run ended before task " + std::to_string(s.table.id[t]) + " ran")));
      s.claimed_promises.clear();
      for (auto& [t, promise] : s.promises)
        promise.set_exception(std::make_exception_ptr(Error(
            "mpiq: the run ended before this task ended (stopped early, or submitted after the run's last "
            "turn); run the program again to resume it")));
      s.promises.clear();
    }
  } end_of_run{s};
  exec::install_stop_handlers();
  if (s.size <= 1 || s.rank != 0) {
    // Command tasks (a loaded task file) never outlive this worker process (exec/guard.hpp).
    std::string error;
    if (!exec::enable_process_guard(s.options.grace_s, &error))
      std::cerr << "mpiq: rank " << s.rank << ": " << error
                << "; command tasks may outlive this process if it is killed\n";
  }
  if (s.size <= 1) {
    // One rank: the hub here, one worker with every core this process may use on a second thread.
    const hw::Topology topo = hw::Topology::load();
    core::WorkerShare share = hw::worker_share(topo, 0, 1);
    transport::LocalNetwork network(2);
    auto hub_end = network.endpoint(0);
    auto worker_end = network.endpoint(1);
    const std::string out_dir = s.state ? s.state->path() + "/out" : fs::current_path().string();
    int code = 2;
    {
      std::thread worker([&] { s.run_worker(*worker_end, out_dir, share, topo.gpu_vendors()); });
      try {
        code = s.run_hub(*hub_end);
      } catch (...) {
        // The worker leaves only when told: tell it, so that the thread can be joined.
        hub_end->send(1, core::MessageKind::stop, core::encode(core::Stop{true}));
        worker.join();
        throw;
      }
      worker.join();
    }
    return code;
  }

  // Every rank learns where command tasks write their output (the hub decides: its run directory).
  transport::MpiTransport net;
  std::string out_dir;
  if (s.rank == 0) out_dir = s.state ? s.state->path() + "/out" : fs::current_path().string();
  int len = static_cast<int>(out_dir.size());
  MPI_Bcast(&len, 1, MPI_INT, 0, MPI_COMM_WORLD);
  out_dir.resize(static_cast<size_t>(len));
  MPI_Bcast(out_dir.data(), len, MPI_CHAR, 0, MPI_COMM_WORLD);
  const auto bindings = s.mpi->node_allgather(hw::cpu_list(hw::this_thread_binding()));
  if (s.rank == 0) return s.run_hub(net);
  const int skip = s.mpi->hub_on_node() ? 1 : 0;
  std::vector<std::vector<int>> worker_bindings;
  for (size_t i = static_cast<size_t>(skip); i < bindings.size(); ++i)
    worker_bindings.push_back(hw::parse_cpu_list(bindings[i]));
  const hw::Topology topo = hw::Topology::load();
  core::WorkerShare share =
      hw::worker_share(topo, s.mpi->local_rank() - skip, s.mpi->local_size() - skip, {}, worker_bindings);
  if (share.cores.empty()) {
    // More worker ranks than PUs (an oversubscribed run): ranks share PUs round-robin.
    const int slots = static_cast<int>(std::max<size_t>(1, topo.pu_count()));
    share = hw::split_node(topo, slots)[static_cast<size_t>((s.mpi->local_rank() - skip) % slots)];
  }
  s.run_worker(net, out_dir, std::move(share), topo.gpu_vendors());
  return 0;
}

}  // namespace mpiq
