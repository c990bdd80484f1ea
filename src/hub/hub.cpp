#include "hub/hub.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/task_outcome.hpp"
#include "core/task_syntax.hpp"
#include "exec/clock.hpp"
#include "exec/signals.hpp"
#include "mpiq/error.hpp"

namespace mpiq::hub {

using core::MessageKind;
using core::TaskIndex;
using core::TaskState;

namespace {
// The hub's first sleep after traffic (exec::Backoff).
constexpr int64_t kHubFirstSleepNs = 100'000;
std::string iso8601(double unix_time) {
  std::time_t t = static_cast<std::time_t>(unix_time);
  std::tm tm;
  localtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tm);
  return buf;
}

// Calls f(row) for each row of `table` in state `s`, in row order, until f returns false. One memchr
// pass over the state column (one byte a row): status writes look tasks up this way instead of
// keeping a set of running tasks up to date on the per-task path.
template <class F>
void for_each_in_state(const core::TaskTable& table, TaskState s, F&& f) {
  static_assert(sizeof(TaskState) == 1);
  const auto* base = reinterpret_cast<const unsigned char*>(table.state.data());
  const unsigned char* p = base;
  const unsigned char* end = base + table.state.size();
  while (p < end) {
    const void* hit = std::memchr(p, static_cast<int>(s), static_cast<size_t>(end - p));
    if (hit == nullptr) return;
    const auto* at = static_cast<const unsigned char*>(hit);
    if (!f(static_cast<TaskIndex>(at - base))) return;
    p = at + 1;
  }
}

}  // namespace

Hub::Hub(transport::Transport& net, core::TaskTable& table, HubOptions options, Log& log,
         RunRecorder* recorder)
    : net_(net),
      table_(table),
      options_(std::move(options)),
      log_(log),
      recorder_(recorder),
      scheduler_(table, options_.scheduler),
      workers_(static_cast<size_t>(net.size())) {
  for (int r = 0; r < net.size(); ++r) workers_[static_cast<size_t>(r)].rank = r;
}

std::string Hub::output_of(TaskIndex t, bool err) const {
  const std::string id = table_.label(t);
  switch (options_.task_output) {
    case core::TaskOutput::files:
      return options_.out_dir + "/" + core::output_file_stem(table_.id[t], table_.element[t]) +
             (err ? ".err" : ".out");
    case core::TaskOutput::none:
      return "not kept (--task-output none)";
    case core::TaskOutput::stream:
      break;
  }
  return "mpiq cat " + (options_.run_dir.empty() ? options_.out_dir : options_.run_dir) + " " + id +
         (err ? " --stderr" : "");
}

bool Hub::wait_for_workers() {
  // Dispatch waits for every worker's hello so that an impossible request is caught before anything
  // runs, and so the first tasks are spread over all workers instead of piling on the first one up.
  const size_t expected = static_cast<size_t>(net_.size() - 1);
  size_t joined = 0;
  exec::Backoff backoff;
  while (joined < expected) {
    transport::Message m;
    if (net_.poll(m)) {
      if (m.kind == MessageKind::hello) ++joined;
      handle(m);
      backoff.reset();
      continue;
    }
    if (exec::stop_signal() != 0) return false;
    const int64_t ns = backoff.next();
    if (ns > 0) usleep(static_cast<useconds_t>(ns / 1000));
  }
  return true;
}

void Hub::handle(const transport::Message& m) {
  const auto rank = static_cast<size_t>(m.source);
  if (rank == 0 || rank >= workers_.size()) return;
  WorkerRow& w = workers_[rank];
  w.last_heard = exec::mono_now();
  if (w.owed_stop != 0 && !w.left) {
    net_.send(static_cast<int>(rank), MessageKind::stop, core::encode(stop_for(rank, w.owed_stop == 2)));
    w.owed_stop = 0;
  }
  if (w.lost) {  // slow, not gone: it counts again (and takes back its tasks' crashes as they end)
    w.lost = false;
    --lost_;
    log_.warn("worker " + std::to_string(rank) + " on " + w.host + " was heard from again");
  }
  try {
    switch (m.kind) {
      case MessageKind::hello: {
        const core::Hello h = core::decode_hello(m.bytes);
        w.joined = true;
        w.host = h.host;
        w.cpus = h.cpus;
        w.gpus = h.gpus;
        w.cores = h.cores;
        w.gpu_count = h.gpu_count;
        w.mem_kb = h.mem_kb;
        w.node = memory_nodes_.try_emplace(h.host, static_cast<uint32_t>(memory_nodes_.size())).first->second;
        scheduler_.set_worker_node(static_cast<core::WorkerId>(rank), w.node, h.mem_kb);
        // With a pernode start command a worker gets tasks once its node's start has run.
        scheduler_.add_worker(static_cast<core::WorkerId>(rank), h.cores, h.gpu_count,
                              options_.pernode.start.empty());
        log_.debug("worker " + std::to_string(rank) + " on " + h.host + ": cpus " + h.cpus +
                   (h.gpus.empty() ? "" : ", gpus " + h.gpus));
        break;
      }
      case MessageKind::report:
        on_report(static_cast<int>(rank), core::decode_report(m.bytes));
        break;
      case MessageKind::report_functions:
        for (core::TaskResult& f : core::decode_function_report(m.bytes))
          on_finished(static_cast<int>(rank), std::move(f));
        break;
      case MessageKind::returned: {
        const auto tasks = core::decode_indices(m.bytes);
        scheduler_.on_returned(static_cast<core::WorkerId>(rank), tasks);
        if (!tasks.empty())
          log_.debug("worker " + std::to_string(rank) + " gave back " + std::to_string(tasks.size()) +
                     " tasks");
        break;
      }
      case MessageKind::interrupt:
        on_stop_signal(static_cast<int>(core::decode_count(m.bytes)),
                       "rank " + std::to_string(rank) + " on " + w.host);
        break;
      case MessageKind::heartbeat:
        break;
      case MessageKind::disk_full:
        on_disk_full("rank " + std::to_string(rank) + " on " + w.host + ": " +
                     std::string(m.bytes.begin(), m.bytes.end()));
        break;
      case MessageKind::output_failed: {
        // As for a full disk: the tasks that ended since are reported interrupted, and run again.
        const std::string why = "rank " + std::to_string(rank) + " on " + w.host + " cannot write task output: " +
                                std::string(m.bytes.begin(), m.bytes.end()) +
                                " (fix that, then run the same command again to resume)";
        output_failed_ = true;
        if (interrupted_)
          log_.error(why);
        else
          begin_stop(true, why);
        break;
      }
      case MessageKind::bye:
        if (!w.left) {
          w.left = true;
          ++byes_;
        }
        break;
      default:
        log_.warn("unexpected message kind " + std::to_string(static_cast<int>(m.kind)) + " from rank " +
                  std::to_string(rank));
    }
  } catch (const Error& e) {
    // A malformed message changes nothing: the hub keeps its state and says so.
    log_.error("ignored a message from rank " + std::to_string(rank) + ": " + e.what());
  }
}

