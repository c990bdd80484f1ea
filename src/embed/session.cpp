// The embedding API's Session: the same hub, workers, scheduler and run directory as `mpiq run`, driven
// from a program instead of the command line. Rank 0 runs the hub on its main thread (and, alone, a
// worker on a second thread over the in-process transport); every other rank runs a worker.

#include "mpiq/session.hpp"

#include <limits.h>
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>
#include <unordered_map>

#include "core/task_file.hpp"
#include "exec/clock.hpp"
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

// What a resumed program's submission is matched on: kind, payload and dependencies (rows).
uint64_t content_key(std::string_view kind, std::string_view payload, std::span<const TaskIndex> deps) {
  uint64_t h = mix(std::hash<std::string_view>{}(kind), std::hash<std::string_view>{}(payload));
  for (TaskIndex d : deps) h = mix(h, d);
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
  std::unordered_map<std::string, TaskIndex> names;
  TaskId next_id = 1;
  size_t submissions = 0;
  hub::Hub* hub = nullptr;  // while run() runs
  bool ran = false;
  std::function<void(const TaskInfo&)> send_hook, start_hook;
  std::function<void(const Result&)> end_hook;
  std::unordered_map<TaskIndex, std::promise<Result>> promises;
  // Resume: function rows of the checkpoint no submission has claimed yet, by content.
  std::unordered_multimap<uint64_t, TaskIndex> unclaimed;
  std::vector<uint8_t> claimed;

  void require_hub(const char* what) const {
    if (rank != 0) throw Error(std::string("mpiq::Session::") + what + " is for the hub (rank 0) only");
  }

  // Opens the run directory (once): a resumed run's table replaces the empty one.
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
    for (TaskIndex t = 0; t < table.size(); ++t) {
      if (!table.name[t].empty()) names.emplace(std::string(table.name[t]), t);
      if (!table.is_function(t)) continue;
      unclaimed.emplace(content_key(table.kind_name(t), table.payload[t], deps_of(t)), t);
    }
    if (!table.id.empty()) next_id = table.id.back() + 1;
  }

  std::span<const TaskIndex> deps_of(TaskIndex t) const {
    return {table.deps.data() + table.dep_offsets[t], table.deps.data() + table.dep_offsets[t + 1]};
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

  void deliver(TaskIndex t, bool from_checkpoint) {
    if (table.is_barrier(t)) return;
    auto p = promises.find(t);
    if (!end_hook && p == promises.end()) return;
    Result r = make_result(t, from_checkpoint);
    if (end_hook) end_hook(r);
    if (p != promises.end()) {
      p->second.set_value(std::move(r));
      promises.erase(p);
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
  void finalized(std::span<const TaskIndex> rows) override {
    for (TaskIndex t : rows) deliver(t, false);
  }
  bool wants_starts() const override { return static_cast<bool>(start_hook); }

  TaskIndex submit(std::string_view kind, std::string_view payload, const TaskOptions& o) {
    require_hub("submit");
    if (kind.empty()) throw InputError("submit: the task kind is empty");
    if (payload.size() > kMaxPayloadBytes)
      throw InputError("submit: a payload of " + std::to_string(payload.size()) +
                       " bytes exceeds the limit of " + std::to_string(kMaxPayloadBytes) +
                       " bytes (kMaxPayloadBytes)");
    if (o.cores == 0) throw InputError("submit: cores must be at least 1");
    if (!(o.timeout_s >= 0)) throw InputError("submit: the timeout is negative");
    open_state();
    std::vector<TaskIndex> deps;
    for (TaskId id : o.after) {
      auto row = table.find(id);
      if (!row) throw InputError("submit: unknown dependency: task " + std::to_string(id));
      deps.push_back(*row);
    }
    for (const std::string& n : o.after_names) {
      auto it = names.find(n);
      if (it == names.end()) throw InputError("submit: unknown dependency '" + n + "'");
      deps.push_back(it->second);
    }
    std::sort(deps.begin(), deps.end());
    deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
    ++submissions;

    // A resumed run: the same kind, payload and dependencies as a task of the checkpoint no
    // submission has claimed yet is that task (named tasks must match their name's task).
    if (!unclaimed.empty() || (!o.name.empty() && names.count(o.name))) {
      const uint64_t key = content_key(kind, payload, deps);
      const auto same = [&](TaskIndex t) {
        return !claimed[t] && table.kind_name(t) == kind && table.payload[t] == payload &&
               std::equal(deps.begin(), deps.end(), deps_of(t).begin(), deps_of(t).end()) &&
               table.name[t] == o.name;
      };
      if (!o.name.empty()) {
        if (auto it = names.find(o.name); it != names.end()) {
          const TaskIndex t = it->second;
          if (t < claimed.size() && same(t)) {
            claimed[t] = 1;
            return t;
          }
          throw InputError("submit: a task named '" + o.name + "' already exists" +
                           (t < claimed.size() && table.is_function(t)
                                ? " in the checkpoint with another kind, payload or dependencies; start with "
                                  "--fresh to drop the saved run"
                                : ""));
        }
      }
      auto [lo, hi] = unclaimed.equal_range(key);
      for (auto it = lo; it != hi; ++it)
        if (same(it->second)) {
          const TaskIndex t = it->second;
          claimed[t] = 1;
          unclaimed.erase(it);
          return t;
        }
    }

    if (!o.name.empty() && names.count(o.name))
      throw InputError("submit: a task named '" + o.name + "' already exists");
    const TaskIndex row = static_cast<TaskIndex>(table.size());
    if (table.size() >= UINT32_MAX - 1 || next_id == UINT32_MAX) throw Error("submit: too many tasks");
    table.id.push_back(next_id++);
    table.flags.push_back(0);
    table.name.push_back(o.name);
    table.command.push_back({});
    table.workdir.push_back({});
    table.cores.push_back(o.cores);
    table.gpus.push_back(o.gpus);
    const double timeout = o.timeout_s > 0 ? o.timeout_s : options.task_timeout_s;
    table.timeout_s.push_back(static_cast<uint32_t>(std::min(std::ceil(timeout), 4e9)));
    table.retries.push_back(o.retries);
    table.priority.push_back(o.priority);
    table.deps.insert(table.deps.end(), deps.begin(), deps.end());
    table.dep_offsets.push_back(table.deps.size());
    table.kind.push_back(table.intern_kind(kind));
    table.payload.push_back(payload);
    table.init_runtime_columns();
    if (!o.name.empty()) names.emplace(o.name, row);
    if (hub) hub->add_tasks(row);
    return row;
  }

  int run_hub(transport::Transport& net);
  void run_worker(transport::Transport& net, const std::string& out_dir, core::WorkerShare share,
                  std::vector<std::string> gpu_vendors);
};

Session::Session(int& argc, char**& argv, SessionOptions options) : impl_(std::make_unique<Impl>()) {
  take_options(argc, argv, options);
  impl_->options = std::move(options);
  impl_->functions->recycle_after = impl_->options.recycle_after;
  if (transport::launched_by_mpi()) {
    impl_->mpi = std::make_unique<transport::MpiSession>(&argc, &argv);
    impl_->rank = impl_->mpi->world_rank();
    impl_->size = impl_->mpi->world_size();
  }
}

Session::Session(SessionOptions options) : impl_(std::make_unique<Impl>()) {
  int argc = 0;
  char* none[] = {nullptr};
  char** argv = none;
  impl_->options = std::move(options);
  impl_->functions->recycle_after = impl_->options.recycle_after;
  if (transport::launched_by_mpi()) {
    impl_->mpi = std::make_unique<transport::MpiSession>(&argc, &argv);
    impl_->rank = impl_->mpi->world_rank();
    impl_->size = impl_->mpi->world_size();
  }
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
  if (!s.task_file.empty()) throw InputError("load_task_file: a task file is already loaded");
  if (s.submissions > 0) throw InputError("load_task_file: call it before the first submit()");
  core::TaskTable parsed = core::load_task_file(path);
  s.task_file = path;
  s.open_state();
  const std::string sha = store::sha256_file(path);
  if (s.state) s.state->set_task_file(path, sha);  // refuses a changed task file on resume
  if (!s.state || !s.state->resuming()) {
    s.table = std::move(parsed);
    s.table.init_runtime_columns();
    for (TaskIndex t = 0; t < s.table.size(); ++t)
      if (!s.table.name[t].empty()) s.names.emplace(std::string(s.table.name[t]), t);
    if (!s.table.id.empty()) s.next_id = s.table.id.back() + 1;
  }
}

TaskId Session::submit(std::string_view kind, std::string_view payload, const TaskOptions& options) {
  return impl_->table.id[impl_->submit(kind, payload, options)];
}

std::future<Result> Session::submit_future(std::string_view kind, std::string_view payload,
                                           const TaskOptions& options) {
  Impl& s = *impl_;
  const TaskIndex t = s.submit(kind, payload, options);
  std::promise<Result> promise;
  std::future<Result> future = promise.get_future();
  if (core::is_final(s.table.state[t]) && !s.hub) {
    promise.set_value(s.make_result(t, true));  // restored from the checkpoint
  } else {
    s.promises.emplace(t, std::move(promise));
  }
  return future;
}

std::optional<TaskId> Session::find(std::string_view name) const {
  auto it = impl_->names.find(std::string(name));
  if (it == impl_->names.end()) return std::nullopt;
  return impl_->table.id[it->second];
}

std::optional<Result> Session::result(TaskId id) const {
  const Impl& s = *impl_;
  auto row = s.table.find(id);
  if (!row || !core::is_final(s.table.state[*row])) return std::nullopt;
  return s.make_result(*row, !s.ran);
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
  open_state();
  // Tasks that ended in an earlier run are delivered first; their hooks may submit more.
  if (state && state->resuming())
    for (TaskIndex t = 0; t < table.size(); ++t)
      if (core::is_final(table.state[t])) deliver(t, true);
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
  hub = &h;
  int code = 2;
  try {
    code = h.run();
  } catch (...) {
    hub = nullptr;
    throw;
  }
  hub = nullptr;
  ran = true;
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
  if (s.ran) throw Error("mpiq::Session::run: a session runs once");
  exec::install_stop_handlers();
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
  if (s.rank == 0) {
    s.open_state();
    out_dir = s.state ? s.state->path() + "/out" : fs::current_path().string();
  }
  int len = static_cast<int>(out_dir.size());
  MPI_Bcast(&len, 1, MPI_INT, 0, MPI_COMM_WORLD);
  out_dir.resize(static_cast<size_t>(len));
  MPI_Bcast(out_dir.data(), len, MPI_CHAR, 0, MPI_COMM_WORLD);
  const auto bindings = s.mpi->node_allgather(hw::cpu_list(hw::this_thread_binding()));
  if (s.rank == 0) {
    s.ran = true;
    return s.run_hub(net);
  }
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
  s.ran = true;
  s.run_worker(net, out_dir, std::move(share), topo.gpu_vendors());
  return 0;
}

}  // namespace mpiq
