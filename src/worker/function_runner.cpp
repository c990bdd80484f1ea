#include "worker/function_runner.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <iostream>
#include <unordered_map>

#include "exec/clock.hpp"

namespace mpiq::worker {

namespace {
// A queued task, with its kind resolved to an index into FunctionSettings::kinds.
struct Job {
  core::TaskIndex task = 0;
  TaskId id = 0;
  uint32_t attempt = 0;
  uint32_t timeout_s = 0;
  int kind = -1;  // -1: not registered on this rank
  bool report_start = false;
  std::string payload;
};

// Results wait until this many are ready (or the queue runs dry, or kWakeSeconds pass) before the
// loop thread is woken: fewer, larger reports.
constexpr size_t kWakeResults = 4096;
constexpr double kWakeSeconds = 0.002;

void wake(int fd) {
  if (fd < 0) return;
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(fd, &one, sizeof one);
}
}  // namespace

struct FunctionRunner::Lane {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<Job> queue;
  std::vector<Finished> finished;
  std::vector<core::Report::Started> started;
  bool quit = false;
  std::atomic<bool> abandoned{false};
  bool busy = false;
  Job current;
  double started_wall = 0;
  double deadline = 0;  // monotonic; 0 = none
  double last_wake = 0;
};

namespace {

// The task thread: owns its worker objects; everything shared goes through the lane's mutex.
void task_thread(std::shared_ptr<FunctionRunner::Lane> lane, std::shared_ptr<const FunctionSettings> settings,
                 int rank, int wake_fd) {
  const size_t kinds = settings->kinds.size();
  std::vector<std::unique_ptr<TaskWorker>> objects(kinds);
  std::vector<uint32_t> uses(kinds, 0);
  const auto retire = [&](size_t k) {
    try {
      objects[k]->post_work();
    } catch (const std::exception& e) {
      std::cerr << "mpiq worker " << rank << ": post_work of kind " << settings->kinds[k].name
                << " threw: " << e.what() << "\n";
    } catch (...) {
      std::cerr << "mpiq worker " << rank << ": post_work of kind " << settings->kinds[k].name << " threw\n";
    }
    objects[k].reset();
    uses[k] = 0;
  };

  std::unique_lock lock(lane->mutex);
  for (;;) {
    lane->cv.wait(lock, [&] { return lane->quit || !lane->queue.empty() || lane->abandoned.load(); });
    if (lane->abandoned.load() || (lane->quit && lane->queue.empty())) break;
    // Only this thread writes `current`; the loop thread reads it under the mutex.
    lane->current = std::move(lane->queue.front());
    lane->queue.pop_front();
    lane->busy = true;
    lane->deadline = 0;
    lane->started_wall = exec::wall_now();
    Job& j = lane->current;
    lock.unlock();

    FunctionRunner::Finished out;
    out.task = j.task;
    std::string error;
    // The object is built outside the task's deadline: pre_work may take long (a model to load).
    if (j.kind >= 0 && !objects[static_cast<size_t>(j.kind)]) {
      const FunctionKind& kind = settings->kinds[static_cast<size_t>(j.kind)];
      try {
        auto object = kind.make();
        if (!object) throw std::runtime_error("the factory returned no object");
        object->pre_work();
        objects[static_cast<size_t>(j.kind)] = std::move(object);
      } catch (const std::exception& e) {
        error = "building the worker object of kind " + kind.name + " failed: " + e.what();
      } catch (...) {
        error = "building the worker object of kind " + kind.name + " failed";
      }
    }
    lock.lock();
    if (lane->abandoned.load()) break;
    lane->started_wall = exec::wall_now();
    lane->deadline = j.timeout_s ? exec::mono_now() + j.timeout_s : 0;
    if (j.report_start) lane->started.push_back({j.task, lane->started_wall});
    out.start_time = lane->started_wall;
    lock.unlock();

    if (j.kind < 0) {
      out.outcome = FunctionOutcome::failed;
      out.output = "no task kind of this name is registered on rank " + std::to_string(rank);
    } else if (!error.empty()) {
      out.outcome = FunctionOutcome::failed;
      out.output = std::move(error);
    } else {
      const size_t k = static_cast<size_t>(j.kind);
      TaskContext context(j.id, j.attempt, settings->kinds[k].name, rank, &lane->abandoned);
      try {
        out.output = objects[k]->work(context, j.payload);
        if (out.output.size() > settings->max_result_bytes) {
          out.outcome = FunctionOutcome::failed;
          out.output = "the result of " + std::to_string(out.output.size()) + " bytes exceeds the limit of " +
                       std::to_string(settings->max_result_bytes) + " bytes";
        }
      } catch (const std::exception& e) {
        out.outcome = FunctionOutcome::failed;
        out.output = e.what();
      } catch (...) {
        out.outcome = FunctionOutcome::failed;
        out.output = "work() threw an exception that is not a std::exception";
      }
      const uint32_t limit =
          settings->kinds[k].recycle_after ? settings->kinds[k].recycle_after : settings->recycle_after;
      if (limit > 0 && ++uses[k] >= limit) retire(k);
    }
    out.end_time = exec::wall_now();

    lock.lock();
    if (lane->abandoned.load()) break;  // given up on: the result goes nowhere
    lane->busy = false;
    const double end = out.end_time;
    lane->finished.push_back(std::move(out));
    if (lane->queue.empty() || lane->finished.size() >= kWakeResults ||
        end - lane->last_wake >= kWakeSeconds) {
      lane->last_wake = end;
      wake(wake_fd);
    }
  }
  const bool abandoned = lane->abandoned.load();
  lock.unlock();
  // An abandoned thread gets here only if its call returned after all: its objects are its own.
  for (size_t k = 0; k < kinds; ++k)
    if (objects[k]) retire(k);
  if (abandoned) return;
  wake(wake_fd);
}

}  // namespace

FunctionRunner::FunctionRunner(std::shared_ptr<const FunctionSettings> settings, int rank)
    : settings_(std::move(settings)), rank_(rank) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  start_lane();
}