void Hub::on_report(int rank, const core::Report& r) {
  const auto w = static_cast<core::WorkerId>(rank);
  for (const auto& s : r.started) {
    if (core::is_node_command(s.task)) continue;
    scheduler_.on_started(w, s.task, s.time);
    if (observer_ && s.task < table_.size() && table_.state[s.task] == TaskState::running)
      observer_->started(s.task, rank);
  }
  for (const core::TaskResult& f : r.finished) on_finished(rank, f);
}

void Hub::on_finished(int rank, core::TaskResult f) {
  const auto w = static_cast<core::WorkerId>(rank);
  if (core::is_node_command(f.task)) return on_node_command(rank, f);
  if (f.task >= table_.size()) return;
  if (table_.state[f.task] == TaskState::cancelled) {
    // Cancelled while on this worker: it ended as told (or just before). Nothing to log or count as
    // a failure; the worker's room is free again.
    WorkerRow& row = workers_[static_cast<size_t>(rank)];
    if (f.start_time > 0 && f.end_time > f.start_time) {
      ++row.done;
      row.busy_s += f.end_time - f.start_time;
    }
    scheduler_.on_finished(w, std::move(f));
    return;
  }
  // A stop signal reaches the tasks too where the launcher signals the whole step (srun, scancel,
  // Slurm's time limit): a task a signal ended during a stop was interrupted, not failed.
  if (interrupted_ && f.signal != 0 && !f.timed_out) f.interrupted = true;
  const bool quiet = f.interrupted || f.succeeded();
  const TaskIndex t = f.task;
  const bool function = table_.is_function(t);
  std::string message;
  if (!quiet && function) message = f.output;  // the scheduler moves the output into the table
  const bool spawn_failed = f.spawn_failed, timed_out = f.timed_out;
  const std::string reason(core::mpiq_reason(f.output));  // a start failure's, from the worker
  const double ran = f.end_time > f.start_time ? f.end_time - f.start_time : 0;
  scheduler_.on_finished(w, std::move(f));
  WorkerRow& row = workers_[static_cast<size_t>(rank)];
  ++row.done;
  row.busy_s += ran;
  if (quiet) return;
  const bool final_failure = table_.state[t] == TaskState::failed;
  std::ostringstream msg;
  msg << "Task " << table_.label(t);
  if (!table_.name[t].empty()) msg << " (" << table_.name[t] << ")";
  if (function)
    msg << " of kind " << table_.kind_name(t) << " failed";
  else
    msg << " located in line " << table_.id[t] << " failed";
  if (spawn_failed)
    msg << ": " << (reason.empty() ? std::string("could not start") : reason);
  else if (timed_out)
    msg << ": timed out after " << core::format_duration(table_.timeout_s[t]);
  else if (function)
    msg << ": " << message;
  else if (const std::string why = core::describe_end(table_, t); why.starts_with("exit code"))
    msg << " with " << why;  // GREASY's words
  else
    msg << ": " << why;  // killed by a signal
  msg << " (attempt " << table_.attempts[t] << (final_failure ? "" : "; it will run again") << ") on "
      << row.host << " rank " << rank;
  if (!function) msg << ". stderr: " << output_of(t, true);
  if (final_failure)
    log_.error(msg.str());
  else
    log_.warn(msg.str());
}

std::string_view to_string(NodeState::Step s) {
  switch (s) {
    case NodeState::Step::none:
      return "none";
    case NodeState::Step::running:
      return "running";
    case NodeState::Step::done:
      return "done";
    case NodeState::Step::failed:
      return "failed";
  }
  return "none";
}

