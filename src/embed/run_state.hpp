#pragma once
/// The run directory of an embedded run: the same layout and durable state as `mpiq run`'s
/// (DESIGN §6-§7: lock, checkpoint.h5, journal, status.json, out/, hub.log), for a table that may
/// hold function tasks and need not come from a task file. `mpiq status DIR` reads it as it reads any.

#include <memory>
#include <string>

#include "hub/hub.hpp"
#include "store/checkpoint.hpp"
#include "store/journal.hpp"

namespace mpiq::embed {

class RunState final : public hub::RunRecorder {
 public:
  /// Takes the directory's lock (creating the directory) and reads the state it holds, if any, unless
  /// `fresh` (then the old state is kept as *.prev). Throws InputError for a directory a live hub
  /// holds, a file, someone else's directory, or a damaged checkpoint or journal.
  RunState(std::string path, bool fresh);
  ~RunState() override;
  RunState(const RunState&) = delete;
  RunState& operator=(const RunState&) = delete;

  /// True when the directory held a run to resume; its table is restored().
  bool resuming() const noexcept { return resuming_; }
  core::TaskTable& restored() noexcept { return restored_; }
  const store::CheckpointMeta& meta() const noexcept { return meta_; }
  /// Records the task file of the run (its path and SHA-256) in the checkpoint's attributes.
  void set_task_file(const std::string& path, const std::string& sha256);

  /// Writes the first snapshot of `table` (the base the journal builds on) and opens the journal.
  void start(const core::TaskTable& table);
  void finalized(const core::TaskTable& table, std::span<const core::TaskIndex> rows) override;
  void snapshot(const core::TaskTable& table) override;
  void status(const std::string& json) override;
  void appended(const core::TaskTable& table, core::TaskIndex first_row) override;
  /// Makes the journal durable and releases the lock.
  void close();

  const std::string& path() const noexcept { return path_; }

 private:
  std::string file(const char* name) const { return path_ + "/" + name; }

  std::string path_;
  int lock_fd_ = -1;
  bool resuming_ = false;
  core::TaskTable restored_;
  store::CheckpointMeta meta_;
  std::unique_ptr<store::Journal> journal_;
  double last_sync_ = 0;
};

}  // namespace mpiq::embed
