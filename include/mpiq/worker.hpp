#pragma once
/// The worker side of the embedding API: a task kind is a class derived from TaskWorker.
///
/// Each worker rank builds one object per kind, on its task thread, the first time a task of that
/// kind reaches it: constructor, then pre_work(). The object then runs every task of its kind on that
/// rank, one at a time, and keeps its state between them. post_work() and the destructor run when the
/// rank leaves, when the object is recycled (after `recycle_after` tasks), and never for an object
/// whose call was abandoned at a timeout while the call is still running (see docs/embedding.md).

#include <string>
#include <string_view>

#include "mpiq/task.hpp"

namespace mpiq {

/// Base of a task kind's worker class.
class TaskWorker {
 public:
  virtual ~TaskWorker() = default;
  /// Runs once after construction, before the first task: load a model, open a database, ...
  /// An exception here fails the task that asked for the object, and the next task tries again.
  virtual void pre_work() {}
  /// Runs one task: returns its result bytes (at most kMaxResultBytes), or throws to fail it with the
  /// exception's what() as the message.
  virtual std::string work(TaskContext& context, std::string_view payload) = 0;
  /// Runs once before destruction (end of the run, or recycling).
  virtual void post_work() {}
};

}  // namespace mpiq