namespace {
// "ranks 3-4", "rank 2": the workers of a node, for messages.
std::string ranks_text(const std::vector<int>& ranks) {
  if (ranks.size() == 1) return "rank " + std::to_string(ranks[0]);
  std::string s = "ranks ";
  s.append(std::to_string(ranks.front())).push_back('-');
  s.append(std::to_string(ranks.back()));
  return s;
}

// How a pernode command that did not succeed ended, with the end of its stderr.
std::string describe_node_end(const core::TaskResult& f) {
  std::string why;
  if (const std::string_view reason = core::mpiq_reason(f.output); !reason.empty())
    why = reason;
  else if (f.signal != 0)
    why = "killed by " + exec::signal_name(f.signal);
  else
    why = "exit code " + std::to_string(f.exit_code);
  std::string tail(f.output);
  while (!tail.empty() && tail.back() == '\n') tail.pop_back();
  if (!tail.empty() && core::mpiq_reason(f.output).empty()) {
    std::replace(tail.begin(), tail.end(), '\n', ' ');
    why.append("; stderr ends: ").append(tail);
  }
  return why;
}
}  // namespace

size_t Hub::node_of(int rank) const {
  for (size_t n = 0; n < nodes_.size(); ++n)
    if (std::find(nodes_[n].ranks.begin(), nodes_[n].ranks.end(), rank) != nodes_[n].ranks.end()) return n;
  return nodes_.size();
}

core::TaskOrder Hub::node_order(size_t node, bool start, bool in_stop) const {
  const core::NodeCommand& c = start ? options_.pernode.start : options_.pernode.stop;
  const WorkerRow& leader = workers_[static_cast<size_t>(nodes_[node].ranks.front())];
  core::TaskOrder o;
  o.task = start ? core::kNodeStartTask : core::kNodeStopTask;
  o.id = c.line;  // its output is under the directive's line (`mpiq cat RUN start@HOST`)
  o.element = static_cast<uint32_t>(node);
  o.attempt = 1;
  o.cores = std::max(1u, leader.cores);  // the whole share of the worker that runs it
  o.gpus = 0;
  o.timeout_s = in_stop ? options_.pernode_stop_timeout_s : 0;
  o.name = start ? "start" : "stop";
  o.command = c.command;
  return o;
}

void Hub::start_nodes() {
  nodes_.clear();
  for (const WorkerRow& w : workers_) {
    if (w.rank == 0 || !w.joined) continue;
    auto n = std::find_if(nodes_.begin(), nodes_.end(), [&](const NodeState& x) { return x.host == w.host; });
    if (n == nodes_.end()) n = nodes_.insert(nodes_.end(), NodeState{w.host, {}, {}, {}, {}, {}});
    n->ranks.push_back(w.rank);
  }
  if (options_.pernode.start.empty()) return;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    NodeState& n = nodes_[i];
    n.start = NodeState::Step::running;
    log_.info("node " + n.host + " (" + ranks_text(n.ranks) + "): running its pernode start command (line " +
              std::to_string(options_.pernode.start.line) + ") on rank " + std::to_string(n.ranks.front()));
    net_.send(n.ranks.front(), MessageKind::assign, core::encode(std::vector{node_order(i, true, false)}));
  }
}

core::Stop Hub::stop_for(size_t rank, bool kill_running) const {
  const size_t n = node_of(static_cast<int>(rank));
  // The node's stop command goes with its first worker's stop, unless its start failed (then the
  // node never ran a task) or the stop command is running or ran already.
  if (options_.pernode.stop.empty() || n == nodes_.size() || nodes_[n].ranks.front() != static_cast<int>(rank) ||
      nodes_[n].start == NodeState::Step::failed || nodes_[n].stop != NodeState::Step::none)
    return core::Stop(kill_running);
  return core::Stop(kill_running, node_order(n, false, kill_running));
}

void Hub::on_node_command(int rank, const core::TaskResult& f) {
  const size_t i = node_of(rank);
  if (i == nodes_.size()) return;
  NodeState& n = nodes_[i];
  const bool start = f.task == core::kNodeStartTask;
  const core::NodeCommand& c = start ? options_.pernode.start : options_.pernode.stop;
  const std::string what = "node " + n.host + " (" + ranks_text(n.ranks) + "): its pernode " +
                           (start ? "start" : "stop") + " command (line " + std::to_string(c.line) + ")";
  const bool ok = f.succeeded() && !f.interrupted;
  if (!start) {
    n.stop = ok ? NodeState::Step::done : NodeState::Step::failed;
    if (ok) {
      log_.info(what + " ended");
    } else {
      n.stop_why = f.interrupted ? "ended by the stop" : describe_node_end(f);
      log_.error(what + " failed: " + n.stop_why);
    }
    return;
  }
  if (ok) {
    n.start = NodeState::Step::done;
    log_.info(what + " ended; its workers take tasks");
    if (!stop_sent_)
      for (int r : n.ranks) scheduler_.open_worker(static_cast<core::WorkerId>(r));
    return;
  }
  n.start = NodeState::Step::failed;
  n.start_why = f.interrupted ? "ended by the stop" : describe_node_end(f);
  if (f.interrupted) return;  // a stop ended it: the run is ending anyway
  log_.error(what + " failed: " + n.start_why + "; its " + core::plural(static_cast<uint32_t>(n.ranks.size()), "worker") +
             " are out of the run");
  for (int r : n.ranks) {
    scheduler_.remove_worker(static_cast<core::WorkerId>(r));
    WorkerRow& w = workers_[static_cast<size_t>(r)];
    if (!w.left) net_.send(r, MessageKind::stop, core::encode(core::Stop(false)));
  }
  const bool any_left = std::any_of(nodes_.begin(), nodes_.end(),
                                    [](const NodeState& x) { return x.start != NodeState::Step::failed; });
  const std::string why = any_left ? "no worker left can run it: the pernode start command failed on " + n.host
                                   : "no node left to run it: the pernode start command failed on every node";
  const auto failed = scheduler_.fail_unplaceable(why);
  if (!failed.empty())
    log_.error(core::plural(static_cast<uint32_t>(failed.size()), "task") + " failed: " + why);
  if (!any_left) begin_stop(false, "the pernode start command failed on every node");
}

