#include "core/submission.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <utility>

#include "core/name_index.hpp"
#include "core/task_file.hpp"
#include "mpiq/error.hpp"

namespace mpiq::core {

uint64_t submission_base(TaskId last_id) {
  return (uint64_t{last_id} + kSubmissionIdStep - 1) / kSubmissionIdStep * kSubmissionIdStep;
}

Submission parse_submission(std::string_view text, const std::string& path, const RunContext& run) {
  detail::ParsedSubmission parsed = detail::parse_for_run(text, path, run);
  const TaskTable& own = parsed.own;
  Submission out;
  const uint64_t base = submission_base(run.last_id);
  if (base + parsed.lines >= std::numeric_limits<TaskId>::max())
    throw InputError(path, 0, 0,
                     "the run has no task ids left for " + std::to_string(parsed.lines) +
                         " more lines (the last id is " + std::to_string(run.last_id) + ")");
  out.base = static_cast<TaskId>(base);
  auto& external = parsed.run_deps;
  std::sort(external.begin(), external.end());
  external.erase(std::unique(external.begin(), external.end()), external.end());
  out.tasks.reserve(own.size());
  std::vector<TaskIndex> deps;
  size_t e = 0;
  for (TaskIndex r = 0; r < own.size(); ++r) {
    // The run's rows come before the file's, so the external dependencies (sorted) go first.
    deps.clear();
    for (; e < external.size() && external[e].first == r; ++e) deps.push_back(external[e].second);
    for (uint64_t k = own.dep_offsets[r]; k < own.dep_offsets[r + 1]; ++k)
      deps.push_back(run.rows + own.deps[k]);
    TaskSpec spec = own.spec(r);
    spec.id = static_cast<TaskId>(out.base + own.id[r]);
    spec.deps = deps;
    out.tasks.append(spec);
  }
  out.tasks.init_runtime_columns();
  auto& names = parsed.outside_names;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  out.outside_names = std::move(names);
  return out;
}

RunContext run_context(const TaskTable& run) {
  RunContext context;
  context.rows = static_cast<TaskIndex>(run.size());
  context.last_id = run.id.empty() ? 0 : run.id.back();
  // Over the table's name column: valid as long as the table does not change, as documented.
  auto names = std::make_shared<NameIndex>(run.name);
  for (TaskIndex r = 0; r < run.size(); ++r)
    if (!run.name[r].empty() && names->find(run.name[r]) == NameIndex::kNotFound) names->insert(r);
  const TaskTable* table = &run;
  context.find_name = [names, table](std::string_view name) -> std::optional<RunTask> {
    const TaskIndex row = names->find(name);
    if (row == NameIndex::kNotFound) return std::nullopt;
    return RunTask{row, table->id[row]};
  };
  return context;
}

}  // namespace mpiq::core
