#pragma once
/// The run directory's inbox (docs/design.md §4, §6): task files that `mpiq submit` drops into RUN_DIR/inbox/
/// join the running hub's graph.
///
/// Files. `mpiq submit` writes `inbox/.NAME.tmp`, fsyncs it and renames it to `inbox/NAME` (NAME ends in
/// `.tasks`), so the hub only ever sees whole files; names starting with `.` and not ending in `.tasks`
/// are not the inbox's. The hub gives each file a verdict, `inbox/done/NAME.accepted` (one line:
/// `accepted base=B first=F last=L tasks=N`) or `inbox/done/NAME.rejected` (the error, `NAME:LINE:COL:
/// what`), then moves the file to `inbox/done/NAME`. Nothing in the inbox can crash the hub: a file that
/// cannot be read, parsed or placed is rejected.
///
/// Crash safety (docs/design.md §7, §11): a kill -9 or a crash of the node at any moment neither loses an
/// accepted submission nor adds its tasks twice. Taking a file is, in this order:
///   1. parse it against the table, append its rows, and journal them (Hub::add_tasks ->
///      RunDirectory::appended) as ONE record of kind 5 that also holds the file's name, synced;
///   2. write the verdict, move the file to done/, fsync both directories.
/// A crash before 1 completes leaves no record (a torn record is dropped on replay) and the file in the
/// inbox: the next hub takes it. A crash between 1 and 2 leaves both the record and the file: the next
/// hub's replay lists the file among RunDirectory::replayed_submissions(), and finish_taken() completes
/// step 2 without adding anything, before RunDirectory::start() snapshots and empties the journal. A
/// snapshot written during a run comes after step 2 of every file it holds (the same thread does both,
/// and step 2 is durable before the hub's loop turns again), except when step 2 failed (a file system
/// error): then the file stays in the inbox, this hub retries the move on each poll, and every snapshot
/// names the file (the checkpoint's inbox_taken, format 7) until it has moved, so a restart after a
/// snapshot finishes its move as it would from the journal.
///
/// Steering requests (`mpiq cancel`, docs/design.md §8) come the same way, as `inbox/NAME.cancel`
/// (format_steer_request), in name order with the submissions. Taking one cancels its tasks through
/// Hub::cancel, which journals them before it returns, then writes the verdict and moves the file like a
/// submission's. A crash before the journal write leaves the file, which the next hub takes; one after
/// it leaves the file and the cancelled tasks, and taking the file again changes nothing (a cancel of a
/// task that has ended is a no-op). So a cancel survives a kill -9 once `mpiq cancel` has its verdict.
/// A drain is not kept across runs: the rerun that resumes a drained run is meant to go on.

#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/name_index.hpp"
#include "core/submission.hpp"
#include "hub/hub.hpp"
#include "hub/log.hpp"
#include "hub/run_directory.hpp"

namespace mpiq::hub {

/// A request of `mpiq cancel`: the tasks to cancel (words of core/task_selector.hpp, and every task in
/// some states), the grace period of running ones, or a drain of the run.
struct SteerRequest {
  double grace_s = 10;
  std::vector<std::string> tasks;
  std::vector<core::TaskState> states;
  bool drain = false;
};
/// The request as its inbox file holds it: lines `grace SECONDS`, `task WORD`, `state NAME`, `drain`.
std::string format_steer_request(const SteerRequest& r);
/// Reads a request file's text; throws InputError naming `name` and the line for anything else.
SteerRequest parse_steer_request(std::string_view text, const std::string& name);

class Inbox final : public HubObserver {
 public:
  /// Whether some worker can run a task asking for `cores` cores and `gpus` GPUs, on a node whose
  /// memory budget holds `mem_kb` (mem=).
  using Fits = std::function<bool(uint32_t cores, uint32_t gpus, uint64_t mem_kb)>;

  /// The inbox of `dir`, feeding the hub that runs `table`. Call after dir.start().
  Inbox(RunDirectory& dir, core::TaskTable& table, Log& log);

  /// Finishes taking the files that a previous hub took (RunDirectory::replayed_submissions(): its
  /// journal or its checkpoint names them) but left in `dir`'s inbox/: writes their verdict and moves
  /// them to done/, adding nothing; one that still cannot be moved goes to RunDirectory::unmoved(), and
  /// the Inbox retries it. Call before RunDirectory::start(). Returns notes for the log.
  static std::vector<std::string> finish_taken(RunDirectory& dir, const core::TaskTable& table);

  /// Takes the waiting files, at most every kPollInterval (and at once on the first call, so that a
  /// resumed run takes what waited before its first dispatch).
  void poll(Hub& hub) override;
  /// When every task has ended: true if a file is waiting, so the run takes it instead of ending (a
  /// task that submitted with --no-wait and exited must not lose the race with the end of the run).
  bool keeps_open() const override;

  /// Takes every waiting file now, in name order (submission time): accepted rows are appended to the
  /// table and passed to `add` (Hub::add_tasks, which journals them); `fits` rejects tasks no worker
  /// can run. Returns how many files got a verdict.
  /// `steer` carries out a steering request and returns its verdict line; without it request files
  /// are left for a hub that has one.
  using Steer = std::function<std::string(const SteerRequest&)>;
  size_t take_waiting(const std::function<void(core::TaskIndex first_row)>& add, const Fits& fits,
                      const Steer& steer = {});

  /// At most one readdir of the inbox this often while tasks run. One readdir of the inbox took 12 us
  /// (measured, os.listdir), so 5 a second cost 0.006% of a core; an idle one-rank run of `sleep` used
  /// 6 ticks of CPU in 5 s (1.2%) with the inbox polled; tests/e2e/idle_cpu.sh sees 0-2% per rank.
  static constexpr double kPollInterval = 0.2;

 private:
  std::vector<std::string> waiting(bool requests) const;
  void take(const std::string& name, const std::function<void(core::TaskIndex)>& add, const Fits& fits);
  void take_request(const std::string& name, const Steer& steer);
  void reject(const std::string& name, const std::string& message);
  bool finish(const std::string& name, const std::string& verdict_ext, const std::string& verdict);
  core::RunContext context();

  RunDirectory& dir_;
  core::TaskTable& table_;
  Log& log_;
  std::string inbox_, done_;
  double next_poll_ = 0;
  mutable bool waiting_seen_ = false;   // keeps_open() saw a file: poll() takes it without waiting
  core::NameIndex names_{table_.name};  // the run's named tasks, over the table's name column
  core::TaskIndex indexed_rows_ = 0;    // rows already in names_
  /// Files that this hub (or the previous one, RunDirectory::unmoved_submissions()) journalled but could
  /// not move out of the inbox (a file system error): never taken again; the move is retried on each poll.
  std::unordered_map<std::string, std::string> taken_;  // name -> verdict
  /// Files that could not be rejected properly (the verdict or the move failed): left alone.
  std::unordered_set<std::string> given_up_;
};

}  // namespace mpiq::hub
