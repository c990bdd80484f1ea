/// libFuzzer target: what the hub reads from its inbox (hub/inbox.hpp): a submitted task file, parsed
/// against a run (core/submission.hpp; the seeds' run, seed_run.hpp) and appended to its table as
/// Inbox::take does, and a cancel request (hub::parse_steer_request) resolved against the run's tasks. The
/// first byte picks which; the rest is the file. A table with an accepted submission must pass the
/// checkpoint's checks.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/submission.hpp"
#include "core/task_file.hpp"
#include "core/task_selector.hpp"
#include "fuzz_support.hpp"
#include "hub/inbox.hpp"
#include "seed_run.hpp"
#include "store/checkpoint.hpp"
#include "store/journal.hpp"

namespace {

void submit(const mpiq::core::TaskTable& run, std::string_view text) {
  mpiq::core::Submission s;
  if (!mpiq::fuzz::accepts("parse_submission", [&] {
        s = mpiq::core::parse_submission(text, "fuzz.tasks", mpiq::core::run_context(run));
      }))
    return;
  mpiq::fuzz::check(s.tasks.size() > 0, "parse_submission accepted a file without rows");
  mpiq::fuzz::check(s.tasks.id.front() > run.id.back(), "a submission's ids do not follow the run's");
  mpiq::store::submission_fits_journal(s.tasks, "fuzz.tasks");
  mpiq::core::TaskTable table = run;
  for (mpiq::core::TaskIndex r = 0; r < s.tasks.size(); ++r) table.append(s.tasks.spec(r));
  table.init_runtime_columns();
  const std::string problem = mpiq::store::find_table_problem(table);
  mpiq::fuzz::check(problem.empty(),
                    "an accepted submission makes a table the checkpoint refuses: " + problem);
}

void cancel(const mpiq::core::TaskTable& run, std::string_view text) {
  mpiq::hub::SteerRequest r;
  if (!mpiq::fuzz::accepts("parse_steer_request",
                           [&] { r = mpiq::hub::parse_steer_request(text, "fuzz.cancel"); }))
    return;
  mpiq::fuzz::accepts("resolve_task_words", [&] {
    for (mpiq::core::TaskIndex row : mpiq::core::resolve_task_words(run, r.tasks, "fuzz.cancel"))
      mpiq::fuzz::check(row < run.size() && !run.is_barrier(row),
                        "a cancel request names a row that is no task");
  });
  // What `mpiq cancel` writes, the hub reads back as it was.
  const std::string formatted = mpiq::hub::format_steer_request(r);
  mpiq::hub::SteerRequest again;
  mpiq::fuzz::check(
      mpiq::fuzz::accepts("parse_steer_request",
                          [&] { again = mpiq::hub::parse_steer_request(formatted, "fuzz.cancel"); }),
      "parse_steer_request refuses what format_steer_request wrote: " + formatted);
  mpiq::fuzz::check(again.tasks == r.tasks && again.states == r.states && again.drain == r.drain &&
                        again.grace_s == r.grace_s,
                    "a cancel request does not read back as format_steer_request wrote it: " + formatted);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const mpiq::core::TaskTable run = mpiq::core::parse_task_file(mpiq::fuzz::kSeedRun, "run.tasks");
  if (size == 0) return 0;
  const std::string_view text = mpiq::fuzz::bytes(data + 1, size - 1);
  if (data[0] & 1)
    cancel(run, text);
  else if (mpiq::fuzz::sweep_fits(text))
    submit(run, text);
  return 0;
}
