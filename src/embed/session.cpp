// The embedding API's Session: a thin facade over the same hub, workers, scheduler and run directory
// as `mpiq run`, started the same way (launch/launch.hpp). Its parts: the command-line options
// (embed/options.hpp), the submissions of other threads and the locking rules
// (embed/submission_queue.hpp), resume matching by content (embed/resume_match.hpp), and Results
// (embed/result.hpp).

#include "mpiq/session.hpp"

#include <errno.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "embed/options.hpp"
#include "embed/result.hpp"
#include "embed/resume_match.hpp"
#include "embed/submission_queue.hpp"
#include "hub/hub.hpp"
#include "hub/run_directory.hpp"
#include "launch/launch.hpp"
#include "mpiq/error.hpp"
#include "store/sha256.hpp"
#include "store/task_file_io.hpp"
#include "worker/function_runner.hpp"

namespace mpiq {

namespace fs = std::filesystem;
using core::TaskIndex;
using core::TaskState;
using embed::make_result;

// The hub's side lives on rank 0; the locking rules are in embed/submission_queue.hpp.
struct Session::Impl final : hub::HubObserver {
  SessionOptions options;
  std::unique_ptr<launch::Job> job;
  int rank = 0, size = 1;
  std::shared_ptr<worker::FunctionSettings> functions = std::make_shared<worker::FunctionSettings>();

  // --- The hub's side. ---
  core::TaskTable table;
  std::string task_file;
  core::NodeCommands pernode;  // the task file's `#MPIQ pernode` commands
  std::unique_ptr<hub::RunDirectory> state;
  bool state_opened = false;
  std::unordered_map<std::string, TaskId> names;
  TaskId next_id = 1;
  size_t submissions = 0;
  hub::Hub* hub = nullptr;     // while the hub runs
  std::thread::id hub_thread;  // the thread in run(), while `running`
  bool running = false;        // run() has started on the hub's thread and not returned
  bool ended = false;          // run() has returned: no more submissions
  bool ran = false;
  std::atomic<int> holds{0};
  std::function<void(const TaskInfo&)> send_hook, start_hook;
  std::function<void(const Result&)> end_hook;
  std::unordered_map<TaskIndex, std::promise<Result>> promises;
  embed::SubmissionQueue pending;  // ids ascending, all above the table's
  // Futures of resumed tasks claimed from another thread during the run: the hub's thread resolves
  // them (their runtime columns are the hub's to read).
  std::vector<std::pair<TaskIndex, std::promise<Result>>> claimed_promises;
  std::vector<uint8_t> restored_final;  // rows that had ended when the run directory was opened
  std::mutex mutex;
  embed::ResumeMatch resume;  // the checkpoint's function rows, matched to submissions by content

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
    restored_final.assign(table.size(), 0);
    for (TaskIndex t = 0; t < table.size(); ++t) {
      restored_final[t] = core::is_final(table.state[t]);
      if (!table.name[t].empty()) names.emplace(std::string(table.name[t]), table.id[t]);
    }
    resume = embed::ResumeMatch(table, names);
    if (!table.id.empty()) next_id = table.id.back() + 1;
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
      Result r = make_result(table, t, from_checkpoint);
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
      if (core::is_final(table.state[t])) promise.set_value(make_result(table, t, restored_final[t] != 0));
    if (first < table.size()) h.add_tasks(first);
  }
  // Open while a hold lives or submissions wait (embed/submission_queue.hpp says why this is enough).
  bool keeps_open() const override { return holds.load() > 0 || pending.size() > 0; }

  // Appends the pending submissions to the table (mutex held); returns the first new row.
  TaskIndex append_pending() {
    const auto first = static_cast<TaskIndex>(table.size());
    std::vector<TaskIndex> rows;
    size_t done = 0;
    try {
      for (const embed::PendingTask& p : pending.tasks()) {
        append(p.id, p.kind, p.payload, p.name, p.settings, p.deps, rows);
        ++done;
      }
    } catch (...) {  // out of memory, too many kinds: what was appended must not be appended again
      pending.drop_front(done);
      throw;
    }
    pending.drop_front(pending.tasks().size());
    table.init_runtime_columns();
    return first;
  }

