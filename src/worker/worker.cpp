#include "worker/worker.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "core/task_outcome.hpp"
#include "core/task_syntax.hpp"
#include "exec/clock.hpp"
#include "exec/guard.hpp"
#include "exec/signals.hpp"
#include "exec/task_command.hpp"
#include "exec/task_environment.hpp"
#include "hw/binding.hpp"
#include "hw/cpu_list.hpp"
#include "hw/gpu_visibility.hpp"
#include "mpiq/error.hpp"

extern char** environ;

namespace mpiq::worker {

using core::MessageKind;

namespace {
// The longest a worker whose cores are all busy waits for a message (Worker::run).
constexpr int64_t kBusyWaitNs = 5'000'000;

// The value of `name` in the environment of `req` ("K=V" entries, each name once), or nullptr.
const char* variable_in(const exec::SpawnRequest& req, std::string_view name) {
  const auto find = [name](const std::vector<std::string>& env) -> const char* {
    for (const std::string& e : env)
      if (e.size() > name.size() && e[name.size()] == '=' &&
          std::string_view(e).substr(0, name.size()) == name)
        return e.c_str() + name.size() + 1;
    return nullptr;
  };
  const char* own = find(req.env);
  return own || !req.inherited ? own : find(*req.inherited);
}

// Variables set per task; any value inherited from the worker's own environment is replaced.
bool set_per_task(std::string_view entry) {
  static constexpr std::string_view kKeys[] = {"MPIQ_",
                                               "OMP_NUM_THREADS=",
                                               "CUDA_VISIBLE_DEVICES=",
                                               "ROCR_VISIBLE_DEVICES=",
                                               "ZE_AFFINITY_MASK=",
                                               "CUDA_DEVICE_ORDER=",
                                               "LAUNCHER_JID=",
                                               "LAUNCHER_TSK_ID=",
                                               "DISBATCH_TASKID",
                                               "DISBATCH_STREAM_INDEX",
                                               "DISBATCH_REPEAT_INDEX",
                                               "DISBATCH_CORES_PER_TASK=",
                                               "DISBATCH_ENGINE_RANK=",
                                               "PWD="};
  for (std::string_view k : kKeys)
    if (entry.substr(0, k.size()) == k) return true;
  return false;
}
}  // namespace

Worker::Worker(transport::Transport& net, core::WorkerShare share, WorkerOptions options)
    : net_(net),
      share_(std::move(share)),
      options_(std::move(options)),
      queue_(share_, options_.grace_s),
      orphans_(options_.run_dir) {
  // Once per worker: the launcher's variables for this rank are not the tasks' (exec/task_environment.hpp).
  base_env_ = exec::inherited_environment(environ, set_per_task);
  if (char* cwd = getcwd(nullptr, 0)) {
    cwd_ = cwd;
    free(cwd);
  }
  // The worker's PWD as it was given, else where it is (as a shell sets PWD when it starts).
  if (const char* pwd = std::getenv("PWD"))
    inherited_pwd_ = std::string("PWD=") + pwd;
  else if (!cwd_.empty())
    inherited_pwd_ = "PWD=" + cwd_;
  base_env_.push_back("MPIQ_RANK=" + std::to_string(net_.rank()));
  // TACC launcher's name for the worker running the task: 0-based (worker rank 1 is 0).
  base_env_.push_back("LAUNCHER_TSK_ID=" + std::to_string(std::max(0, net_.rank() - 1)));
  base_env_.push_back("MPIQ_HOST=" + options_.host);
  // disBatch's name for the engine a task runs in (a disBatch file's tasks read it; others ignore it).
  base_env_.push_back("DISBATCH_ENGINE_RANK=" + std::to_string(std::max(0, net_.rank() - 1)));
  // An embedded run without a run directory has none to name (and `mpiq submit` none to reach).
  if (!options_.run_dir.empty()) base_env_.push_back("MPIQ_RUN_DIR=" + options_.run_dir);
  functions_ = std::make_unique<FunctionRunner>(
      options_.functions ? options_.functions : std::make_shared<const FunctionSettings>(), net_.rank());
}

Worker::~Worker() {
  for (TaskPipes& p : spare_pipes_) p.close_all();
}

void Worker::run() {
  core::Hello hello;
  hello.host = options_.host;
  std::vector<int> pus;
  for (const auto& c : share_.cores) pus.insert(pus.end(), c.pus.begin(), c.pus.end());
  std::sort(pus.begin(), pus.end());
  if (options_.bind) {
    // The thread that starts the tasks runs on its share (docs/design.md §5), so a task that takes the
    // whole share inherits the right binding and costs no rebinding of its own.
    try {
      if (!pus.empty()) hw::bind_this_thread(pus);
    } catch (const Error& e) {
      std::cerr << "mpiq worker " << net_.rank() << ": cannot bind to its share: " << e.what() << "\n";
    }
    own_binding_ = hw::this_thread_binding();
  }
  hello.cpus = hw::cpu_list(pus);
  for (const auto& g : share_.gpus) {
    if (!hello.gpus.empty()) hello.gpus += ',';
    hello.gpus += std::to_string(g.index);
  }
  hello.cores = static_cast<uint32_t>(share_.cores.size());
  hello.gpu_count = static_cast<uint32_t>(share_.gpus.size());
  hello.mem_kb = options_.node_mem_kb;
  net_.send(options_.hub, MessageKind::hello, core::encode(hello));

  exec::Backoff backoff;
  last_hub_ = exec::mono_now();
  for (;;) {
    progress_ = false;
    transport::Message m;
    while (net_.poll(m)) {
      if (m.source == options_.hub) last_hub_ = exec::mono_now();
      handle(m);
      progress_ = true;
    }
    const double now = exec::mono_now();
    if (now >= next_heartbeat_) {
      net_.send(options_.hub, MessageKind::heartbeat, {});
      next_heartbeat_ = now + options_.heartbeat_interval_s;
      end_orphans(now);
    }
    if (!interrupt_sent_ && exec::stop_signal() != 0) {
      // The hub decides what a stop means for the whole run; this rank only tells it.
      net_.send(options_.hub, MessageKind::interrupt,
                core::encode_count(static_cast<uint32_t>(exec::stop_signal())));
      interrupt_sent_ = true;
    }
    hurry_on_another_signal(now);
    if (may_start(now)) start_ready_tasks();
    if (options_.sample_node) sample_node(exec::mono_now());
    enforce_deadlines();
    collect_functions();
    flush_report();
    if (stopping_ && node_stop_ && queue_.empty() && functions_->idle()) {
      // The node's `#MPIQ pernode stop` command, once this worker's tasks have ended: on a stop too
      // (may_start says no then), bounded by the timeout the hub gave it.
      queue_.push(std::move(*node_stop_));
      node_stop_.reset();
      start_ready_tasks();
    }
    if (stopping_ && queue_.empty() && functions_->idle()) break;
    if (progress_) backoff.reset();
    int64_t wait_ns = backoff.next();
    // Every core taken and tasks waiting for one: nothing can start before a task ends, and an end
    // wakes the wait at once (its pidfd). Messages (a steal, a stop) can wait a few milliseconds;
    // spinning for them took a context switch or two per task on a node whose cores run tasks.
    if (!children_.empty() && queue_.queued() > 0) wait_ns = std::max(wait_ns, kBusyWaitNs);
    wait_for_events(wait_ns);
  }
  if (options_.sample_node) sample_node(exec::mono_now(), true);  // so a short run has a sample too
  end_node_services();
  end_orphans(exec::mono_now(), true);
  net_.send(options_.hub, MessageKind::bye, {});
  while (!net_.progress()) usleep(100);
}

void Worker::handle(const transport::Message& m) {
  switch (m.kind) {
    case MessageKind::assign:
      for (auto& o : core::decode_orders(m.bytes)) queue_.push(std::move(o));
      break;
    case MessageKind::assign_functions:
      functions_->push(core::decode_functions(m.bytes));
      break;
    case MessageKind::steal: {
      const uint32_t count = core::decode_count(m.bytes);
      auto given = queue_.give_back(count);
      if (given.size() < count) {
        auto more = functions_->give_back(count - static_cast<uint32_t>(given.size()));
        given.insert(given.end(), more.begin(), more.end());
      }
      // Starts already reported must reach the hub before it sees what was given back.
      flush_report();
      net_.send(options_.hub, MessageKind::returned, core::encode(given));
      break;
    }
    case MessageKind::heartbeat:
      break;
    case MessageKind::stop: {
      stopping_ = true;
      queue_.drop_queue();  // the hub keeps them unstarted; a resumed run starts them
      functions_->drop_queue();
      core::Stop stop = core::decode_stop(m.bytes);
      if (stop.node_stop) node_stop_ = std::move(stop.node_stop);
      if (stop.kill_running && !killing_) {
        killing_ = true;
        for (core::TaskIndex t : queue_.terminate_all(exec::mono_now()))
          exec::signal_group(children_.at(t).process, SIGTERM);
        functions_->interrupt_running(exec::mono_now() + options_.grace_s);
      }
      break;
    }
    case MessageKind::cancel: {
      const core::Cancel c = core::decode_cancel(m.bytes);
      const double now = exec::mono_now();
      for (core::TaskIndex t : c.tasks) {
        if (queue_.remove_queued(t)) {
          // Never started: reported as ended without a start, so the hub frees its room.
          core::TaskResult r;
          r.task = t;
          r.interrupted = true;
          report_.finished.push_back(std::move(r));
        } else if (queue_.terminate(t, now, c.grace_s)) {
          exec::signal_group(children_.at(t).process, SIGTERM);
        }
        // Otherwise it has ended already (its report is on its way) or is a function task, which
        // runs to its end; the hub keeps it cancelled either way.
      }
      progress_ = true;
      break;
    }
    default:
      std::cerr << "mpiq worker " << net_.rank() << ": unexpected message kind " << static_cast<int>(m.kind)
                << " from rank " << m.source << "\n";
  }
}

bool Worker::may_start(double now) {
  // After a stop signal to this rank the hub stops the run; until its word arrives, a task started
  // now would only be ended again (or, with the hub gone, never recorded).
  if (stopping_ || exec::stop_signal() != 0) return false;
  const bool silent = options_.hub_silence_s > 0 && now - last_hub_ > options_.hub_silence_s;
  if (silent != hub_silent_) {
    hub_silent_ = silent;
    std::cerr << "mpiq worker " << net_.rank() << " on " << options_.host
              << (silent ? ": no word from the hub for " + std::to_string(static_cast<int>(now - last_hub_)) +
                               " s; starting no new task until it answers\n"
                         : ": the hub answers again; starting tasks\n");
  }
  return !silent;
}

void Worker::start_ready_tasks() {
  std::vector<core::LocalQueue::Next> batch;
  while (auto next = queue_.next()) batch.push_back(std::move(*next));
  if (batch.empty()) return;
  progress_ = true;
  // The hub hears of the starts before the tasks exist: a task that kills this rank at once (or the
  // node) still counts the crash (docs/design.md §3), since the hub knows it was running.
  const double wall = exec::wall_now();
  for (const auto& next : batch) report_.started.push_back({next.order.task, wall});
  flush_report();
  net_.progress();
  for (auto& next : batch) start(std::move(next), wall);
}

namespace {
// disBatch's variables for a task of a disBatch file, with disBatch's values (core/disbatch.hpp): its
// 0-based task count (the row), its line, its REPEAT index (-1 outside a REPEAT), and each of them
// zero-padded as Python's f'{n:06d}' writes it (-1 is -00001).
void add_disbatch_environment(std::vector<std::string>& env, const core::TaskOrder& o, size_t cores) {
  const auto put = [&env](const char* name, long long value) {
    char padded[32];
    std::snprintf(padded, sizeof padded, "%06lld", value);
    env.push_back(std::string(name) + "=" + std::to_string(value));
    env.push_back(std::string(name) + "_ZP=" + padded);
  };
  put("DISBATCH_TASKID", o.task);
  put("DISBATCH_STREAM_INDEX", o.id);
  put("DISBATCH_REPEAT_INDEX", o.element == core::kNoElement ? -1LL : static_cast<long long>(o.element));
  env.push_back("DISBATCH_CORES_PER_TASK=" + std::to_string(std::max<size_t>(1, cores)));
}
}  // namespace

std::vector<std::string> Worker::task_environment(const core::TaskOrder& o, const core::Allocation& a) const {
  std::vector<std::string> env;
  if (core::is_node_command(o.task)) {
    // Not a task: no task id (so exec/orphans.hpp leaves what it starts alone), its node's index.
    env.push_back("MPIQ_NODE_INDEX=" + std::to_string(o.element));
    env.push_back(std::string("MPIQ_PERNODE=") + (o.task == core::kNodeStartTask ? "start" : "stop"));
    env.push_back("MPIQ_CORES=" + hw::cpu_list(queue_.pool().pus_of(a)));
    return env;
  }
  env.push_back("MPIQ_TASK_ID=" + std::to_string(o.id));
  env.push_back("LAUNCHER_JID=" + std::to_string(o.id));  // TACC launcher's: the task's line
  env.push_back("MPIQ_TASK_NAME=" + o.name);
  env.push_back("MPIQ_ATTEMPT=" + std::to_string(o.attempt));
  if (o.element != core::kNoElement) env.push_back("MPIQ_REPEAT_INDEX=" + std::to_string(o.element));
  env.push_back("MPIQ_CORES=" + hw::cpu_list(queue_.pool().pus_of(a)));
  if (o.disbatch) add_disbatch_environment(env, o, a.cores.size());
  env.push_back("OMP_NUM_THREADS=" + std::to_string(std::max<size_t>(1, a.cores.size())));
  if (!options_.gpu_vendors.empty())
    for (auto& [k, v] : hw::gpu_environment(queue_.pool().gpus_of(a), options_.gpu_vendors))
      env.push_back(k + "=" + v);
  return env;
}

namespace {
// Keeps the last core::kStderrTailBytes of what `tail` and `data` hold together.
void keep_tail(std::string& tail, std::string_view data) {
  constexpr size_t kMax = core::kStderrTailBytes;
  if (data.size() >= kMax) {
    tail.assign(data.substr(data.size() - kMax));
    return;
  }
  tail.append(data);
  if (tail.size() > kMax) tail.erase(0, tail.size() - kMax);
}

// The last core::kStderrTailBytes of the file at `path` ("" when there is none).
std::string file_tail(const std::string& path) {
  std::string tail;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tail;
  const off_t size = ::lseek(fd, 0, SEEK_END);
  const off_t from = std::max<off_t>(0, size - static_cast<off_t>(core::kStderrTailBytes));
  tail.resize(static_cast<size_t>(size - from));
  const ssize_t n = ::pread(fd, tail.data(), tail.size(), from);
  tail.resize(n > 0 ? static_cast<size_t>(n) : 0);
  ::close(fd);
  return tail;
}

// Appends `line` to the file at `path` (files mode: a retry's first line, a start failure's reason).
void append_line(const std::string& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  (void)!::write(fd, line.data(), line.size());
  ::close(fd);
}
}  // namespace

store::OutputStream& Worker::stream() {
  if (!stream_)
    stream_ = std::make_unique<store::OutputStream>(
        options_.out_dir + "/rank-" + std::to_string(net_.rank()) + ".stream",
        static_cast<uint32_t>(net_.rank()), options_.run_dir, options_.run_number);
  return *stream_;
}

void Worker::append_output(core::TaskId id, uint32_t element, uint32_t attempt, store::OutputChannel channel,
                           std::string_view data) {
  if (!output_failed_.empty()) return;
  try {
    stream().append(id, element, attempt, channel, data);
  } catch (const DiskFull& e) {
    on_output_failed(e.what(), true);
  } catch (const Error& e) {  // EIO, EROFS, a directory gone: the stream cannot be written either
    on_output_failed(e.what(), false);
  }
}

void Worker::on_output_failed(const std::string& what, bool disk_full) {
  if (!output_failed_.empty()) return;
  output_failed_ = what;
  net_.send(options_.hub, disk_full ? MessageKind::disk_full : MessageKind::output_failed,
            std::vector<char>(what.begin(), what.end()));
}

void Worker::task_stderr(core::TaskId id, uint32_t element, uint32_t attempt, const std::string& line) {
  switch (options_.output) {
    case core::TaskOutput::stream:
      append_output(id, element, attempt, store::OutputChannel::err, line);
      break;
    case core::TaskOutput::files:
      append_line(options_.out_dir + "/" + core::output_file_stem(id, element) + ".err", line);
      break;
    case core::TaskOutput::none:
      break;
  }
}

bool Worker::TaskPipes::open(std::string* error) {
  // Only the read ends are non-blocking: the task's writes block on a full pipe, as on a terminal.
  if (pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0 && fcntl(out[0], F_SETFL, O_NONBLOCK) == 0 &&
      fcntl(err[0], F_SETFL, O_NONBLOCK) == 0)
    return true;
  *error = std::string("cannot make the task's output pipes: ") + std::strerror(errno);
  close_all();
  return false;
}

void Worker::TaskPipes::close_pipe(int (&p)[2]) {
  for (int* fd : {&p[0], &p[1]})
    if (*fd >= 0) ::close(std::exchange(*fd, -1));
}

void Worker::TaskPipes::close_write_ends() {
  for (int* fd : {&out[1], &err[1]})
    if (*fd >= 0) ::close(std::exchange(*fd, -1));
}

void Worker::TaskPipes::close_all() {
  close_write_ends();
  for (int* fd : {&out[0], &err[0]})
    if (*fd >= 0) ::close(std::exchange(*fd, -1));
}

void Worker::start(core::LocalQueue::Next next, double wall) {
  const core::TaskIndex t = next.order.task;
  const core::TaskId id = next.order.id;
  const uint32_t element = next.order.element;
  const uint32_t attempt = next.order.attempt;
  const uint32_t timeout_s = next.order.timeout_s;
  std::string error;
  exec::Child child;
  TaskPipes pipes;
  if (!next.fits) {
    error = "the task asks for more cores or GPUs than this worker has";
  } else {
    exec::SpawnRequest req;
    req.command = next.order.command;
    req.shell = options_.shell;
    req.inherited = &base_env_;
    req.env = task_environment(next.order, next.allocation);
    const size_t pwd_at = req.env.size();  // the worker's PWD, replaced below by the task's directory
    if (!inherited_pwd_.empty()) req.env.push_back(inherited_pwd_);
    if (!next.order.workdir.empty()) {
      // GREASY's `cd dir && command`: ~ and variables expand (the task's own among them, and the
      // worker's PWD), and PWD then says where the task is, as a shell's cd would.
      req.workdir =
          exec::needs_expansion(next.order.workdir)
              ? exec::expand_directory(next.order.workdir,
                                       [&req](std::string_view name) { return variable_in(req, name); })
              : next.order.workdir;
      std::string pwd = "PWD=" + (req.workdir[0] == '/' ? req.workdir : cwd_ + "/" + req.workdir);
      if (pwd_at < req.env.size())
        req.env[pwd_at] = std::move(pwd);
      else
        req.env.push_back(std::move(pwd));
    }
    const std::string base = options_.out_dir + "/" + core::output_file_stem(id, element);
    bool ready = true;
    switch (options_.output) {
      case core::TaskOutput::stream:
        // Pipes that the worker's loop reads (ppoll, with the pidfds): no thread per task, and a chatty
        // task costs at most a bounded read per turn of the loop.
        if (!spare_pipes_.empty()) {
          pipes = spare_pipes_.back();
          spare_pipes_.pop_back();
        } else {
          ready = pipes.open(&error);
        }
        req.stdout_fd = pipes.out[1];
        req.stderr_fd = pipes.err[1];
        break;
      case core::TaskOutput::files:
        req.stdout_path = base + ".out";
        req.stderr_path = base + ".err";
        req.append = attempt > 1;  // keep what earlier attempts printed, after a line that says so
        if (req.append)
          for (const std::string& path : {req.stdout_path, req.stderr_path})
            append_line(path, "mpiq: attempt " + std::to_string(attempt) + " starts\n");
        break;
      case core::TaskOutput::none:
        // Nothing is kept but the end of stderr, for status and the summary.
        req.stdout_path = "/dev/null";
        ready = pipes.open(&error);
        req.stderr_fd = pipes.err[1];
        TaskPipes::close_pipe(pipes.out);
        break;
    }
    // A task that takes every core of its worker (one-core workers: most runs) needs no binding of its
    // own: the thread's is already right, and a system call per task is saved.
    if (ready && options_.bind) {
      std::vector<int> pus = queue_.pool().pus_of(next.allocation);
      if (pus != own_binding_) req.cpus = std::move(pus);
    }
    if (ready) child = exec::spawn(req, &error);
  }
  queue_.started(std::move(next), exec::mono_now());
  // The child has its copies. The worker keeps its own while it runs few enough tasks, so that the
  // pair can serve the next task (four descriptors a task then, not two; RLIMIT_NOFILE is often 1,024).
  const bool keep = options_.output == core::TaskOutput::stream && children_.size() < kKeptPipesUpTo;
  if (!keep || child.pid < 0) pipes.close_write_ends();
  if (child.pid < 0) {
    pipes.close_all();
    queue_.finished(t);
    core::TaskResult r;
    r.task = t;
    r.spawn_failed = true;
    r.exit_code = 127;  // what a shell reports for a command it cannot run
    r.start_time = wall;
    r.end_time = exec::wall_now();
    report_.finished.push_back(r);
    // The reason goes where the task's own errors would have gone, and with the report to the hub's
    // log, the summary and status.
    task_stderr(id, element, attempt, "mpiq: " + error + "\n");
    report_.finished.back().output = "mpiq: " + error + "\n";
    return;
  }
  children_[t] = {child, wall, id, element, attempt, timeout_s, pipes.out[0], pipes.err[0], {}, pipes.out[1],
                  pipes.err[1]};
}

void Worker::drain(Child& c, int& fd, store::OutputChannel channel, size_t budget) {
  static thread_local std::string buf(1 << 16, '\0');
  size_t taken = 0;
  while (fd >= 0 && (budget == 0 || taken < budget)) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n > 0) {
      const std::string_view data(buf.data(), static_cast<size_t>(n));
      if (options_.output == core::TaskOutput::stream)
        append_output(c.id, c.element, c.attempt, channel, data);
      if (channel == store::OutputChannel::err) keep_tail(c.err_tail, data);
      taken += static_cast<size_t>(n);
      progress_ = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    ::close(fd);  // end of file (every writer has gone) or an error
    fd = -1;
  }
}