void Hub::add_tasks(TaskIndex first_row) {
  scheduler_.add_tasks(first_row);
  if (recorder_) recorder_->appended(table_, first_row);
}

void Hub::send_dispatch() {
  steals_.clear();
  scheduler_.dispatch(assignments_, steals_);
  for (core::Assignment& a : assignments_) {
    if (observer_) observer_->sent(static_cast<int>(a.worker), a.tasks);
    // Function tasks go in a message of their own, with no command, directory or environment.
    const auto is_command = [&](TaskIndex t) { return !table_.is_function(t); };
    auto functions = a.tasks.end();
    if (!std::all_of(a.tasks.begin(), a.tasks.end(), is_command))
      functions = std::stable_partition(a.tasks.begin(), a.tasks.end(), is_command);
    const std::span<const TaskIndex> commands(a.tasks.begin(), functions);
    const std::span<const TaskIndex> function_tasks(functions, a.tasks.end());
    if (!commands.empty()) {
      std::vector<core::TaskOrder> orders;
      orders.reserve(commands.size());
      for (TaskIndex t : commands) orders.push_back(core::make_order(table_, t));
      net_.send(static_cast<int>(a.worker), MessageKind::assign, core::encode(orders));
    }
    if (!function_tasks.empty())
      net_.send(static_cast<int>(a.worker), MessageKind::assign_functions,
                core::encode_functions(table_, function_tasks, observer_ && observer_->wants_starts()));
  }
  for (const core::StealRequest& s : steals_) {
    log_.debug("asking worker " + std::to_string(s.victim) + " to give back up to " +
               std::to_string(s.count) + " tasks");
    net_.send(static_cast<int>(s.victim), MessageKind::steal, core::encode_count(s.count));
  }
}

template <class Write>
void Hub::recording(Write&& write) {
  try {
    write();
  } catch (const DiskFull& e) {
    on_disk_full(e.what());
  }
}

void Hub::on_disk_full(std::string_view what) {
  if (disk_full_) return;
  disk_full_ = true;
  const std::string why =
      "the disk is full: " + std::string(what) + " (make room, then run the same command again to resume)";
  if (interrupted_)
    log_.error(why);  // a stop is already under way: it ends as that one does
  else
    begin_stop(true, why);
}

void Hub::record_finalized() {
  auto rows = scheduler_.take_finalized();
  if (rows.empty()) return;
  for (TaskIndex t : rows) {
    if (table_.is_barrier(t)) continue;  // a barrier is not a task: it is not counted
    ++finished_this_run_;
    if (table_.state[t] == TaskState::failed) failures_.push_back(t);
  }
  if (recorder_) recording([&] { recorder_->finalized(table_, rows); });
  if (observer_) observer_->finalized(rows);
}

void Hub::begin_stop(bool kill_running, std::string_view why) {
  if (stop_reason_.empty()) stop_reason_ = why;
  if (kill_running) {
    if (interrupted_) return;
    interrupted_ = true;
    log_.warn(std::string("stopping: ") + std::string(why) + "; ending running tasks and saving state");
  } else if (stop_sent_) {
    return;
  }
  scheduler_.stop_dispatch();
  const double now = exec::mono_now();
  for (size_t r = 1; r < workers_.size(); ++r) {
    WorkerRow& w = workers_[r];
    if (w.left) continue;
    if (quiet(w, now))
      w.owed_stop = kill_running ? 2 : 1;  // sent when it is heard from again
    else
      net_.send(static_cast<int>(r), MessageKind::stop, core::encode(stop_for(r, kill_running)));
  }
  stop_sent_ = true;
}

void Hub::record_changed() {
  const auto earlier = scheduler_.take_earlier_attempts();
  auto rows = scheduler_.take_changed();
  // Rows that ended for good since are journalled by record_finalized().
  std::erase_if(rows, [&](TaskIndex t) { return core::is_final(table_.state[t]); });
  if (!recorder_) return;
  // Buffered, then written by changed() with the rows they came from: one write, so a kill -9 cannot
  // keep a retried try as an earlier attempt and its row as running (counted again as lost).
  if (!earlier.empty()) recording([&] { recorder_->earlier_attempts(earlier); });
  if (!rows.empty() || !earlier.empty()) recording([&] { recorder_->changed(table_, rows); });
}

bool Hub::quiet(const WorkerRow& w, double now) const {
  // Workers send a heartbeat every second. One not heard from for longer may be dead, and under Open
  // MPI a write to a dead rank ends this process at once (measured: tests/nodes/node_loss.sh), before
  // it can hear the other workers' ends; so it is written to again only once it speaks.
  return w.lost || (w.joined && now - w.last_heard > kQuietAfter);
}