  // Appends one submitted task (mutex held; its dependencies are in the table, checked at submit).
  TaskIndex append(TaskId id, std::string_view kind, std::string_view payload, std::string_view name,
                   const embed::TaskSettings& settings, const std::vector<TaskId>& deps,
                   std::vector<TaskIndex>& rows) {
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
    return table.find(id).has_value() ||
           (!pending.empty() && id >= pending.tasks().front().id && id < next_id);
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
    const embed::TaskSettings settings{o.priority, o.cores, o.gpus,
                                       static_cast<uint32_t>(std::min(std::ceil(timeout), 4e9)), o.retries};

    std::unique_lock lock(mutex);
    if (ended) throw Error("submit: run() has ended; a session runs once");
    open_state();
    embed::PendingTask p;
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

    if (auto t = resume.claim(kind, payload, o.name, p.deps)) {
      // A resumed run's task: it exists already, ended or not.
      if (promise) {
        if (running && std::this_thread::get_id() != hub_thread)
          claimed_promises.emplace_back(*t, std::move(*promise));  // resolved by the hub's thread
        else if (core::is_final(table.state[*t]))
          promise->set_value(make_result(table, *t, restored_final[*t] != 0));
        else
          promises.emplace(*t, std::move(*promise));
      }
      return table.id[*t];
    }

    if (!o.name.empty() && names.count(o.name))
      throw InputError("submit: a task named '" + o.name + "' already exists");
    if (table.size() + pending.tasks().size() >= UINT32_MAX - 1 || next_id == UINT32_MAX)
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
      pending.push(std::move(p));
      ++next_id;
      if (!o.name.empty()) names.emplace(o.name, id);
      if (promise)
        promises.emplace(static_cast<TaskIndex>(table.size() + pending.tasks().size() - 1),
                         std::move(*promise));
      return id;
    }
    // Before run(), or on the hub's thread: straight into the table, after what other threads queued.
    const TaskIndex first = pending.empty() ? static_cast<TaskIndex>(table.size()) : append_pending();
    std::vector<TaskIndex> rows;
    const TaskIndex row = append(id, kind, payload, o.name, settings, p.deps, rows);
    ++next_id;
    if (!o.name.empty()) names.emplace(o.name, id);
    // Before run() the runtime columns are given to every new row at once (prepare_hub): padding
    // nine columns a row at a time was a third of a submission.
    if (running) table.init_runtime_columns();
    if (promise) promises.emplace(row, std::move(*promise));
    // Running means this is the hub's thread (else the task was queued above); `hub` is its own.
    hub::Hub* const target = running ? hub : nullptr;
    lock.unlock();
    if (target) target->add_tasks(first);
    return id;
  }

  // Both constructors: the settings, and MPI when a launcher started the program.
  void start(SessionOptions o, int& argc, char**& argv) {
    options = std::move(o);
    functions->recycle_after = options.recycle_after;
    job = launch::make_job(argc, argv);
    rank = job->rank();
    size = job->size();
  }

  // The hub rank's side of launch::run: the run as it stands when run() starts.
  launch::HubRun prepare_hub() {
    table.init_runtime_columns();  // the rows submitted before run() have none yet
    // Tasks that ended in an earlier run are delivered first; their hooks may submit more.
    if (state && state->resuming())
      for (TaskIndex t = 0; t < table.size(); ++t)
        if (core::is_final(table.state[t])) deliver(std::span(&t, 1), true);
    table.init_runtime_columns();
    launch::HubRun run;
    run.table = &table;
    run.dir = state.get();
    run.what = std::string("mpiq::Session in ") + program_invocation_short_name;
    run.observer = this;
    run.pernode = pernode;
    run.attach = [this](hub::Hub* h) { hub = h; };  // only the hub's thread reads it
    run.inbox_guard = [this](const std::function<void()>& take) { take_inbox(take); };
    return run;
  }

  // Takes the run directory's inbox files (on the hub's thread, `hub` attached) under the lock, since
  // other threads read the table: first what other threads queued since poll(), so that ids keep
  // ascending with rows (an inbox file's ids come after every id given out), then the files; then their
  // names and ids become the session's too.
  void take_inbox(const std::function<void()>& take) {
    std::lock_guard lock(mutex);
    if (!pending.empty()) hub->add_tasks(append_pending());
    const auto before = static_cast<TaskIndex>(table.size());
    take();
    for (TaskIndex t = before; t < table.size(); ++t)
      if (!table.name[t].empty()) names.emplace(std::string(table.name[t]), table.id[t]);
    if (table.size() > before) next_id = std::max(next_id, table.id.back() + 1);
  }
};

Session::Session(int& argc, char**& argv, SessionOptions options) : impl_(std::make_unique<Impl>()) {
  embed::take_options(argc, argv, options);
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
  core::NodeCommands pernode;
  core::TaskTable parsed = store::load_task_file(path, core::TaskFileFormat::mpiq, &pernode);
  s.pernode = pernode;
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
      throw Error(
          "mpiq::Session::result: during run() call it from the hub's thread (a hook), or use "
          "submit_future");
    lock.unlock();  // the hub's thread is the table's only writer
  }
  auto row = s.table.find(id);
  // A row submitted before run() has no runtime columns yet: it has not ended.
  if (!row || *row >= s.table.state.size() || !core::is_final(s.table.state[*row])) return std::nullopt;
  return make_result(s.table, *row, !s.ran);
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

ExitCode Session::run() {
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
          promise.set_value(make_result(s.table, t, s.restored_final[t] != 0));
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
  launch::RunSpec spec;
  spec.worker.grace_s = s.options.grace_s;
  spec.worker.functions = s.functions;
  hub::parse_log_level(s.options.log_level, &spec.hub.log_level);
  hub::HubOptions& ho = spec.hub.options;
  ho.scheduler.fail_fast = s.options.fail_fast;
  ho.scheduler.function_window = s.options.function_window;
  ho.status_interval_s = s.state ? s.options.status_interval_s : 0;
  ho.checkpoint_interval_s = s.state ? s.options.checkpoint_interval_s : 0;
  // Function tasks are checked against the workers by the hub once they joined (docs/design.md §4).
  spec.prepare = [&s](const std::vector<core::WorkerCapacity>&) { return s.prepare_hub(); };
  return launch::run(*s.job, spec);
}

}  // namespace mpiq