void Worker::wait_for_events(int64_t timeout_ns) {
  // What each polled descriptor is: the function runner's wake-up, a task's pidfd, or its pipes.
  enum class Kind : uint8_t { wake, exit, out, err };
  struct Watched {
    Kind kind;
    core::TaskIndex task;
  };
  std::vector<pollfd> fds;
  std::vector<Watched> what;
  fds.reserve(3 * children_.size() + 1);
  if (functions_->wake_fd() >= 0) {
    fds.push_back({functions_->wake_fd(), POLLIN, 0});
    what.push_back({Kind::wake, 0});
  }
  std::vector<core::TaskIndex> look;
  for (auto& [t, c] : children_) {
    if (c.out >= 0) {
      fds.push_back({c.out, POLLIN, 0});
      what.push_back({Kind::out, t});
    }
    if (c.err >= 0) {
      fds.push_back({c.err, POLLIN, 0});
      what.push_back({Kind::err, t});
    }
    if (c.process.pidfd < 0) {  // no pidfd (very old kernel): look, do not wait
      look.push_back(t);
      continue;
    }
    fds.push_back({c.process.pidfd, POLLIN, 0});
    what.push_back({Kind::exit, t});
  }
  for (core::TaskIndex t : look) reap(t);
  if (!look.empty()) return;  // children_ changed
  timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000), static_cast<long>(timeout_ns % 1'000'000'000)};
  const int n = ppoll(fds.data(), fds.size(), &ts, nullptr);
  if (n <= 0) return;
  // Output first, then exits: reap() drains what is left and forgets the task.
  constexpr size_t kReadPerTurn = 1 << 20;  // a chatty task cannot hold up the loop for longer
  for (size_t i = 0; i < fds.size(); ++i) {
    if (!fds[i].revents || (what[i].kind != Kind::out && what[i].kind != Kind::err)) continue;
    auto it = children_.find(what[i].task);
    if (it == children_.end()) continue;
    Child& c = it->second;
    if (what[i].kind == Kind::out)
      drain(c, c.out, store::OutputChannel::out, kReadPerTurn);
    else
      drain(c, c.err, store::OutputChannel::err, kReadPerTurn);
  }
  for (size_t i = 0; i < fds.size(); ++i)
    if (fds[i].revents && what[i].kind == Kind::exit) reap(what[i].task);
}

