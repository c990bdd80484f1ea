#pragma once
/// The run behind the seeds of tests/fuzz/corpus: make-corpus.sh runs this task file for real
/// (fuzz_write_seeds --run-file prints it), and fuzz_journal and fuzz_inbox parse it as the run their
/// inputs belong to, so the rows a real journal updates exist in the table a fuzzed one replays into.

namespace mpiq::fuzz {

inline constexpr const char* kSeedRun =
    "[% name=prep %] echo prep\n"
    "[% repeat=3 %] echo element $MPIQ_REPEAT_INDEX; echo to stderr >&2\n"
    "[# prep #] [@ /tmp @] echo after prep\n"
    "# a comment\n"
    "#MPIQ barrier\n"
    "false\n"
    "[% name=slow timeout=60 retries=1 priority=2 %] sleep 6\n";

}  // namespace mpiq::fuzz