void FunctionRunner::start_lane() {
  lane_ = std::make_shared<Lane>();
  thread_ = std::thread(task_thread, lane_, settings_, rank_, wake_fd_);
}

FunctionRunner::~FunctionRunner() {
  {
    std::lock_guard lock(lane_->mutex);
    lane_->queue.clear();
    lane_->quit = true;
  }
  lane_->cv.notify_one();
  if (thread_.joinable()) thread_.join();
  // The eventfd stays open while an abandoned thread might still write to it.
}

void FunctionRunner::push(core::FunctionBatch batch) {
  // Kind names are resolved once per batch, not once per task.
  std::vector<int> kind_of(batch.kinds.size(), -1);
  for (size_t i = 0; i < batch.kinds.size(); ++i)
    for (size_t k = 0; k < settings_->kinds.size(); ++k)
      if (settings_->kinds[k].name == batch.kinds[i]) kind_of[i] = static_cast<int>(k);
  {
    std::lock_guard lock(lane_->mutex);
    for (core::FunctionOrder& o : batch.orders)
      lane_->queue.push_back(Job{o.task, o.id, o.attempt, o.timeout_s, kind_of[o.kind], batch.report_starts,
                                 std::move(o.payload)});
  }
  lane_->cv.notify_one();
}

bool FunctionRunner::collect(std::vector<Finished>& finished, std::vector<core::Report::Started>& started) {
  if (wake_fd_ >= 0) {
    uint64_t n;
    [[maybe_unused]] const ssize_t r = ::read(wake_fd_, &n, sizeof n);
  }
  bool any = !abandoned_results_.empty();
  for (Finished& f : abandoned_results_) finished.push_back(std::move(f));
  abandoned_results_.clear();
  std::lock_guard lock(lane_->mutex);
  if (lane_->finished.empty() && lane_->started.empty()) return any;
  if (finished.empty())
    finished.swap(lane_->finished);
  else
    for (Finished& f : lane_->finished) finished.push_back(std::move(f));
  lane_->finished.clear();
  started.insert(started.end(), lane_->started.begin(), lane_->started.end());
  lane_->started.clear();
  return true;
}

void FunctionRunner::abandon(FunctionOutcome outcome, const std::string& message) {
  // Called with the lane's mutex not held. Results the thread finished before the call stay valid.
  std::deque<Job> rest;
  Finished out;
  {
    std::lock_guard lock(lane_->mutex);
    if (!lane_->busy) return;
    lane_->abandoned.store(true);
    rest.swap(lane_->queue);
    for (Finished& f : lane_->finished) abandoned_results_.push_back(std::move(f));
    lane_->finished.clear();
    out.task = lane_->current.task;
    out.outcome = outcome;
    out.start_time = lane_->started_wall;
    out.end_time = exec::wall_now();
    out.output = message;
  }
  lane_->cv.notify_one();
  thread_.detach();
  abandoned_results_.push_back(std::move(out));
  start_lane();
  {
    std::lock_guard lock(lane_->mutex);
    lane_->queue.swap(rest);
  }
  lane_->cv.notify_one();
}

void FunctionRunner::enforce(double now) {
  double deadline = 0;
  uint32_t timeout = 0;
  {
    std::lock_guard lock(lane_->mutex);
    if (!lane_->busy) return;
    deadline = lane_->deadline;
    timeout = lane_->current.timeout_s;
  }
  if (deadline > 0 && now >= deadline) {
    abandon(FunctionOutcome::timed_out, "timed out after " + std::to_string(timeout) +
                                            " s; the call was abandoned and its worker object replaced");
  } else if (interrupt_at_ > 0 && now >= interrupt_at_) {
    abandon(FunctionOutcome::interrupted, "interrupted by a stop");
  }
}

std::vector<core::TaskIndex> FunctionRunner::give_back(uint32_t count) {
  std::vector<core::TaskIndex> out;
  std::lock_guard lock(lane_->mutex);
  while (count-- > 0 && !lane_->queue.empty()) {
    out.push_back(lane_->queue.back().task);
    lane_->queue.pop_back();
  }
  return out;
}

void FunctionRunner::drop_queue() {
  std::lock_guard lock(lane_->mutex);
  lane_->queue.clear();
}

void FunctionRunner::interrupt_running(double at) {
  interrupt_at_ = at;
}

bool FunctionRunner::idle() {
  if (!abandoned_results_.empty()) return false;
  std::lock_guard lock(lane_->mutex);
  return lane_->queue.empty() && !lane_->busy && lane_->finished.empty() && lane_->started.empty();
}

}  // namespace mpiq::worker