void Hub::heartbeats(double now) {
  // A hub that could not look for a while (a long snapshot, a stopped process) cannot tell who was
  // silent in that time: everyone starts with a clean slate.
  if (last_turn_ > 0 && now - last_turn_ > 1.0)
    for (WorkerRow& w : workers_) w.last_heard = std::max(w.last_heard, now);
  last_turn_ = now;
  // None after the stop: a worker frees its communicator after its bye, and a message that reaches it
  // then crashes Open MPI's shared-memory transport (seen: a segfault in mca_btl_vader_poll_handle_frag).
  // Heartbeats sent before the stop arrive before it, so the worker has taken them all.
  if (!stop_sent_ && now >= next_heartbeat_) {
    for (size_t r = 1; r < workers_.size(); ++r)
      if (workers_[r].joined && !workers_[r].left && !quiet(workers_[r], now))
        net_.send(static_cast<int>(r), MessageKind::heartbeat, {});
    next_heartbeat_ = now + options_.heartbeat_interval_s;
  }
  if (options_.worker_silence_s <= 0) return;
  for (size_t r = 1; r < workers_.size(); ++r) {
    WorkerRow& w = workers_[r];
    if (!w.joined || w.left || w.lost || now - w.last_heard <= options_.worker_silence_s) continue;
    const uint32_t running = scheduler_.running_tasks(static_cast<core::WorkerId>(r));
    const std::string who = "worker " + std::to_string(r) + " on " + w.host;
    begin_stop(true, who + " was lost");
    w.lost = true;
    ++lost_;
    log_.error(who + " was lost: no word from it for " +
               std::to_string(static_cast<int>(now - w.last_heard)) + " s; its " + std::to_string(running) +
               " running task(s) count a crash on resume and run again");
  }
}

CancelSummary Hub::cancel(std::span<const TaskIndex> rows, double grace_s) {
  CancelSummary sum;
  std::vector<std::vector<TaskIndex>> tell(workers_.size());
  const uint64_t skipped_before = scheduler_.counts()[static_cast<size_t>(TaskState::skipped)];
  for (TaskIndex t : rows) {
    if (t >= table_.size()) continue;
    const TaskState was = table_.state[t];
    if (core::is_final(was) || table_.is_barrier(t)) {
      ++sum.final;
      continue;
    }
    const auto worker = scheduler_.cancel(t);
    if (!worker) {
      ++sum.waiting;
      continue;
    }
    ++(was == TaskState::running ? sum.running : sum.queued);
    if (*worker < tell.size()) tell[*worker].push_back(t);
  }
  sum.skipped = scheduler_.counts()[static_cast<size_t>(TaskState::skipped)] - skipped_before;
  for (size_t r = 1; r < tell.size(); ++r)
    if (!tell[r].empty() && !workers_[r].left)
      net_.send(static_cast<int>(r), MessageKind::cancel, core::encode(core::Cancel{grace_s, tell[r]}));
  record_finalized();  // journalled now: the cancel survives a crash from here on
  log_.info("cancelled " + std::to_string(sum.waiting + sum.queued + sum.running) +
            " task(s): " + std::to_string(sum.waiting) + " not started, " + std::to_string(sum.queued) +
            " queued, " + std::to_string(sum.running) + " running (TERM, KILL after " +
            core::format_duration(static_cast<uint32_t>(grace_s)) + "); " + std::to_string(sum.skipped) +
            " dependant(s) skipped" +
            (sum.final ? "; " + std::to_string(sum.final) + " had ended already" : std::string()));
  return sum;
}

void Hub::drain(std::string_view why) {
  if (drained_ || interrupted_) return;
  drained_ = true;
  log_.warn("draining: " + std::string(why) +
            "; no task starts any more, running tasks finish, then the state is saved");
  begin_stop(false, why);
}

void Hub::on_stop_signal(int sig, std::string_view who) {
  const std::string what = std::string(who) + " received " + exec::signal_name(sig);
  // Under --drain only a second signal to the hub's own process ends the running tasks: a worker
  // rank's report is the same signal (mpirun and srun signal every rank).
  const bool second = who == "the hub" && signals_seen_ >= 2;
  if (options_.drain_on_signal && !second) {
    drain(what + " (--drain; a second signal ends the running tasks)");
    return;
  }
  const bool first = !interrupted_;
  begin_stop(true, what);
  if (first && interrupted_ && who == "the hub")
    log_.info(
        "the running tasks get TERM, then KILL after the grace period (--grace); another signal to "
        "their workers kills them at once");
}

int Hub::exit_code() const {
  if (interrupted_) return 3;
  const auto& c = scheduler_.counts();
  uint64_t final_count = 0;
  for (size_t s = 0; s < core::kTaskStateCount; ++s)
    if (core::is_final(static_cast<TaskState>(s))) final_count += c[s];
  if (final_count < scheduler_.task_count()) return drained_ ? 3 : 1;  // drained, or --fail-fast
  // Every task ended. Cancelled ones, and those skipped only because of a cancel, are what the user
  // asked for: only a failure (and what it skipped) makes the run's code 1.
  return c[static_cast<size_t>(TaskState::failed)] == 0 ? 0 : 1;
}

