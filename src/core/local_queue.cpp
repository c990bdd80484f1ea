#include "core/local_queue.hpp"

#include <algorithm>

namespace mpiq::core {

namespace {
// How deep into its queue a worker looks for a task that fits its free resources now. The queue is
// a few tasks deep (the hub's prefetch), so this only matters for odd mixes of requests.
constexpr size_t kLookAhead = 32;
}  // namespace

std::optional<LocalQueue::Next> LocalQueue::next() {
  const size_t n = std::min(queue_.size(), kLookAhead);
  for (size_t i = 0; i < n; ++i) {
    const TaskOrder& o = queue_[i];
    if (!pool_.fits_at_all(o.cores, o.gpus)) {
      Next out{std::move(queue_[i]), {}, false};
      queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(i));
      return out;
    }
    if (auto a = pool_.allocate(o.cores, o.gpus)) {
      Next out{std::move(queue_[i]), std::move(*a), true};
      queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(i));
      return out;
    }
  }
  return std::nullopt;
}

void LocalQueue::started(Next next, double now) {
  Running r;
  r.started = now;
  r.deadline = next.order.timeout_s ? now + next.order.timeout_s : 0;
  r.allocation = std::move(next.allocation);
  const TaskIndex t = next.order.task;
  r.order = std::move(next.order);
  running_[t] = std::move(r);
}

LocalQueue::Running LocalQueue::finished(TaskIndex task) {
  auto it = running_.find(task);
  Running r = std::move(it->second);
  running_.erase(it);
  pool_.release(r.allocation);
  return r;
}

std::vector<TaskIndex> LocalQueue::give_back(uint32_t count) {
  std::vector<TaskIndex> out;
  while (count-- > 0 && !queue_.empty()) {
    out.push_back(queue_.back().task);
    queue_.pop_back();
  }
  return out;
}

std::vector<TaskIndex> LocalQueue::drop_queue() {
  return give_back(static_cast<uint32_t>(queue_.size()));
}

std::vector<std::pair<TaskIndex, KillStep>> LocalQueue::due(double now) {
  std::vector<std::pair<TaskIndex, KillStep>> out;
  for (auto& [task, r] : running_) {
    if (r.kill_at > 0) {
      if (now >= r.kill_at) {
        out.emplace_back(task, KillStep::kill);
        r.kill_at = -1;  // KILL sent: nothing more to do but wait for the exit
      }
    } else if (r.kill_at == 0 && r.deadline > 0 && now >= r.deadline) {
      out.emplace_back(task, KillStep::terminate);
      r.timed_out = true;
      r.kill_at = now + grace_s_;
    }
  }
  return out;
}

std::vector<TaskIndex> LocalQueue::terminate_all(double now) {
  std::vector<TaskIndex> out;
  for (auto& [task, r] : running_) {
    if (r.kill_at != 0) continue;  // already on its way out
    out.push_back(task);
    r.kill_at = now + grace_s_;
  }
  return out;
}

std::vector<TaskIndex> LocalQueue::kill_all_now() {
  std::vector<TaskIndex> out;
  for (auto& [task, r] : running_) {
    if (r.kill_at < 0) continue;  // KILLed already
    out.push_back(task);
    r.kill_at = -1;
  }
  return out;
}

bool LocalQueue::remove_queued(TaskIndex task) {
  const auto it =
      std::find_if(queue_.begin(), queue_.end(), [&](const TaskOrder& o) { return o.task == task; });
  if (it == queue_.end()) return false;
  queue_.erase(it);
  return true;
}

bool LocalQueue::terminate(TaskIndex task, double now, double grace_s) {
  const auto it = running_.find(task);
  if (it == running_.end() || it->second.kill_at != 0) return false;
  it->second.cancelled = true;
  it->second.kill_at = now + grace_s;
  return true;
}

const LocalQueue::Running* LocalQueue::find(TaskIndex task) const {
  auto it = running_.find(task);
  return it == running_.end() ? nullptr : &it->second;
}

}  // namespace mpiq::core