void Worker::collect_functions() {
  functions_->enforce(exec::mono_now());
  if (!functions_->collect(function_finished_, report_.started)) return;
  progress_ = true;
  for (const FunctionRunner::Finished& f : function_finished_) {
    // A batch of results in one message, split before it grows past a few MiB.
    function_report_.add(f.task, static_cast<uint8_t>(f.outcome), f.start_time, f.end_time, f.output);
    if (function_report_.bytes() >= (4u << 20)) {
      flush_report();  // starts first: the hub must see a start before its end
      net_.send(options_.hub, MessageKind::report_functions, function_report_.take());
    }
  }
  function_finished_.clear();
  flush_report();
  if (function_report_.count() > 0)
    net_.send(options_.hub, MessageKind::report_functions, function_report_.take());
}

void Worker::reap(core::TaskIndex t) {
  auto it = children_.find(t);
  if (it == children_.end()) return;
  exec::Exit ex;
  if (!exec::try_reap(it->second.process, &ex)) return;
  progress_ = true;
  // The group may still hold the task's own children: they go with it. Not those of a node's start
  // command that succeeded: a service it started runs until the stop command, and the worker's end.
  if (t == core::kNodeStartTask && ex.exit_code == 0 && ex.signal == 0)
    node_services_.push_back(it->second.process);
  else
    exec::signal_group(it->second.process, SIGKILL);
  // What the task wrote before it ended is in its pipes still: into the stream before its end is
  // reported (a descendant outside its group that holds a pipe open loses what it writes later).
  Child& c = it->second;
  drain(c, c.out, store::OutputChannel::out, 0);
  drain(c, c.err, store::OutputChannel::err, 0);
  // Empty now. The pair serves the next task only if nothing the task started lives on (it would be
  // a child of this subreaper, exec::only_known_children): such a process may hold the write ends,
  // and what it wrote later would be taken for the next task's output. Otherwise it is closed, and a
  // process left holding it writes into a pipe that no one reads (EPIPE), as before.
  const pid_t guard = exec::guard_pid();
  // Anything else is an orphan or a service a node's start command left: either may hold the pipes.
  const auto known = [&](pid_t pid) { return pid == guard || runs_task(pid, t); };
  if (c.out >= 0 && c.err >= 0 && c.out_w >= 0 && c.err_w >= 0 && spare_pipes_.size() < kSparePipes &&
      exec::only_known_children(known)) {
    TaskPipes kept;
    kept.out[0] = std::exchange(c.out, -1);
    kept.out[1] = std::exchange(c.out_w, -1);
    kept.err[0] = std::exchange(c.err, -1);
    kept.err[1] = std::exchange(c.err_w, -1);
    spare_pipes_.push_back(kept);
  }
  for (int* fd : {&c.out, &c.err, &c.out_w, &c.err_w})
    if (*fd >= 0) ::close(std::exchange(*fd, -1));
  core::LocalQueue::Running r = queue_.finished(t);
  core::TaskResult res;
  res.task = t;
  res.exit_code = ex.exit_code;
  res.signal = ex.signal;
  res.max_rss_kb = ex.max_rss_kb;
  res.start_time = it->second.wall_start;
  res.end_time = exec::wall_now();
  res.timed_out = r.timed_out;
  // Ended by the stop (our TERM/KILL), or by a signal the launcher sent the whole step with the stop
  // signal this rank received: either way the attempt does not count.
  res.interrupted =
      !r.timed_out && ((stopping_ && r.kill_at != 0) || (ex.signal != 0 && exec::stop_signal() != 0));
  if (options_.output == core::TaskOutput::files)
    c.err_tail = file_tail(options_.out_dir + "/" + core::output_file_stem(c.id, c.element) + ".err");
  if (r.cancelled) task_stderr(c.id, c.element, c.attempt, "mpiq: cancelled (mpiq cancel)\n");
  if (r.timed_out) {
    // Why it ended, where the user looks: its stderr, and so the summary and status.
    const std::string line = "mpiq: timed out after " + core::format_duration(c.timeout_s) + "\n";
    task_stderr(c.id, c.element, c.attempt, line);
    keep_tail(c.err_tail, line);
  }
  if (!res.succeeded()) res.output = std::move(c.err_tail);
  report_.finished.push_back(res);
  children_.erase(it);
}

