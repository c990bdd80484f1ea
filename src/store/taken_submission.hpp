#pragma once
/// An inbox file whose tasks were appended to the run's table (hub/inbox.hpp): named by a journal
/// record of kind 5 (store/journal.hpp), and by the checkpoint's `inbox_taken` while the hub could
/// not move the file out of the inbox (store/checkpoint.hpp).

#include <cstdint>
#include <string>

#include "core/task_table.hpp"

namespace mpiq::store {

struct TakenSubmission {
  std::string file;       ///< its name in the inbox
  core::TaskId base = 0;  ///< its task on line L has id base + L
  core::TaskId first_id = 0, last_id = 0;
  uint32_t rows = 0;  ///< rows it added (its tasks and barriers)

  bool operator==(const TakenSubmission&) const = default;
};

}  // namespace mpiq::store
