#include "core/scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <tuple>
#include <utility>

namespace mpiq::core {

namespace {
// How many ready tasks one worker may pass over (because they do not fit its free room) before the
// scheduler stops looking for that worker in this round. Bounds the cost of a head-of-line task that
// is too large for the worker at hand.
constexpr size_t kScanLimit = 64;
}  // namespace

Scheduler::Scheduler(TaskTable& table, SchedulerOptions options)
    : table_(table), options_(options), dependants_(dependants(table)) {
  const size_t n = table_.size();
  table_.init_runtime_columns();
  critical_path_ = critical_path(table_, dependants_);
  deps_left_.assign(n, 0);
  on_worker_.assign(n, 0);

  late_head_.assign(n, kNoEdge);
  std::vector<TaskIndex> charged;      // counted a crash just now
  std::vector<TaskIndex> crashed_out;  // lost their worker crash_limit times: they fail now
  for (TaskIndex t = 0; t < n; ++t) {
    if (!table_.is_barrier(t)) ++command_tasks_;
    if (table_.is_function(t)) ++function_rows_;
    TaskState s = table_.state[t];
    if (s == TaskState::running) {
      // The try its lost worker ran is an earlier attempt now; when it ended is not known.
      earlier_.push_back({t, table_.attempts[t], table_.worker_rank[t], -1, 0, AttemptEnd::lost,
                          table_.start_time[t], 0, 0});
      if (table_.attempts[t] > 0) --table_.attempts[t];  // not counted: a crash is
      ++table_.crashes[t];
      charged.push_back(t);
    }
    if (!is_final(s) && options_.crash_limit > 0 && table_.crashes[t] >= options_.crash_limit &&
        !table_.is_barrier(t)) {
      s = TaskState::failed;
      table_.result[t] = "mpiq: its worker was lost " + std::to_string(table_.crashes[t]) + " times\n";
      crashed_out.push_back(t);
    }
    if (!is_final(s)) s = TaskState::waiting;
    table_.state[t] = s;
    if (!table_.is_barrier(t)) ++counts_[static_cast<size_t>(s)];
    if (is_final(s)) ++final_count_;
  }
  for (TaskIndex t = 0; t < n; ++t) {
    bool blocked = false;  // settled by skip_dependants below
    for (uint64_t e = table_.dep_offsets[t]; e < table_.dep_offsets[t + 1]; ++e)
      count_dependency(t, table_.deps[e], blocked);
  }
  // A resumed run may hold failures whose dependants were not yet marked (a crash between the two).
  // Their ends are counted above: only what this skips now releases an after-any barrier.
  for (TaskIndex t = 0; t < n; ++t)
    if (table_.state[t] == TaskState::failed || table_.state[t] == TaskState::skipped ||
        table_.state[t] == TaskState::cancelled)
      skip_dependants(t, false);
  for (TaskIndex t = 0; t < n; ++t)
    if (table_.state[t] == TaskState::waiting && deps_left_[t] == 0) make_ready(t);
  finalized_.clear();  // only changes made during the run are news for the journal
  // ... and the failures the crash limit made just now are such news (with the skips they caused,
  // which skip_dependants above already settled: journalled again, they change nothing).
  for (TaskIndex t : crashed_out) {
    finalized_.push_back(t);
    for_each_dependant(t, [&](TaskIndex d) {
      if (table_.state[d] == TaskState::skipped) finalized_.push_back(d);
    });
  }
  // The crashes counted here must be durable before the run can end again: the run directory's
  // first snapshot was written before this table was loaded.
  for (TaskIndex t : charged)
    if (!is_final(table_.state[t])) changed_.push_back(t);
}

std::vector<EarlierAttempt> Scheduler::take_earlier_attempts() {
  std::vector<EarlierAttempt> attempts;
  attempts.swap(earlier_);
  return attempts;
}

std::vector<TaskIndex> Scheduler::take_changed() {
  std::vector<TaskIndex> rows;
  rows.swap(changed_);
  return rows;
}

Scheduler::Worker& Scheduler::add_worker_slot(WorkerId w) {
  workers_.resize(w + 1);
  return workers_[w];
}

void Scheduler::add_worker(WorkerId id, uint32_t cores, uint32_t gpus, bool open) {
  Worker& w = worker(id);
  w.joined = true;
  if (options_.function_window) w.window = options_.function_window;
  w.cores = cores;
  w.gpus = gpus;
  if (open) open_worker(id);
}

void Scheduler::set_worker_node(WorkerId id, uint32_t node, uint64_t mem_kb) {
  Worker& w = worker(id);
  if (node >= nodes_.size()) nodes_.resize(node + 1);
  if (w.node != kNoNode) std::erase(nodes_[w.node].workers, id);
  w.node = node;
  nodes_[node].budget_kb = mem_kb;
  nodes_[node].workers.push_back(id);
}

Scheduler::NodeMemory Scheduler::node_memory(uint32_t node) const {
  if (node >= nodes_.size()) return {};
  return {nodes_[node].budget_kb, nodes_[node].reserved_kb};
}

// Whether `t`'s memory could ever be reserved on `w`'s node (everything else there ended).
bool Scheduler::memory_fits(const Worker& w, TaskIndex t) const {
  const uint64_t m = table_.mem_kb[t];
  if (m == 0 || w.node == kNoNode) return true;
  const Node& n = nodes_[w.node];
  return n.budget_kb == 0 || m <= n.budget_kb;
}

// Whether `t`'s memory is free on `w`'s node now. The check lives here, in the hub's scheduler, and
// not in the workers: only the hub sees every worker of a node, and a worker given a task must be
// able to start it without asking (prefetch), so what it is given must already be reserved.
bool Scheduler::memory_free(const Worker& w, TaskIndex t) const {
  const uint64_t m = table_.mem_kb[t];
  if (m == 0 || w.node == kNoNode) return true;
  const Node& n = nodes_[w.node];
  return n.budget_kb == 0 || n.reserved_kb + m <= n.budget_kb;
}

void Scheduler::open_worker(WorkerId id) {
  Worker& w = worker(id);
  if (!w.joined || w.open) return;
  w.open = true;
  if (w.held == 0) ++idle_workers_;
  mark_hungry(id);
}

void Scheduler::remove_worker(WorkerId id) {
  Worker& w = worker(id);
  if (!w.joined || w.held != 0) return;
  if (w.open) --idle_workers_;
  w.joined = false;
  w.open = false;
  if (w.hungry) --hungry_workers_;
  w.hungry = false;  // its lane entries are stale now
}

std::vector<TaskIndex> Scheduler::fail_unplaceable(std::string_view why) {
  std::vector<TaskIndex> failed;
  for (TaskIndex t = 0; t < table_.size(); ++t) {
    if (table_.is_barrier(t) || is_final(table_.state[t]) || on_worker_[t] != 0 || fits_some_worker(t)) continue;
    table_.exit_code[t] = -1;
    // A command task's result is the end of its stderr, where a reason is an `mpiq:` line.
    table_.result[t] = table_.is_function(t) ? std::string(why) : "mpiq: " + std::string(why) + "\n";
    finalize(t, TaskState::failed);
    failed.push_back(t);
  }
  return failed;
}

std::vector<TaskIndex> Scheduler::unplaceable(size_t limit) const {
  // Distinct (cores, gpus, node budget) of joined workers; a budget of 0 (no limit) as the largest.
  std::vector<std::tuple<uint32_t, uint32_t, uint64_t>> kinds;
  for (const Worker& w : workers_) {
    if (!w.joined) continue;
    uint64_t budget = w.node == kNoNode ? 0 : nodes_[w.node].budget_kb;
    if (budget == 0) budget = UINT64_MAX;
    const std::tuple k{w.cores, w.gpus, budget};
    if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
  }
  std::vector<TaskIndex> out;
  for (TaskIndex t = 0; t < table_.size() && out.size() < limit; ++t) {
    if (table_.is_barrier(t) || is_final(table_.state[t])) continue;
    bool fits = std::any_of(kinds.begin(), kinds.end(), [&](const auto& k) {
      return table_.cores[t] <= std::get<0>(k) && table_.gpus[t] <= std::get<1>(k) &&
             table_.mem_kb[t] <= std::get<2>(k);
    });
    if (!fits) out.push_back(t);
  }
  return out;
}

void Scheduler::set_state(TaskIndex t, TaskState s) {
  const TaskState old = table_.state[t];
  if (!table_.is_barrier(t)) {
    --counts_[static_cast<size_t>(old)];
    ++counts_[static_cast<size_t>(s)];
  }
  if ((old == TaskState::ready) != (s == TaskState::ready)) {
    uint64_t& ready = table_.is_function(t) ? ready_functions_ : ready_commands_;
    if (s == TaskState::ready)
      ++ready;
    else
      --ready;
  }
  table_.state[t] = s;
}

template <class F>
void Scheduler::for_each_dependant(TaskIndex t, F&& f) const {
  if (static_cast<size_t>(t) + 1 < dependants_.offsets.size())
    for (uint64_t e = dependants_.offsets[t]; e < dependants_.offsets[t + 1]; ++e) f(dependants_.edges[e]);
  for (uint32_t e = late_head_[t]; e != kNoEdge; e = late_next_[e]) f(late_to_[e]);
}

void Scheduler::add_dependant(TaskIndex of, TaskIndex dependant) {
  late_to_.push_back(dependant);
  late_next_.push_back(late_head_[of]);
  late_head_[of] = static_cast<uint32_t>(late_to_.size() - 1);
}

bool Scheduler::fits_some_worker(TaskIndex t) const {
  for (const Worker& w : workers_)
    if (w.joined && table_.cores[t] <= w.cores && table_.gpus[t] <= w.gpus && memory_fits(w, t)) return true;
  return false;
}

void Scheduler::add_tasks(TaskIndex first_row) {
  table_.init_runtime_columns();
  const size_t n = table_.size();
  critical_path_.resize(n, 0);
  deps_left_.resize(n, 0);
  on_worker_.resize(n, 0);
  late_head_.resize(n, kNoEdge);
  const bool any_worker =
      std::any_of(workers_.begin(), workers_.end(), [](const Worker& w) { return w.joined; });
  for (TaskIndex t = first_row; t < n; ++t) {
    const bool barrier = table_.is_barrier(t);
    table_.state[t] = TaskState::waiting;
    if (!barrier) {
      ++command_tasks_;
      ++counts_[static_cast<size_t>(TaskState::waiting)];
    }
    if (table_.is_function(t)) ++function_rows_;
    critical_path_[t] = barrier ? 0 : 1;
    bool blocked = false;  // a dependency failed or was skipped
    for (uint64_t e = table_.dep_offsets[t]; e < table_.dep_offsets[t + 1]; ++e) {
      const TaskIndex d = table_.deps[e];
      add_dependant(d, t);
      count_dependency(t, d, blocked);
      critical_path_[d] = std::max(critical_path_[d], critical_path_[t] + (table_.is_barrier(d) ? 0 : 1));
    }
    if (blocked) {
      set_state(t, TaskState::skipped);
      ++final_count_;
      finalized_.push_back(t);
    } else if (!barrier && any_worker && !fits_some_worker(t)) {
      table_.exit_code[t] = -1;
      if (table_.is_function(t))
        table_.result[t] = "the task asks for more cores or GPUs than any worker has";
      finalize(t, TaskState::failed);
    } else if (deps_left_[t] == 0) {
      make_ready(t);
    }
  }
}

void Scheduler::make_ready(TaskIndex t) {
  if (table_.is_barrier(t)) {  // nothing to run: passing it is done
    finalize(t, TaskState::done);
    return;
  }
  set_state(t, TaskState::ready);
  ready_.push({table_.priority[t], critical_path_[t], t});
  ++ready_pushes_;
}

void Scheduler::finalize(TaskIndex t, TaskState s) {
  set_state(t, s);
  ++final_count_;
  finalized_.push_back(t);
  if (s == TaskState::done) {
    release_dependants(t);
  } else {
    skip_dependants(t);
    if (s == TaskState::failed && options_.fail_fast) stopped_ = true;
  }
}

void Scheduler::release_dependants(TaskIndex t) {
  for_each_dependant(t, [&](TaskIndex d) {
    if (--deps_left_[d] == 0 && table_.state[d] == TaskState::waiting) make_ready(d);
  });
}

void Scheduler::count_dependency(TaskIndex t, TaskIndex d, bool& blocked) {
  const TaskState ds = table_.state[d];
  if (ds == TaskState::done) return;
  const bool ended = ds == TaskState::failed || ds == TaskState::skipped || ds == TaskState::cancelled;
  if (ended && table_.is_after_any(t) && !table_.is_barrier(d)) return;  // its end is all t waits for
  if (ended) blocked = true;
  ++deps_left_[t];
}

void Scheduler::skip_dependants(TaskIndex t, bool release) {
  // Iterative: a failure at the head of a million-task chain must not recurse a million deep.
  std::vector<TaskIndex> stack{t};
  // Barriers an end released: made ready once the skipping is over, so that what they release is not
  // skipped by this walk.
  std::vector<TaskIndex> released;
  while (!stack.empty()) {
    TaskIndex u = stack.back();
    stack.pop_back();
    const bool counts = release || u != t;
    for_each_dependant(u, [&](TaskIndex d) {
      // Only a waiting task can depend on an unfinished one; anything else was settled earlier.
      if (table_.state[d] != TaskState::waiting) return;
      if (table_.is_after_any(d) && !table_.is_barrier(u)) {
        if (counts && --deps_left_[d] == 0) released.push_back(d);
        return;
      }
      set_state(d, TaskState::skipped);
      ++final_count_;
      finalized_.push_back(d);
      stack.push_back(d);
    });
  }
  for (TaskIndex b : released)
    if (table_.state[b] == TaskState::waiting) make_ready(b);
}

bool Scheduler::has_room(const Worker& w, TaskIndex t) const {
  const uint32_t c = table_.cores[t], g = table_.gpus[t];
  if (c > w.cores || g > w.gpus || !memory_free(w, t)) return false;
  // A function task runs on the worker's task thread: its cores and GPUs only choose a worker large
  // enough; what limits how many it holds is its window.
  if (table_.is_function(t)) return w.held_functions < w.window;
  if (w.held == w.held_functions) return true;
  const uint32_t extra = table_.mem_kb[t] ? base_prefetch(w) : prefetch(w);
  return w.held_cores + c <= w.cores + extra && w.held_gpus + g <= 2 * w.gpus;
}

uint32_t Scheduler::base_prefetch(const Worker& w) const {
  return options_.prefetch ? options_.prefetch : std::max<uint32_t>(2, w.cores);
}

uint32_t Scheduler::prefetch(const Worker& w) const {
  return std::max(base_prefetch(w), w.deep_prefetch);
}

bool Scheduler::commands_full(const Worker& w) const {
  return w.held > w.held_functions && w.held_cores >= w.cores + prefetch(w);
}

bool Scheduler::functions_full(const Worker& w) const {
  return w.held_functions >= w.window;
}

// No room of either kind: hungry again when one of its tasks ends. Without function tasks in the
// table this is exactly "command room is full".
bool Scheduler::full(const Worker& w) const {
  return commands_full(w) && (function_rows_ == 0 || functions_full(w));
}

// Nothing more this worker can take from what is ready now, by kind.
bool Scheduler::no_more_for(const Worker& w) const {
  if (function_rows_ == 0) return commands_full(w);
  return (commands_full(w) || ready_commands_ == 0) && (functions_full(w) || ready_functions_ == 0);
}

void Scheduler::learn_duration(Worker& w, TaskIndex t, const TaskResult& r) {
  const double d = std::max(0.0, r.end_time - r.start_time);
  // A moving average over about the last 64 tasks: quick to follow a change of task size.
  const auto average = [d](double& seconds) { seconds = seconds < 0 ? d : seconds + (d - seconds) / 64; };
  if (!table_.is_function(t)) {
    // What did not run (a start that failed, a stop) says nothing of how long the tasks take, nor
    // does a result without its times.
    if (options_.prefetch || r.interrupted || r.spawn_failed || r.start_time <= 0 || r.end_time <= 0) return;
    average(w.command_seconds);
    const double want = w.cores * kCommandQueueSeconds / std::max(w.command_seconds, 1e-9);
    w.deep_prefetch = static_cast<uint32_t>(std::min(want, double{kMaxPrefetchPerCore} * w.cores));
    return;
  }
  if (options_.function_window) {
    w.window = options_.function_window;
    return;
  }
  average(w.task_seconds);
  const double want = kFunctionQueueSeconds / std::max(w.task_seconds, 1e-9);
  w.window = static_cast<uint32_t>(std::clamp(want, double{kMinFunctionWindow}, double{kMaxFunctionWindow}));
}

uint32_t Scheduler::function_window(WorkerId id) const {
  return id < workers_.size() ? workers_[id].window : kInitialFunctionWindow;
}

void Scheduler::mark_hungry(WorkerId id, bool front) {
  Worker& w = worker(id);
  if (!w.joined || !w.open || w.hungry) return;
  w.hungry = true;
  ++hungry_workers_;
  const HungryEntry e{id, ++w.hungry_gen};
  // Entries served through the other lane go stale; drop them before they outnumber the workers.
  const auto compact = [&](std::deque<HungryEntry>& lane) {
    if (lane.size() > 2 * workers_.size() + 1024)
      std::erase_if(lane, [&](const HungryEntry& x) { return !current(x); });
  };
  compact(hungry_);
  if (front) {
    hungry_.push_front(e);
  } else {
    hungry_.push_back(e);
  }
  if (w.held == 0) {
    compact(idle_lane_);
    idle_lane_.push_back(e);
  }
}

// The next hungry worker: from the idle lane first after a steal reply (until it has none), else in
// the order workers got room. False when no worker is hungry.
bool Scheduler::pop_hungry(WorkerId* id) {
  if (idle_first_) {
    while (!idle_lane_.empty() && !(current(idle_lane_.front()) && workers_[idle_lane_.front().id].held == 0))
      idle_lane_.pop_front();
    if (idle_lane_.empty()) {
      idle_first_ = false;
    } else {
      *id = idle_lane_.front().id;
      idle_lane_.pop_front();
      return true;
    }
  }
  while (!hungry_.empty() && !current(hungry_.front())) hungry_.pop_front();
  if (hungry_.empty()) return false;
  *id = hungry_.front().id;
  hungry_.pop_front();
  return true;
}

void Scheduler::unhold(WorkerId id, TaskIndex t) {
  Worker& w = worker(id);
  if (--w.held == 0) {
    ++idle_workers_;
    if (w.hungry) idle_lane_.push_back({id, w.hungry_gen});  // hungry already, idle now
  }
  if (table_.is_function(t)) {
    --w.held_functions;
  } else {
    w.held_cores -= table_.cores[t];
    w.held_gpus -= table_.gpus[t];
  }
  on_worker_[t] = 0;
  --in_flight_;
  mark_hungry(id);
  if (const uint64_t m = table_.mem_kb[t]; m != 0 && w.node != kNoNode) {
    Node& n = nodes_[w.node];
    n.reserved_kb -= m;
    // The memory is free for the node's other workers too: those parked for want of it look again.
    for (WorkerId other : n.workers) mark_hungry(other);
  }
}

void Scheduler::on_started(WorkerId id, TaskIndex t, double time) {
  if (t >= table_.size() || !on_worker_[t] || table_.state[t] != TaskState::assigned ||
      table_.worker_rank[t] != static_cast<int32_t>(id))
    return;  // not this worker's task: a stale or forged report changes nothing
  set_state(t, TaskState::running);
  on_worker_[t] = 2;  // running there (1: queued there), for a cancel that comes later
  ++table_.attempts[t];
  table_.start_time[t] = time;
  table_.end_time[t] = 0;
  ++worker(id).running;
  if (!table_.is_function(t)) changed_.push_back(t);
}

void Scheduler::on_finished(WorkerId id, TaskResult r) {
  const TaskIndex t = r.task;
  if (t >= table_.size() || !on_worker_[t] || table_.worker_rank[t] != static_cast<int32_t>(id)) return;
  if (table_.state[t] == TaskState::cancelled) {  // it ended as told (or before it was told)
    if (r.end_time > 0) table_.end_time[t] = r.end_time;
    release_cancelled(id, t);
    return;
  }
  if (table_.state[t] == TaskState::assigned) on_started(id, t, r.start_time);  // report lost its start
  if (table_.state[t] != TaskState::running) return;
  // Journalled at its start as running: an end that leaves it unfinished must be journalled too, or
  // a resume would take it for a crash.
  if (!table_.is_function(t) &&
      (r.interrupted || (!r.succeeded() && table_.attempts[t] <= table_.retries[t])))
    changed_.push_back(t);
  --worker(id).running;
  learn_duration(worker(id), t, r);
  unhold(id, t);
  if (r.interrupted || (!r.succeeded() && table_.attempts[t] <= table_.retries[t])) {
    // It runs again, and the row will hold that try: this one is an earlier attempt now.
    const AttemptEnd end = r.interrupted    ? AttemptEnd::stopped
                           : r.timed_out    ? AttemptEnd::timed_out
                           : r.spawn_failed ? AttemptEnd::start_failed
                                            : AttemptEnd::failed;
    earlier_.push_back({t, table_.attempts[t], static_cast<int32_t>(id), r.exit_code, r.signal, end,
                        r.start_time > 0 ? r.start_time : table_.start_time[t], r.end_time, r.max_rss_kb});
  }
  table_.exit_code[t] = r.exit_code;
  table_.signal[t] = r.signal;
  if (r.start_time > 0) table_.start_time[t] = r.start_time;
  table_.end_time[t] = r.end_time;
  table_.max_rss_kb[t] = r.max_rss_kb;
  if (r.interrupted) {  // the run is stopping: the task runs again on resume, this try not counted
    --table_.attempts[t];
    table_.exit_code[t] = -1;
    table_.signal[t] = 0;
    table_.end_time[t] = 0;
    make_ready(t);
  } else if (r.succeeded()) {
    if (table_.is_function(t))
      table_.result[t] = std::move(r.output);
    else
      learn_command_duration(r.end_time - r.start_time);
    finalize(t, TaskState::done);
  } else if (table_.attempts[t] <= table_.retries[t]) {
    ++stats_.retries;
    make_ready(t);
  } else {
    // A function task's error message, or the end of a command task's stderr.
    table_.result[t] = std::move(r.output);
    finalize(t, TaskState::failed);
  }
}

void Scheduler::on_returned(WorkerId id, std::span<const TaskIndex> tasks) {
  Worker& w = worker(id);
  if (w.steal_pending) {
    w.steal_pending = false;
    --pending_steals_;
  }
  for (TaskIndex t : tasks) {
    if (t < table_.size() && on_worker_[t] && table_.state[t] == TaskState::cancelled &&
        table_.worker_rank[t] == static_cast<int32_t>(id)) {
      release_cancelled(id, t);  // given back before the cancel reached the worker
      continue;
    }
    if (t >= table_.size() || !on_worker_[t] || table_.state[t] != TaskState::assigned ||
        table_.worker_rank[t] != static_cast<int32_t>(id))
      continue;
    unhold(id, t);
    make_ready(t);
    ++stats_.tasks_stolen;
    idle_first_ = true;
  }
  if (w.held > w.running) victims_.push({w.held - w.running, id});  // may be stolen from again
}

void Scheduler::dispatch(std::vector<Assignment>& assignments, std::vector<StealRequest>& steals) {
  for (Assignment& a : assignments) {
    a.tasks.clear();
    spare_lists_.push_back(std::move(a.tasks));
  }
  assignments.clear();
  if (stopped_) return;
  // Workers parked because nothing fitting was ready get another look once new tasks are ready.
  if (!parked_.empty() && parked_at_ != ready_pushes_) {
    for (WorkerId id : parked_) mark_hungry(id);
    parked_.clear();
  }
  // Stolen tasks are for the idle: after a steal reply they go first, ahead of workers that merely
  // have room (pop_hungry).
  std::vector<TaskIndex> aside;
  // Ready function tasks are shared among the workers hungry now: a burst (the tasks a finished task
  // released) that fits one worker's window would otherwise all go to the first one, and the others
  // would get theirs only by stealing, round trips later (a fan-out of 1,000 no-op tasks on 2 workers
  // ran at the speed of those round trips).
  const uint64_t function_share =
      hungry_workers_ > 1 ? (ready_functions_ + hungry_workers_ - 1) / hungry_workers_ : UINT64_MAX;
  WorkerId id = 0;
  while (!ready_.empty() && pop_hungry(&id)) {
    Worker& w = workers_[id];
    w.hungry = false;
    --hungry_workers_;
    Assignment* batch = nullptr;
    size_t misses = 0;
    uint64_t functions_taken = 0;
    const auto had_its_share = [&] {
      return function_rows_ != 0 && functions_taken >= function_share &&
             (commands_full(w) || ready_commands_ == 0);
    };
    while (!ready_.empty() && misses < kScanLimit && !no_more_for(w) && !had_its_share()) {
      const TaskIndex t = ready_.top().task;
      if (table_.state[t] != TaskState::ready) {  // stale entry
        ready_.pop();
        continue;
      }
      if (!has_room(w, t) || (table_.is_function(t) && functions_taken >= function_share)) {
        ready_.pop();
        aside.push_back(t);
        ++misses;
        continue;
      }
      if (time_left_ < std::numeric_limits<double>::infinity() && !fits_time(t)) {
        ready_.pop();
        time_held_.push_back(t);  // time only runs out: it never fits in this run again
        continue;
      }
      ready_.pop();
      if (!batch) {
        assignments.push_back({id, {}});
        if (!spare_lists_.empty()) {
          assignments.back().tasks = std::move(spare_lists_.back());
          spare_lists_.pop_back();
        }
        batch = &assignments.back();
        ++stats_.assigned_messages;
      }
      batch->tasks.push_back(t);
      set_state(t, TaskState::assigned);
      on_worker_[t] = 1;
      table_.worker_rank[t] = static_cast<int32_t>(id);
      if (w.held++ == 0) --idle_workers_;
      if (table_.is_function(t)) {
        ++w.held_functions;
        ++functions_taken;
      } else {
        w.held_cores += table_.cores[t];
        w.held_gpus += table_.gpus[t];
      }
      if (w.node != kNoNode) nodes_[w.node].reserved_kb += table_.mem_kb[t];
      ++in_flight_;
    }
    for (TaskIndex t : aside) ready_.push({table_.priority[t], critical_path_[t], t});
    if (batch) victims_.push({w.held - w.running, id});  // it holds more unstarted tasks now
    const bool passed_over = !aside.empty();
    aside.clear();
    if (full(w)) {
      // Hungry again when one of its tasks ends (unhold).
    } else if (passed_over || (!ready_.empty() && no_more_for(w))) {
      parked_.push_back(id);  // room, but nothing ready that fits it now
      parked_at_ = ready_pushes_;
    } else if (ready_.empty()) {
      mark_hungry(id, /*front=*/true);  // still has room: first in line when more work is ready
    }
  }
  if (options_.steal && ready_.empty()) plan_steals(steals);
}

void Scheduler::plan_steals(std::vector<StealRequest>& steals) {
  if (idle_workers_ <= pending_steals_) return;
  size_t wanted = idle_workers_ - pending_steals_;
  // Victims come from a max-heap of (unstarted tasks, worker) pushed whenever a worker's unstarted
  // count grows; entries go stale as workers start tasks, and are checked (and re-pushed with the
  // current count) when they surface. So a plan costs O(log W) per victim instead of a scan of every
  // worker on each dispatch, which made 100,000 simulated workers 70x slower than 10,000
  // (bench/sched_sim, profile: 84% in this function). A steal takes half of a victim's unstarted
  // tasks, the newest ones, so the victim keeps what it would start next.
  if (victims_.size() > 4 * workers_.size() + 1024) {  // bound the stale entries
    victims_ = {};
    for (WorkerId id = 0; id < workers_.size(); ++id)
      if (workers_[id].joined && workers_[id].held > workers_[id].running)
        victims_.push({workers_[id].held - workers_[id].running, id});
  }
  while (wanted > 0 && !victims_.empty()) {
    const auto [count, id] = victims_.top();
    victims_.pop();
    Worker& w = workers_[id];
    if (!w.joined || w.steal_pending) continue;  // re-pushed when its steal is answered
    const uint32_t unstarted = w.held - w.running;
    if (unstarted != count) {
      if (unstarted > 0) victims_.push({unstarted, id});
      continue;
    }
    if (unstarted == 0 || (unstarted == 1 && w.running == 0)) continue;  // about to start it itself
    w.steal_pending = true;
    ++pending_steals_;
    ++stats_.steal_requests;
    steals.push_back({id, (unstarted + 1) / 2});
    --wanted;
  }
}

void Scheduler::recall_unstarted() {
  for (TaskIndex t = 0; t < table_.size(); ++t) {
    if (table_.state[t] == TaskState::cancelled && on_worker_[t]) {
      release_cancelled(static_cast<WorkerId>(table_.worker_rank[t]), t);
      continue;
    }
    if (table_.state[t] != TaskState::assigned) continue;
    unhold(static_cast<WorkerId>(table_.worker_rank[t]), t);
    make_ready(t);
  }
}

std::optional<WorkerId> Scheduler::cancel(TaskIndex t) {
  if (t >= table_.size() || table_.is_barrier(t) || is_final(table_.state[t])) return std::nullopt;
  const bool held = on_worker_[t] != 0;
  finalize(t, TaskState::cancelled);
  if (!held) return std::nullopt;
  return static_cast<WorkerId>(table_.worker_rank[t]);
}

// A cancelled task left its worker (it ended, or was dropped or given back): its room is free again.
void Scheduler::release_cancelled(WorkerId id, TaskIndex t) {
  if (on_worker_[t] == 2) --worker(id).running;
  unhold(id, t);
}

size_t duration_bucket(double seconds) {
  // floor(2 log2 seconds) + 20 from the exponent and mantissa (seconds = m 2^e, m in [0.5, 1):
  // floor(2 log2 seconds) = 2e - 2, plus 1 when m >= 2^-1/2), instead of a log2 per finished task.
  if (!(seconds > 0)) return 0;  // NaN too
  if (!std::isfinite(seconds)) return kDurationBuckets - 1;
  int e = 0;
  const double m = std::frexp(seconds, &e);
  const int b = 2 * e - 2 + (m >= 1 / std::numbers::sqrt2 ? 1 : 0) + 20;
  return static_cast<size_t>(std::clamp(b, 0, static_cast<int>(kDurationBuckets) - 1));
}

void Scheduler::learn_command_duration(double seconds) {
  seconds = std::max(seconds, 0.0);
  ++duration_buckets_[duration_bucket(seconds)];
  ++duration_samples_;
  longest_duration_ = std::max(longest_duration_, seconds);
  durations_dirty_ = true;
}

bool Scheduler::fits_time(TaskIndex t) {
  if (table_.timeout_s[t] > 0 && table_.timeout_s[t] > time_left_) return false;
  if (duration_samples_ < kMinDurationSamples || longest_duration_ <= time_left_ || table_.is_function(t))
    return true;
  if (durations_dirty_) {
    // The lower edge of the bucket that holds the 10th percentile: 90% of the tasks done so far took
    // at least this long, so a task expected to take longer than the time left clearly does not fit.
    uint64_t seen = 0;
    for (size_t b = 0; b < duration_buckets_.size(); ++b) {
      seen += duration_buckets_[b];
      if (seen * 10 >= duration_samples_) {
        expected_floor_ = b == 0 ? 0 : std::exp2((static_cast<double>(b) - 20) / 2);
        break;
      }
    }
    durations_dirty_ = false;
  }
  return expected_floor_ <= time_left_;
}

size_t Scheduler::time_held() const {
  return static_cast<size_t>(std::count_if(time_held_.begin(), time_held_.end(),
                                           [&](TaskIndex t) { return table_.state[t] == TaskState::ready; }));
}

bool Scheduler::only_time_held() const {
  if (in_flight_ != 0 || stopped_ || time_held_.empty()) return false;
  const size_t held = time_held();
  return held > 0 && held == ready_commands_ + ready_functions_;
}

std::vector<TaskIndex> Scheduler::take_finalized() {
  std::vector<TaskIndex> out;
  out.swap(finalized_);
  return out;
}

uint32_t Scheduler::held_tasks(WorkerId id) const {
  return id < workers_.size() ? workers_[id].held : 0;
}
uint32_t Scheduler::running_tasks(WorkerId id) const {
  return id < workers_.size() ? workers_[id].running : 0;
}

}  // namespace mpiq::core
