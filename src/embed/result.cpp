#include "embed/result.hpp"

#include "core/task_outcome.hpp"

namespace mpiq::embed {

Result make_result(const core::TaskTable& table, core::TaskIndex t, bool from_checkpoint) {
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
    case core::TaskState::done:
      r.status = TaskStatus::done;
      if (table.is_function(t)) r.bytes = table.result[t];
      break;
    case core::TaskState::skipped:
      r.status = TaskStatus::skipped;
      r.error = core::describe_end(table, t);
      break;
    case core::TaskState::cancelled:
      r.status = TaskStatus::cancelled;
      r.error = "cancelled (mpiq cancel)";
      break;
    default:
      r.status = TaskStatus::failed;
      r.error = core::describe_end(table, t);
  }
  return r;
}

}  // namespace mpiq::embed
