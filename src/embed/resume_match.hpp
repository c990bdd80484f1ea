#pragma once
/// Resuming an embedding program: its submissions are matched, by content, to the function tasks of the
/// checkpoint, so that a program that submits the same tasks again gets the saved ones (and their
/// results) instead of new ones. Pure logic over the restored table: no locks, no threads.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/task_table.hpp"

namespace mpiq::embed {

using core::TaskId;

class ResumeMatch {
 public:
  ResumeMatch() = default;
  /// Indexes the function rows of `restored` (the checkpoint's table; it must outlive this and keep its
  /// rows). `names` maps each named task of it to its id.
  ResumeMatch(const core::TaskTable& restored, const std::unordered_map<std::string, TaskId>& names);

  /// The saved task a submission of `kind`, `payload`, `name` and dependency ids `deps` (ascending) is,
  /// if any, now claimed: a submission is the first unclaimed row with the same kind, payload, name and
  /// dependencies. A named submission must be its name's task: when the name belongs to a row that
  /// differs (or was claimed), throws InputError. nullopt: a new task.
  std::optional<core::TaskIndex> claim(std::string_view kind, std::string_view payload,
                                       const std::string& name, std::span<const TaskId> deps);

 private:
  bool same(core::TaskIndex t, std::string_view kind, std::string_view payload, const std::string& name,
            std::span<const TaskId> deps) const;

  const core::TaskTable* table_ = nullptr;
  const std::unordered_map<std::string, TaskId>* names_ = nullptr;
  // Unclaimed rows by content key, ascending: of equal tasks the first saved is claimed first, so ids
  // come back in the order they were given.
  std::unordered_map<uint64_t, std::vector<core::TaskIndex>> unclaimed_;
  std::vector<uint8_t> claimed_;  // by row of the restored table
};

}  // namespace mpiq::embed