void Hub::draw_progress(double now, bool last) {
  const auto& c = scheduler_.counts();
  auto n = [&](TaskState st) { return c[static_cast<size_t>(st)]; };
  const double elapsed = std::max(1e-9, now - start_mono_);
  const double rate = static_cast<double>(finished_this_run_) / elapsed;
  uint64_t final_count = 0;
  for (size_t s = 0; s < core::kTaskStateCount; ++s)
    if (core::is_final(static_cast<TaskState>(s))) final_count += c[s];
  const uint64_t left = scheduler_.task_count() - final_count;
  char line[256];
  std::snprintf(line, sizeof line,
                "mpiq: %llu/%llu done, %llu failed, %llu skipped, %llu running, %.1f tasks/s",
                static_cast<unsigned long long>(n(TaskState::done)),
                static_cast<unsigned long long>(scheduler_.task_count()),
                static_cast<unsigned long long>(n(TaskState::failed)),
                static_cast<unsigned long long>(n(TaskState::skipped)),
                static_cast<unsigned long long>(n(TaskState::running)), rate);
  std::string text = line;
  if (rate > 0 && left > 0) text += ", eta " + std::to_string(static_cast<long long>(left / rate)) + " s";
  if (options_.progress_redraw) {
    // \r and erase-to-end-of-line redraw the same line; the last draw ends it.
    std::fprintf(stderr, "\r%s\033[K%s", text.c_str(), last ? "\n" : "");
  } else {
    // A pipe or a file (mpirun, srun, a Slurm .out file): whole lines, stamped like the log's.
    char stamp[32];
    const std::time_t t = std::time(nullptr);
    std::tm tm;
    localtime_r(&t, &tm);
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    std::fprintf(stderr, "[%s] %s\n", stamp, text.c_str());
  }
  std::fflush(stderr);
}

void Hub::timers(double now) {
  if (options_.progress && now >= next_progress_) {
    if (next_progress_ > 0 || options_.progress_redraw) draw_progress(now, false);  // no line at 0 s
    next_progress_ = now + (options_.progress_redraw ? 1.0 : std::max(1.0, options_.progress_interval_s));
  }
  if (!recorder_) return;
  if (options_.checkpoint_interval_s > 0 && now >= next_checkpoint_) {
    recording([&] { recorder_->snapshot(table_); });
    next_checkpoint_ = now + options_.checkpoint_interval_s;
  }
  if (options_.status_interval_s > 0 && now >= next_status_) {
    recording([&] { recorder_->status(status_json("running")); });
    next_status_ = now + options_.status_interval_s;
  }
}

int Hub::run() {
  start_wall_ = exec::wall_now();
  start_mono_ = exec::mono_now();
  next_status_ = start_mono_;
  next_checkpoint_ = start_mono_ + options_.checkpoint_interval_s;
  record_finalized();  // barriers passed at load, skips settled from a resumed state
  record_changed();    // crashes counted at load

  int code = -1;
  const bool ready = wait_for_workers();
  if (ready) start_nodes();
  if (!ready) {
    begin_stop(true, exec::signal_name(exec::stop_signal()) + " before the workers were ready");
  } else if (auto bad = scheduler_.unplaceable(5); !bad.empty()) {
    uint32_t max_cores = 0, max_gpus = 0;
    for (const WorkerRow& w : workers_)
      if (w.joined) {
        max_cores = std::max(max_cores, w.cores);
        max_gpus = std::max(max_gpus, w.gpu_count);
      }
    uint64_t max_mem = 0;
    for (const WorkerRow& w : workers_)
      if (w.joined) max_mem = std::max(max_mem, w.mem_kb);
    for (TaskIndex t : bad)
      log_.error("task " + table_.label(t) + " asks for " + core::plural(table_.cores[t], "core") + " and " +
                 core::plural(table_.gpus[t], "GPU") +
                 (table_.mem_kb[t] ? " and " + core::format_memory(table_.mem_kb[t]) + " of memory"
                                   : std::string()) +
                 ", but the largest worker has " + core::plural(max_cores, "core") + " and " +
                 core::plural(max_gpus, "GPU") +
                 (table_.mem_kb[t] ? ", the largest node " + core::format_memory(max_mem) + " for tasks"
                                   : std::string()) +
                 " (see --worker-cores, or run fewer ranks per node)");
    code = 2;
    begin_stop(false, "");
  }

  // After traffic the hub looks again at once, then after 100 us, 200 us, ... (not 20 us, 40 us, ...):
  // the workers' prefetched queues cover that, and on a node where the hub shares cores with tasks
  // each wake-up is taken from them (bench/why.md).
  exec::Backoff backoff(1'000'000, 10'000'000, 100'000'000, kHubFirstSleepNs);
  while (byes_ + lost_ + 1 < workers_.size()) {
    bool traffic = false;
    // The signal is looked at before the reports: those it caused must already count as a stop's.
    if (!interrupted_ && exec::stop_signal_count() > signals_seen_) {
      signals_seen_ = exec::stop_signal_count();
      on_stop_signal(exec::stop_signal(), "the hub");
    }
    transport::Message m;
    for (int i = 0; i < 4096 && net_.poll(m); ++i) {  // bounded: timers and dispatch still get their turn
      handle(m);
      traffic = true;
    }
    // Starts are durable before this hub sends anything: a send to a worker that a task has just
    // killed ends this process under Open MPI (docs/design.md §3, core/scheduler.hpp).
    record_changed();
    // The inbox journals what it takes (add_tasks): a file whose tasks found the disk full stays in the
    // inbox, and the run stops.
    if (observer_ && !stop_sent_) recording([&] { observer_->poll(*this); });
    if (!stop_sent_ && options_.deadline > 0) scheduler_.set_time_left(options_.deadline - exec::mono_now());
    if (!stop_sent_) send_dispatch();
    record_finalized();
    const double now = exec::mono_now();
    heartbeats(now);
    if (!interrupted_ && options_.deadline > 0 && now >= options_.deadline)
      begin_stop(true, "the time limit is near");
    if (!stop_sent_ && options_.deadline > 0 && now >= next_time_check_) {
      // Time-aware dispatch held back every task that is left: stop now rather than idle to the limit.
      next_time_check_ = now + 0.1;
      if (scheduler_.only_time_held())
        begin_stop(true, std::to_string(scheduler_.time_held()) + " task(s) left cannot finish in the " +
                             std::to_string(static_cast<long long>(options_.deadline - now)) +
                             " s left before the time limit");
    }
    if (!stop_sent_ &&
        ((scheduler_.finished() && !(observer_ && observer_->keeps_open())) || scheduler_.dispatch_stopped()))
      begin_stop(false, "");  // all final, or fail-fast: running tasks finish, queues are dropped
    timers(now);
    net_.progress();
    if (traffic) backoff.reset();
    const int64_t ns = backoff.next();
    if (ns > 0) usleep(static_cast<useconds_t>(ns / 1000));
  }
  while (!net_.progress()) usleep(100);
  scheduler_.recall_unstarted();
  record_finalized();
  record_changed();

  if (code < 0) code = exit_code();
  if (options_.progress && options_.progress_redraw) draw_progress(exec::mono_now(), true);
  if (recorder_) {
    // With the disk full these may fail again: the journal and the last checkpoint still hold a
    // consistent state (what the journal could not write reruns), and the stop was said already.
    recording([&] { recorder_->snapshot(table_); });
    if (disk_full_ && code != 2) code = 3;
    recording([&] { recorder_->status(status_json(code == 3 ? "stopped" : "finished", code)); });
  }
  return code;
}