void Worker::end_node_services() {
  if (node_services_.empty()) return;
  // What the node's start command left running (a service) ends with the worker, after the node's
  // stop command: TERM, then KILL after the grace period (at most 5 s) to what is left of its group.
  for (const exec::Child& c : node_services_) exec::signal_group(c, SIGTERM);
  const double until = exec::mono_now() + std::min(options_.grace_s, 5.0);
  while (exec::mono_now() < until) {
    // The group's processes are this rank's children now (it is their subreaper): reap them, so
    // that an ended group is seen to be gone.
    for (const exec::Child& c : node_services_)
      while (::waitpid(-c.pid, nullptr, WNOHANG) > 0) {
      }
    const bool alive = std::any_of(node_services_.begin(), node_services_.end(),
                                   [](const exec::Child& c) { return ::kill(-c.pid, 0) == 0; });
    if (!alive) break;
    usleep(20'000);
  }
  for (const exec::Child& c : node_services_) exec::signal_group(c, SIGKILL);
  node_services_.clear();
}

void Worker::end_orphans(double now, bool last) {
  const auto known = [this](pid_t pid) { return runs_task(pid); };
  if (last) return orphans_.end_all(options_.grace_s, known);
  orphans_.sweep(now, options_.grace_s, known, [this](const std::string& key) {
    for (const auto& [t, c] : children_)
      if (exec::task_attempt_key(options_.run_dir, c.id, c.element, c.element != core::kNoElement,
                                 c.attempt) == key)
        return true;
    return false;
  });
}

bool Worker::runs_task(pid_t pid, core::TaskIndex except) const {
  for (const auto& [t, c] : children_)
    if (t != except && c.process.pid == pid) return true;
  return false;
}

void Worker::hurry_on_another_signal(double now) {
  const int count = exec::stop_signal_count();
  if (count == signals_seen_) return;
  // A repeat within 0.1 s is one signal delivered twice (a closed terminal sends SIGHUP twice; Slurm
  // signals every process of the step and mpirun forwards it again), not another from the user.
  const bool repeat = now - last_signal_at_ < 0.1;
  const int before = signals_seen_;  // what earlier looks saw: two seen at once are one delivered twice
  signals_seen_ = count;
  last_signal_at_ = now;
  // Another signal to this rank while a stop's TERM gives the running tasks their grace (a second
  // Ctrl-C; mpirun and srun signal every rank): KILL them now. Counted on this rank's own signals,
  // not sent by the hub: after its stop the hub writes to no worker (hub.cpp, heartbeats).
  const int needed = options_.drain_on_signal ? 3 : 2;  // --drain: the first one only drains
  if (hurried_ || !killing_ || repeat || before < needed - 1) return;
  hurried_ = true;
  const auto ending = queue_.kill_all_now();
  if (!ending.empty())
    std::cerr << "mpiq worker " << net_.rank() << " on " << options_.host << ": another stop signal: killing "
              << ending.size() << " running task(s) now\n";
  for (core::TaskIndex t : ending) exec::signal_group(children_.at(t).process, SIGKILL);
  functions_->interrupt_running(now);
}

void Worker::enforce_deadlines() {
  for (auto [t, step] : queue_.due(exec::mono_now())) {
    auto it = children_.find(t);
    if (it == children_.end()) continue;
    exec::signal_group(it->second.process, step == core::KillStep::terminate ? SIGTERM : SIGKILL);
    progress_ = true;
  }
}

void Worker::sample_node(double now, bool last) {
  if ((now < next_sample_ && !last) || options_.run_dir.empty()) return;
  next_sample_ = now + kNodeSampleInterval;
  // CPU: the busy share of all of the node's jiffies since the last sample (first line of /proc/stat).
  uint64_t total = 0, idle = 0;
  if (FILE* f = std::fopen("/proc/stat", "re")) {
    unsigned long long v[10] = {};
    if (std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                    &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) >= 4) {
      for (int i = 0; i < 8; ++i) total += v[i];  // guest time is counted in user already
      idle = v[3] + v[4];
    }
    std::fclose(f);
  }
  uint64_t mem_total_kb = 0, mem_available_kb = 0;
  if (FILE* f = std::fopen("/proc/meminfo", "re")) {
    char key[64];
    unsigned long long kb = 0;
    while (std::fscanf(f, "%63s %llu kB", key, &kb) == 2) {
      if (std::strcmp(key, "MemTotal:") == 0) mem_total_kb = kb;
      if (std::strcmp(key, "MemAvailable:") == 0) mem_available_kb = kb;
    }
    std::fclose(f);
  }
  const bool first = last_cpu_total_ == 0;
  const uint64_t dt = total - last_cpu_total_, di = idle - last_cpu_idle_;
  last_cpu_total_ = total;
  last_cpu_idle_ = idle;
  if (first || dt == 0 || mem_total_kb == 0) return;
  char line[128];
  const int n = std::snprintf(line, sizeof line, "%.1f %.3f %llu %llu\n", exec::wall_now(),
                              1.0 - static_cast<double>(di) / static_cast<double>(dt),
                              static_cast<unsigned long long>(mem_total_kb - mem_available_kb),
                              static_cast<unsigned long long>(mem_total_kb));
  // Unix time, CPU busy 0-1, memory used and total (KiB): one line a sample, appended.
  append_line(options_.run_dir + "/node-" + options_.host + ".usage",
              std::string(line, static_cast<size_t>(n)));
}

void Worker::flush_report() {
  if (report_.empty()) return;
  // A task's output is durable before the hub journals its end (store/output_stream.hpp); tasks that
  // printed nothing cost no sync.
  if (!report_.finished.empty() && stream_ && output_failed_.empty()) try {
      stream_->sync();
    } catch (const DiskFull& e) {
      on_output_failed(e.what(), true);
    } catch (const Error& e) {
      on_output_failed(e.what(), false);
    }
  // Output that is not whole, or not durable: the task's end must not be journalled as done.
  if (!output_failed_.empty())
    for (core::TaskResult& r : report_.finished) r.interrupted = true;
  net_.send(options_.hub, MessageKind::report, core::encode(report_));
  report_ = {};
}

}  // namespace mpiq::worker
