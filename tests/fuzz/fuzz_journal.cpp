/// libFuzzer target: the journal reader (store/journal.hpp), replayed into the seeds' run (seed_run.hpp)
/// as a resume does. What it accepts must leave a table the checkpoint writer accepts, and the writer must
/// be able to continue the journal: Journal::open on it, one more record, and a replay that sees it.

#include <cstdint>
#include <cstring>
#include <string>

#include "core/task_file.hpp"
#include "fuzz_support.hpp"
#include "seed_run.hpp"
#include "store/checkpoint.hpp"
#include "store/journal.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mpiq::fuzz::InputFile file("journal");
  static const mpiq::core::TaskTable run = mpiq::core::parse_task_file(mpiq::fuzz::kSeedRun, "run.tasks");
  const std::string& path = file.write(mpiq::fuzz::bytes(data, size));
  // The header's own epoch (bytes 16-23), so that replay gets past the epoch check to the records.
  uint64_t epoch = 0;
  if (size >= 24) std::memcpy(&epoch, data + 16, sizeof epoch);

  mpiq::core::TaskTable table = run;
  mpiq::core::AttemptLog attempts;
  mpiq::store::ReplayResult replayed;
  if (!mpiq::fuzz::accepts("apply_journal",
                           [&] { replayed = mpiq::store::apply_journal(path, epoch, table, &attempts); }))
    return 0;
  const std::string problem = mpiq::store::find_table_problem(table);
  mpiq::fuzz::check(problem.empty(), "apply_journal left a table the checkpoint refuses: " + problem);
  const std::string attempts_problem = attempts.find_problem(table.size());
  mpiq::fuzz::check(attempts_problem.empty(),
                    "apply_journal kept earlier attempts the checkpoint refuses: " + attempts_problem);
  if (replayed.stale) return 0;
  // Journal::open refuses to continue a journal of an older format (its records would not match).
  uint32_t version = mpiq::store::kJournalFormatVersion;
  if (size >= 12) std::memcpy(&version, data + 8, sizeof version);
  if (version != mpiq::store::kJournalFormatVersion) return 0;

  // Continue it as the hub does after a resume, and read it back.
  mpiq::fuzz::check(mpiq::fuzz::accepts("Journal::open",
                                        [&] {
                                          mpiq::store::Journal journal =
                                              mpiq::store::Journal::open(path, epoch);
                                          journal.append(mpiq::store::JournalRecord::from_row(table, 0));
                                          journal.flush();
                                        }),
                    "Journal::open refused a journal that replay accepted");
  mpiq::core::TaskTable again = run;
  mpiq::store::ReplayResult continued;
  mpiq::fuzz::check(mpiq::fuzz::accepts("apply_journal",
                                        [&] { continued = mpiq::store::apply_journal(path, epoch, again); }),
                    "a journal continued by Journal::open does not replay");
  mpiq::fuzz::check(continued.records == replayed.records + 1,
                    "a journal continued by Journal::open lost records: " + std::to_string(replayed.records) +
                        " replayed before, " + std::to_string(continued.records) + " after one more");
  return 0;
}