std::string Hub::status_json(std::string_view state, int exit_code) const {
  using nlohmann::json;
  const auto& c = scheduler_.counts();
  const double now = exec::wall_now();
  const double elapsed = std::max(1e-9, now - start_wall_);
  const double rate = static_cast<double>(finished_this_run_) / elapsed;
  uint64_t final_count = 0;
  for (size_t s = 0; s < core::kTaskStateCount; ++s)
    if (core::is_final(static_cast<TaskState>(s))) final_count += c[s];
  const uint64_t remaining = scheduler_.task_count() - final_count;

  json counts = json::object();
  for (size_t s = 0; s < core::kTaskStateCount; ++s) counts[std::string(core::kTaskStateNames[s])] = c[s];
  json workers = json::array();
  // The workers grouped by node, in the order their nodes first appear (docs/design.md §12).
  struct NodeRow {
    std::string host;
    uint32_t workers = 0, cores = 0, gpus = 0, lost = 0, running = 0;
    uint64_t done = 0;
    double busy_s = 0;
    uint32_t memory_node = 0;  // the scheduler's number of the node
  };
  std::vector<NodeRow> nodes;
  for (const WorkerRow& w : workers_) {
    if (w.rank == 0 || !w.joined) continue;
    const auto id = static_cast<core::WorkerId>(w.rank);
    auto node = std::find_if(nodes.begin(), nodes.end(), [&](const NodeRow& n) { return n.host == w.host; });
    if (node == nodes.end()) node = nodes.insert(nodes.end(), NodeRow{w.host});
    node->memory_node = w.node;
    ++node->workers;
    node->cores += w.cores;
    node->gpus += w.gpu_count;
    node->lost += w.lost ? 1 : 0;
    node->running += scheduler_.running_tasks(id);
    node->done += w.done;
    node->busy_s += w.busy_s;
    workers.push_back(
        {{"rank", w.rank},
         {"host", w.host},
         {"lost", w.lost},
         {"cpus", w.cpus},
         {"gpus", w.gpus},
         {"running", scheduler_.running_tasks(id)},
         {"queued", scheduler_.held_tasks(id) - scheduler_.running_tasks(id)},
         {"done", w.done},
         {"busy", elapsed > 0 ? std::min(1.0, w.busy_s / elapsed / std::max(1u, w.cores)) : 0.0}});
  }
  json node_rows = json::array();
  for (const NodeRow& n : nodes) {
    node_rows.push_back(
        {{"host", n.host},
         {"workers", n.workers},
         {"cores", n.cores},
         {"gpus", n.gpus},
         {"running", n.running},
         {"done", n.done},
         {"lost", n.lost},
         {"busy", elapsed > 0 ? std::min(1.0, n.busy_s / elapsed / std::max(1u, n.cores)) : 0.0}});
    // The memory the node's tasks may ask for (mem=) and what its assigned and running tasks reserve.
    const core::Scheduler::NodeMemory memory = scheduler_.node_memory(n.memory_node);
    node_rows.back()["mem_kb"] = memory.budget_kb;
    node_rows.back()["mem_reserved_kb"] = memory.reserved_kb;
    const auto state = std::find_if(nodes_.begin(), nodes_.end(), [&](const NodeState& x) { return x.host == n.host; });
    if (options_.pernode.any() && state != nodes_.end()) {
      json& row = node_rows.back();
      row["index"] = state - nodes_.begin();
      if (!options_.pernode.start.empty()) row["pernode_start"] = to_string(state->start);
      if (!state->start_why.empty()) row["pernode_start_why"] = state->start_why;
      if (!options_.pernode.stop.empty()) row["pernode_stop"] = to_string(state->stop);
      if (!state->stop_why.empty()) row["pernode_stop_why"] = state->stop_why;
    }
  }
  // The tasks on workers now, read from the state column at this instant, so they agree with the
  // counts and the per-worker rows above (at most kStatusTaskRows of each; the counts say how many).
  json running = json::array(), queued = json::array();
  for_each_in_state(table_, TaskState::running, [&](TaskIndex t) {
    running.push_back({{"id", table_.id[t]},
                       {"name", table_.name[t]},
                       {"rank", table_.worker_rank[t]},
                       {"attempt", table_.attempts[t]},
                       {"started", std::round(table_.start_time[t] * 10) / 10}});
    return running.size() < kStatusTaskRows;
  });
  for_each_in_state(table_, TaskState::assigned, [&](TaskIndex t) {
    queued.push_back({{"id", table_.id[t]}, {"rank", table_.worker_rank[t]}});
    return queued.size() < kStatusTaskRows;
  });
  json failures = json::array();
  const size_t first = failures_.size() > 10 ? failures_.size() - 10 : 0;
  for (size_t i = first; i < failures_.size(); ++i) {
    const TaskIndex t = failures_[i];
    failures.push_back({{"id", table_.id[t]},
                        {"task", table_.label(t)},
                        {"name", table_.name[t]},
                        {"exit_code", table_.exit_code[t]},
                        {"signal", table_.signal[t]},
                        {"attempts", table_.attempts[t]},
                        {"worker_rank", table_.worker_rank[t]},
                        {"why", core::describe_end(table_, t)},
                        {"stderr_tail", std::string(core::stderr_tail(table_, t))},
                        {"stderr", output_of(t, true)}});
  }
  const auto& st = scheduler_.stats();
  json doc = {{"state", state},
              {"updated", iso8601(now)},
              {"started", iso8601(start_wall_)},
              {"total", scheduler_.task_count()},
              {"counts", counts},
              {"rate", std::round(rate * 100) / 100},
              // An estimate only while the run goes: a stopped or finished run has none.
              {"eta_s", state == "running" && rate > 0 && remaining > 0
                            ? json(std::round(static_cast<double>(remaining) / rate))
                            : json(nullptr)},
              {"elapsed_s", std::round(elapsed * 10) / 10},
              {"hub", {{"host", options_.host}, {"pid", static_cast<int64_t>(getpid())}}},
              {"output",
               {{"mode", options_.task_output == core::TaskOutput::stream  ? "stream"
                         : options_.task_output == core::TaskOutput::files ? "files"
                                                                           : "none"},
                {"dir", options_.out_dir}}},
              {"nodes", node_rows},
              {"workers", workers},
              {"running_tasks", running},
              {"queued_tasks", queued},
              {"recent_failures", failures},
              {"stolen", st.tasks_stolen},
              {"retries", st.retries},
              {"dispatch", interrupted_ ? "stopped"
                           : drained_   ? "draining"
                           : stop_sent_ ? "ended"
                                        : "on"},
              {"time_held", scheduler_.time_held()},
              {"exit_code", exit_code >= 0 ? json(exit_code) : json(nullptr)}};
  if (options_.deadline > 0)
    doc["time_left_s"] = std::max(0.0, std::round(options_.deadline - exec::mono_now()));
  if (options_.pernode.any()) {
    json pernode = json::object();
    for (const auto* c : {&options_.pernode.start, &options_.pernode.stop})
      if (!c->empty())
        pernode[c == &options_.pernode.start ? "start" : "stop"] = {{"line", c->line}, {"command", c->command}};
    doc["pernode"] = pernode;
  }
  if (!options_.slurm_job_ids.empty())
    doc["slurm"] = {{"job_id", options_.slurm_job_ids.back()},
                    {"job_ids", options_.slurm_job_ids},
                    {"nodelist", options_.slurm_nodelist}};
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string Hub::summary() const {
  const auto& c = scheduler_.counts();
  const double elapsed = exec::wall_now() - start_wall_;
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(1);
  s << "mpiq: " << scheduler_.task_count() << " tasks, " << finished_this_run_ << " finished in this run in "
    << elapsed << " s";
  s.precision(elapsed > 0 && finished_this_run_ / elapsed < 10 ? 2 : 0);
  if (elapsed > 0) s << " (" << static_cast<double>(finished_this_run_) / elapsed << " tasks/s)";
  s << "\n";
  s << "  ";
  for (size_t i = 0; i < core::kTaskStateCount; ++i)
    s << core::kTaskStateNames[i] << " " << c[i] << (i + 1 < core::kTaskStateCount ? "  " : "\n");
  for (const NodeState& n : nodes_) {
    if (n.start == NodeState::Step::failed && !n.start_why.empty())
      s << "  node " << n.host << ": the pernode start command failed (" << n.start_why << ")\n";
    if (n.stop == NodeState::Step::failed && !n.stop_why.empty())
      s << "  node " << n.host << ": the pernode stop command failed (" << n.stop_why << ")\n";
  }
  if (!failures_.empty()) {
    s << "  failed tasks (" << failures_.size() << "):\n";
    for (size_t i = 0; i < failures_.size() && i < options_.summary_failures; ++i) {
      const TaskIndex t = failures_[i];
      s << "    task " << table_.label(t);
      if (!table_.name[t].empty()) s << " (" << table_.name[t] << ")";
      s << ": " << core::describe_end(table_, t);
      if (!table_.is_function(t)) s << "; stderr: " << output_of(t, true);
      s << "\n";
      // The end of its stderr, a few lines, as disBatch's snippets.
      s << core::indent_lines(core::stderr_tail(table_, t), "      | ");
    }
    if (failures_.size() > options_.summary_failures)
      s << "    ... and " << failures_.size() - options_.summary_failures
        << " more (mpiq status --tasks failed)\n";
  }
  return s.str();
}

}  // namespace mpiq::hub
