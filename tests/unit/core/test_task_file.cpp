#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/graph.hpp"
#include "core/task_file.hpp"
#include "mpiq/error.hpp"

namespace mpiq::core {
namespace {

const std::string kData = MPIQ_TEST_DATA;
const std::string kExamples = std::string(MPIQ_TEST_DATA) + "/../../examples";

TaskTable parse(std::string_view text) {
  return parse_task_file(text, "t.tasks");
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The file at `path`, read by the test (the core does no I/O; store::load_task_file is tested in
// tests/unit/store/test_task_file_io.cpp) and parsed under its path.
TaskTable parse_file(const std::string& path) {
  const std::string text = read(path);
  if (text.empty()) throw std::runtime_error("cannot read " + path);
  return parse_task_file(text, path);
}

// The ids of the command tasks (barrier rows left out), in row order.
std::vector<TaskId> task_ids(const TaskTable& t) {
  std::vector<TaskId> out;
  for (TaskIndex r = 0; r < t.size(); ++r)
    if (!t.is_barrier(r)) out.push_back(t.id[r]);
  return out;
}

TaskIndex row_of(const TaskTable& t, TaskId id) {
  const auto row = t.find(id);
  if (!row) throw std::logic_error("no task " + std::to_string(id));
  return *row;
}

// The ids of the rows that task `id` waits for.
std::vector<TaskId> deps_of(const TaskTable& t, TaskId id) {
  const TaskIndex r = row_of(t, id);
  std::vector<TaskId> out;
  for (uint64_t k = t.dep_offsets[r]; k < t.dep_offsets[r + 1]; ++k) out.push_back(t.id[t.deps[k]]);
  return out;
}

std::string_view command_of(const TaskTable& t, TaskId id) {
  return t.command[row_of(t, id)];
}

void expect_error(std::string_view text, uint32_t line, uint32_t column, const std::string& message) {
  try {
    parse(text);
    ADD_FAILURE() << "parsed without error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.message(), message);
    EXPECT_EQ(e.line(), line);
    EXPECT_EQ(e.column(), column);
    EXPECT_EQ(e.file(), "t.tasks");
  }
}

// Parsing TEXT must fail at LINE:COLUMN with MESSAGE.
#define EXPECT_PARSE_ERROR(text, line, column, message) \
  do {                                                  \
    SCOPED_TRACE(text);                                 \
    expect_error(text, line, column, message);          \
  } while (0)

using Ids = std::vector<TaskId>;

// --- Lines and ids ---

TEST(TaskFile, TaskIdIsThePhysicalLineNumber) {
  const TaskTable t = parse("# comment\n\necho a\n   \t\necho b\n");
  EXPECT_EQ(task_ids(t), (Ids{3, 5}));
  EXPECT_EQ(command_of(t, 3), "echo a");
  EXPECT_EQ(command_of(t, 5), "echo b");
}

TEST(TaskFile, LastLineWithoutNewlineIsATask) {
  const TaskTable t = parse("echo a\necho b");
  EXPECT_EQ(task_ids(t), (Ids{1, 2}));
  EXPECT_EQ(command_of(t, 2), "echo b");
}

TEST(TaskFile, CrlfLineEndingsAreStripped) {
  const TaskTable t = parse("echo a\r\n[# 1 #] echo b\r\n\r\n# c\r\n");
  EXPECT_EQ(task_ids(t), (Ids{1, 2}));
  EXPECT_EQ(command_of(t, 1), "echo a");
  EXPECT_EQ(command_of(t, 2), "echo b");
  EXPECT_EQ(deps_of(t, 2), (Ids{1}));
}

TEST(TaskFile, LeadingBlanksAreDroppedAndTrailingBlanksKept) {
  // Trailing blanks stay: `echo a\ ` ends in an escaped space that the shell must see.
  const TaskTable t = parse(" \t echo a \n  [# 1 #] \t echo b\\ \n");
  EXPECT_EQ(command_of(t, 1), "echo a ");
  EXPECT_EQ(command_of(t, 2), "echo b\\ ");
}

TEST(TaskFile, HashAfterBlanksStartsAComment) {
  const TaskTable t = parse("  # not a task\necho a # not a comment\n");
  EXPECT_EQ(task_ids(t), (Ids{2}));
  EXPECT_EQ(command_of(t, 2), "echo a # not a comment");
}

TEST(TaskFile, BracketHashStartsADependencyPrefixNotAComment) {
  const TaskTable t = parse("echo a\n[#1#] echo b\n");
  EXPECT_EQ(task_ids(t), (Ids{1, 2}));
  EXPECT_EQ(deps_of(t, 2), (Ids{1}));
}

TEST(TaskFile, BracketWithoutMarkIsPartOfTheCommand) {
  const TaskTable t = parse("[ -d /tmp ] && echo yes\n");
  EXPECT_EQ(command_of(t, 1), "[ -d /tmp ] && echo yes");
}

TEST(TaskFile, RowsAreSortedByIdWithDefaultSettings) {
  const TaskTable t = parse("a\n\nb\nc\n");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t.id, (std::vector<TaskId>{1, 3, 4}));
  for (TaskIndex r = 0; r < 3; ++r) {
    EXPECT_EQ(t.flags[r], 0);
    EXPECT_EQ(t.name[r], "");
    EXPECT_EQ(t.workdir[r], "");
    EXPECT_EQ(t.cores[r], 1u);
    EXPECT_EQ(t.gpus[r], 0u);
    EXPECT_EQ(t.timeout_s[r], 0u);
    EXPECT_EQ(t.retries[r], 0u);
    EXPECT_EQ(t.priority[r], 0);
  }
}

TEST(TaskFile, RuntimeColumnsAreInitialised) {
  const TaskTable t = parse("a\nb\n");
  ASSERT_EQ(t.state.size(), 2u);
  EXPECT_EQ(t.state[0], TaskState::waiting);
  EXPECT_EQ(t.attempts, (std::vector<uint32_t>{0, 0}));
  EXPECT_EQ(t.exit_code, (std::vector<int32_t>{-1, -1}));
  EXPECT_EQ(t.worker_rank, (std::vector<int32_t>{-1, -1}));
  EXPECT_EQ(t.max_rss_kb.size(), 2u);
}

// --- Dependencies ---

TEST(TaskFile, AbsoluteDependencyPointsAtALine) {
  const TaskTable t = parse("echo a\necho b\n[# 1 #] echo c\n");
  EXPECT_EQ(deps_of(t, 3), (Ids{1}));
  EXPECT_EQ(deps_of(t, 1), (Ids{}));
}

TEST(TaskFile, RelativeDependencyPointsToEarlierLine) {
  const TaskTable t = parse("echo a\necho b\n[# -1 #] echo c\n[# -3 #] echo d\n");
  EXPECT_EQ(deps_of(t, 3), (Ids{2}));
  EXPECT_EQ(deps_of(t, 4), (Ids{1}));
}

TEST(TaskFile, RangeCoversTheTaskLinesInsideItSkippingOthers) {
  const TaskTable t = parse("a\n# comment\n\nb\nc\n[# 1-5 #] d\n");
  EXPECT_EQ(deps_of(t, 6), (Ids{1, 4, 5}));
}

TEST(TaskFile, ReversedRangeMeansTheSameAsInGreasy) {
  const TaskTable t = parse("a\nb\nc\n[# 3-1 #] d\n");
  EXPECT_EQ(deps_of(t, 4), (Ids{1, 2, 3}));
}

TEST(TaskFile, RangeLeavesOutTheTaskItselfAsInGreasy) {
  const TaskTable t = parse("a\nb\n[# 1-4 #] c\nd\n");
  EXPECT_EQ(deps_of(t, 3), (Ids{1, 2, 4}));
}

TEST(TaskFile, RangePastTheEndCoversTheTasksThatExist) {
  const TaskTable t = parse("a\nb\n[# 1-1000 #] c\n");
  EXPECT_EQ(deps_of(t, 3), (Ids{1, 2}));
}

TEST(TaskFile, ForwardDependencyIsAllowed) {
  const TaskTable t = parse("[# 3 #] echo a\n# c\necho b\n");
  EXPECT_EQ(deps_of(t, 1), (Ids{3}));
}

TEST(TaskFile, DependencyByNameBackwardAndForward) {
  const TaskTable t = parse(
      "[% name=prep %] echo prep\n"
      "[# prep, post.v2 #] echo run\n"
      "[% name=post.v2 %] echo post\n");
  EXPECT_EQ(deps_of(t, 2), (Ids{1, 3}));
  EXPECT_EQ(t.name[0], "prep");
  EXPECT_EQ(t.name[2], "post.v2");
}

TEST(TaskFile, DuplicateDependenciesAreMerged) {
  const TaskTable t = parse("[% name=a %] x\ny\n[# 1, -2, a, 1-2, 2 #] z\n");
  EXPECT_EQ(deps_of(t, 3), (Ids{1, 2}));
}

TEST(TaskFile, DependencyListToleratesBlanks) {
  const TaskTable t = parse("a\nb\nc\nd\n[#  1 ,\t2 - 3 ,4  #] e\n");
  EXPECT_EQ(deps_of(t, 5), (Ids{1, 2, 3, 4}));
}

TEST(TaskFile, EmptyDependencyPrefixMeansNoDependency) {
  const TaskTable t = parse("a\n[##] b\n[#  #] c\n");
  EXPECT_EQ(deps_of(t, 2), (Ids{}));
  EXPECT_EQ(deps_of(t, 3), (Ids{}));
  EXPECT_EQ(command_of(t, 2), "b");
}

TEST(TaskFile, DepsHoldSortedRowIndicesNotIds) {
  const TaskTable t = parse("# c\nb\n\n[# 5, 2 #] d\ne\n");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t.dep_offsets, (std::vector<uint64_t>{0, 0, 2, 2}));
  EXPECT_EQ(t.deps, (std::vector<TaskIndex>{0, 2}));
}

// --- Prefixes ---

TEST(TaskFile, PrefixesComeInAnyOrder) {
  const TaskTable t = parse(
      "a\n"
      "[% name=x cores=2 %][@ /d @][# 1 #] cmd1\n"
      "  [@ /e @] [# 1 #]\t[% name=y %] cmd2\n");
  EXPECT_EQ(t.name[1], "x");
  EXPECT_EQ(t.workdir[1], "/d");
  EXPECT_EQ(t.cores[1], 2u);
  EXPECT_EQ(deps_of(t, 2), (Ids{1}));
  EXPECT_EQ(command_of(t, 2), "cmd1");
  EXPECT_EQ(t.name[2], "y");
  EXPECT_EQ(t.workdir[2], "/e");
  EXPECT_EQ(deps_of(t, 3), (Ids{1}));
  EXPECT_EQ(command_of(t, 3), "cmd2");
}

TEST(TaskFile, WorkingDirectoryIsTrimmedButKeepsInnerBlanks) {
  const TaskTable t = parse("[@  /scratch/my run/ \t@] ls\n");
  EXPECT_EQ(t.workdir[0], "/scratch/my run/");
}

TEST(TaskFile, SettingsSetEveryColumn) {
  const TaskTable t = parse("[% name=prep cores=4 gpus=1 timeout=30m retries=2 priority=10 %] x\n");
  EXPECT_EQ(t.name[0], "prep");
  EXPECT_EQ(t.cores[0], 4u);
  EXPECT_EQ(t.gpus[0], 1u);
  EXPECT_EQ(t.timeout_s[0], 1800u);
  EXPECT_EQ(t.retries[0], 2u);
  EXPECT_EQ(t.priority[0], 10);
}

TEST(TaskFile, SettingsAcceptTheirExtremes) {
  const TaskTable t = parse(
      "[% priority=-2147483648 gpus=0 retries=0 timeout=0 cores=4294967295 %] x\n"
      "[% priority=+2147483647 timeout=1h30m15s %] y\n");
  EXPECT_EQ(t.priority[0], std::numeric_limits<int32_t>::min());
  EXPECT_EQ(t.cores[0], std::numeric_limits<uint32_t>::max());
  EXPECT_EQ(t.timeout_s[0], 0u);
  EXPECT_EQ(t.priority[1], std::numeric_limits<int32_t>::max());
  EXPECT_EQ(t.timeout_s[1], 5415u);
}

TEST(TaskFile, EmptySettingsPrefixChangesNothing) {
  const TaskTable t = parse("[%  %] x\n");
  EXPECT_EQ(t.cores[0], 1u);
  EXPECT_EQ(command_of(t, 1), "x");
}

// --- Directives ---

TEST(TaskFile, DefaultsApplyToLaterLinesKeyByKey) {
  const TaskTable t = parse(
      "a\n"
      "#MPIQ defaults cores=2 timeout=1h priority=-1\n"
      "b\n"
      "  #MPIQ   defaults\tcores=4 retries=3\n"
      "[% cores=8 %] c\n"
      "d\n");
  EXPECT_EQ(task_ids(t), (Ids{1, 3, 5, 6}));
  EXPECT_EQ(t.cores, (std::vector<uint32_t>{1, 2, 8, 4}));
  EXPECT_EQ(t.timeout_s, (std::vector<uint32_t>{0, 3600, 3600, 3600}));
  EXPECT_EQ(t.retries, (std::vector<uint32_t>{0, 0, 3, 3}));
  EXPECT_EQ(t.priority, (std::vector<int32_t>{0, -1, -1, -1}));
}

TEST(TaskFile, MemoryComesFromThePrefixOrTheDefaults) {
  const TaskTable t = parse(
      "a\n"
      "#MPIQ defaults mem=2G\n"
      "b\n"
      "[% mem=512M %] c\n"
      "[% mem=0 %] d\n");
  EXPECT_EQ(t.mem_kb, (std::vector<uint64_t>{0, 2u << 20, 512u << 10, 0}));
}

TEST(TaskFile, BadMemoryIsAnErrorAtItsValue) {
  EXPECT_PARSE_ERROR("a\n[% cores=1 mem=4 %] b\n", 2, 16,
                     "bad memory size '4' for mem: expected a whole number with a unit K, M, G or T (powers "
                     "of 1024), e.g. mem=512M or mem=4G, at most 1024T");
  EXPECT_PARSE_ERROR("#MPIQ defaults mem=lots\na\n", 1, 20,
                     "bad memory size 'lots' for mem: expected a whole number with a unit K, M, G or T "
                     "(powers of 1024), e.g. mem=512M or mem=4G, at most 1024T");
}

TEST(TaskFile, BarrierWaitsForTheTasksSinceThePreviousBarrier) {
  const TaskTable t = parse(
      "a\n"               // 1
      "b\n"               // 2
      "#MPIQ barrier\n"   // 3
      "c\n"               // 4
      "# comment\n"       // 5
      "d\n"               // 6
      "#MPIQ barrier \n"  // 7
      "[# 1 #] e\n");     // 8
  EXPECT_EQ(t.id, (std::vector<TaskId>{1, 2, 3, 4, 6, 7, 8}));
  EXPECT_EQ(task_ids(t), (Ids{1, 2, 4, 6, 8}));
  EXPECT_TRUE(t.is_barrier(2));
  EXPECT_TRUE(t.is_barrier(5));
  EXPECT_EQ(t.flags[2], kBarrier);
  EXPECT_EQ(t.command[2], "");
  EXPECT_EQ(t.cores[2], 0u);
  EXPECT_EQ(t.gpus[2], 0u);
  EXPECT_EQ(deps_of(t, 3), (Ids{1, 2}));
  EXPECT_EQ(deps_of(t, 4), (Ids{3}));
  EXPECT_EQ(deps_of(t, 6), (Ids{3}));
  EXPECT_EQ(deps_of(t, 7), (Ids{3, 4, 6}));
  EXPECT_EQ(deps_of(t, 8), (Ids{1, 7}));
}

TEST(TaskFile, BarrierWithNothingBeforeItWaitsForNothing) {
  const TaskTable t = parse("#MPIQ barrier\n#MPIQ barrier\na\n");
  EXPECT_EQ(deps_of(t, 1), (Ids{}));
  EXPECT_EQ(deps_of(t, 2), (Ids{1}));
  EXPECT_EQ(deps_of(t, 3), (Ids{2}));
}

TEST(TaskFile, HashMpiqWithoutABlankAfterItIsAComment) {
  const TaskTable t = parse("#MPIQbarrier\n# MPIQ barrier\n#mpiq barrier\na\n");
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.id[0], 4u);
}

// --- Continuation lines ---

TEST(TaskFile, ContinuationDropsTheBackslashNewlineAsShDoes) {
  const TaskTable t = parse("echo a \\\n  b \\\nc\nnext\n");
  EXPECT_EQ(task_ids(t), (Ids{1, 4}));
  EXPECT_EQ(command_of(t, 1), "echo a   b c");
}

TEST(TaskFile, ContinuationWorksWithCrlfAndPrefixes) {
  const TaskTable t = parse("a\r\n[# 1 #] echo \\\r\n  b\r\n");
  EXPECT_EQ(task_ids(t), (Ids{1, 2}));
  EXPECT_EQ(command_of(t, 2), "echo   b");
  EXPECT_EQ(deps_of(t, 2), (Ids{1}));
}

TEST(TaskFile, CommandMayStartOnTheContinuationLine) {
  const TaskTable t = parse("[# 3 #] \\\n   echo b\nc\n");
  EXPECT_EQ(task_ids(t), (Ids{1, 3}));
  EXPECT_EQ(command_of(t, 1), "echo b");
  EXPECT_EQ(deps_of(t, 1), (Ids{3}));
}

TEST(TaskFile, EscapedBackslashAtEndIsNotAContinuation) {
  const TaskTable t = parse("echo a\\\\\necho b\n");
  EXPECT_EQ(task_ids(t), (Ids{1, 2}));
  EXPECT_EQ(command_of(t, 1), "echo a\\\\");
}

TEST(TaskFile, CommentLinesDoNotContinue) {
  const TaskTable t = parse("# comment \\\necho a\n");
  EXPECT_EQ(task_ids(t), (Ids{2}));
}

TEST(TaskFile, ContinuationLinesAreRawText) {
  const TaskTable t = parse("echo \\\n# not a comment \\\n[# 9 #] not a prefix\n");
  EXPECT_EQ(task_ids(t), (Ids{1}));
  EXPECT_EQ(command_of(t, 1), "echo # not a comment [# 9 #] not a prefix");
}

// --- Errors: lines and dependencies ---

TEST(TaskFile, ErrorMessageIsFileLineColumnWhat) {
  try {
    parse("echo a\n[# 1, prpe #] echo b\n");
    FAIL() << "parsed";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "t.tasks:2:7: unknown dependency 'prpe'");
  }
}

TEST(TaskFile, UnknownDependencyNameIsAnErrorAtItsColumn) {
  EXPECT_PARSE_ERROR("[% name=prep %] a\n[# prep,  prpe #] b\n", 2, 11, "unknown dependency 'prpe'");
}

TEST(TaskFile, DependencyOnACommentLineIsAnError) {
  EXPECT_PARSE_ERROR("# c\na\n[# 1 #] b\n", 3, 4,
                     "dependency '1' points at line 1, which is a comment, not a task");
}

TEST(TaskFile, DependencyOnABlankLineIsAnError) {
  EXPECT_PARSE_ERROR("a\n\n[# 2, 1 #] b\n", 3, 4,
                     "dependency '2' points at line 2, which is blank, not a task");
}

TEST(TaskFile, DependencyOnADirectiveLineIsAnError) {
  EXPECT_PARSE_ERROR("#MPIQ defaults cores=1\n[# -1 #] b\n", 2, 4,
                     "dependency '-1' points at line 1, which is an '#MPIQ' directive, not a task");
}

TEST(TaskFile, DependencyOnABarrierLineIsAnError) {
  EXPECT_PARSE_ERROR("a\n#MPIQ barrier\n[# 2 #] b\n", 3, 4,
                     "dependency '2' points at line 2, which is a barrier, not a task");
}

TEST(TaskFile, DependencyOnAContinuationLineIsAnError) {
  EXPECT_PARSE_ERROR(
      "a \\\n  b\n[# 2 #] c\n", 3, 4,
      "dependency '2' points at line 2, which continues the task on line 1, not a task of its own");
}

TEST(TaskFile, ForwardDependencyOnACommentIsAnError) {
  EXPECT_PARSE_ERROR("[# 2 #] a\n# c\nb\n", 1, 4,
                     "dependency '2' points at line 2, which is a comment, not a task");
}

TEST(TaskFile, DependencyPastTheLastLineIsAnError) {
  EXPECT_PARSE_ERROR("a\n[#  1000 #] b\n\n", 2, 5, "dependency '1000' points past the last line (3)");
  EXPECT_PARSE_ERROR("[# 99999999999999999999 #] b\n", 1, 4,
                     "dependency '99999999999999999999' points past the last line (1)");
}

TEST(TaskFile, DependencyOnLineZeroIsAnError) {
  EXPECT_PARSE_ERROR("a\n[# 0 #] b\n", 2, 4, "dependency '0' points at line 0, but lines start at 1");
}

TEST(TaskFile, RelativeDependencyBeforeTheFirstLineIsAnError) {
  EXPECT_PARSE_ERROR("a\n[# -2 #] b\n", 2, 4, "dependency '-2' points before line 1");
}

TEST(TaskFile, RangeCoveringNoTaskIsAnError) {
  EXPECT_PARSE_ERROR("# a\n\n[# 1-2 #] b\n", 3, 4, "range '1-2' covers no task");
  EXPECT_PARSE_ERROR("a\n[# 5-9 #] b\n", 2, 4, "range '5-9' covers no task");
}

TEST(TaskFile, SelfDependencyIsAnError) {
  EXPECT_PARSE_ERROR("a\n[# 1, 2 #] b\n", 2, 7, "task 2 depends on itself");
  EXPECT_PARSE_ERROR("a\n[# -0 #] b\n", 2, 4, "task 2 depends on itself");
  EXPECT_PARSE_ERROR("a\n[# me #] [% name=me %] b\n", 2, 4, "task 2 depends on itself");
}

TEST(TaskFile, BadDependencyTokenIsAnError) {
  const std::string expected = "': expected an id (3), a range (5-7), a relative id (-1) or a task name";
  EXPECT_PARSE_ERROR("a\n[# +1 #] b\n", 2, 4, "bad dependency '+1" + expected);
  EXPECT_PARSE_ERROR("a\n[# 1, 2->6 #] b\n", 2, 7, "bad dependency '2->6" + expected);
  EXPECT_PARSE_ERROR("a\n[# 1-2-3 #] b\n", 2, 4, "bad dependency '1-2-3" + expected);
  EXPECT_PARSE_ERROR("a\n[# - 1 #] b\n", 2, 4, "bad dependency '- 1" + expected);
  EXPECT_PARSE_ERROR("a\n[# 1 2 #] b\n", 2, 4, "bad dependency '1 2" + expected);
  EXPECT_PARSE_ERROR("a\n[# pre!p #] b\n", 2, 4, "bad dependency 'pre!p" + expected);
}

TEST(TaskFile, EmptyDependencyBetweenCommasIsAnError) {
  const std::string message = "empty dependency (two commas in a row, or a comma at an end)";
  EXPECT_PARSE_ERROR("a\n[# 1,,1 #] b\n", 2, 6, message);
  EXPECT_PARSE_ERROR("a\n[# 1, #] b\n", 2, 7, message);
  EXPECT_PARSE_ERROR("a\n[#, 1 #] b\n", 2, 3, message);
}

TEST(TaskFile, ADisbatchDirectiveIsRefusedWithTheFormatHintNotReadAsAComment) {
  const std::string hint = "': this is a disBatch file: run it with --format disbatch";
  EXPECT_PARSE_ERROR("echo a\n#DISBATCH REPEAT 3 start 1 echo x\n", 2, 1,
                     "disBatch directive '#DISBATCH REPEAT" + hint);
  EXPECT_PARSE_ERROR("#DISBATCH PREFIX cd /x ; \necho a\n", 1, 1,
                     "disBatch directive '#DISBATCH PREFIX" + hint);
  // What disBatch itself reads as a comment stays one: not at the line's start, or not upper case.
  EXPECT_EQ(task_ids(parse("  #DISBATCH BARRIER\n#disbatch barrier\n#DISBATCHX\necho a\n")), (Ids{4}));
}

TEST(TaskFile, AByteOrderMarkIsIgnored) {
  const TaskTable t = parse(
      "\xEF\xBB\xBF"
      "echo a\n[# 1 #] echo b\n");
  EXPECT_EQ(command_of(t, 1), "echo a");
  EXPECT_EQ(task_ids(parse("\xEF\xBB\xBF# a comment, not a task\necho b\n")), (Ids{2}));
  // Columns count from after it, as an editor shows the line.
  EXPECT_PARSE_ERROR("\xEF\xBB\xBF[# 9 #] x\n", 1, 4, "dependency '9' points past the last line (1)");
}

TEST(TaskFile, ACommaRightBeforeTheClosingMarkEndsTheListAsInGreasy) {
  const TaskTable t = parse("a\nb\n[# 1,#] c\n[# 1, 2,#] d\n");
  EXPECT_EQ(deps_of(t, 3), (Ids{1}));
  EXPECT_EQ(deps_of(t, 4), (Ids{1, 2}));
}

TEST(TaskFile, CycleIsAnErrorNamingItsTasks) {
  EXPECT_PARSE_ERROR(
      "echo a\n"
      "echo b\n"
      "[% name=prep %] [# 5 #] echo c\n"
      "echo d\n"
      "[# 3 #] echo e\n",
      3, 1, "dependency cycle: 3 (prep) -> 5 -> 3 (prep)");
}

TEST(TaskFile, CycleThroughABarrierNamesTheBarrier) {
  EXPECT_PARSE_ERROR("[# 3 #] a\n#MPIQ barrier\nb\n", 1, 1, "dependency cycle: 1 -> 3 -> 2 (barrier) -> 1");
}

TEST(TaskFile, CycleByNamesStartsAtItsSmallestId) {
  EXPECT_PARSE_ERROR("x\n[% name=b %] [# c #] y\n[% name=c %] [# b #] z\n", 2, 1,
                     "dependency cycle: 2 (b) -> 3 (c) -> 2 (b)");
}

// A recursive search would overflow the stack on this chain; the cycle is named by its ends.
TEST(TaskFile, CycleCheckOnADeepChainIsIterative) {
  constexpr int kLines = 300000;
  std::string text;
  for (int i = 1; i < kLines; ++i) text += "[# " + std::to_string(i + 1) + " #] x\n";
  const TaskTable chain = parse(text + "x\n");
  EXPECT_EQ(chain.size(), static_cast<size_t>(kLines));
  EXPECT_EQ(deps_of(chain, 1), (Ids{2}));
  EXPECT_PARSE_ERROR(
      text + "[# 1 #] x\n", 1, 1,
      "dependency cycle: 1 -> 2 -> 3 -> 4 -> 5 -> 6 -> 7 -> 8 -> ... (299990 more) -> 299999 -> "
      "300000 -> 1");
}

// --- Errors: syntax ---

TEST(TaskFile, UnterminatedPrefixIsAnErrorAtItsBracket) {
  EXPECT_PARSE_ERROR("a\n  [# 1 echo\n", 2, 3, "unterminated '[#' (no closing '#]' on this line)");
  EXPECT_PARSE_ERROR("[@ /tmp echo\n", 1, 1, "unterminated '[@' (no closing '@]' on this line)");
  EXPECT_PARSE_ERROR("[# #] [% cores=1 echo\n", 1, 7, "unterminated '[%' (no closing '%]' on this line)");
  EXPECT_PARSE_ERROR("[#] echo\n", 1, 1, "unterminated '[#' (no closing '#]' on this line)");
}

TEST(TaskFile, PrefixGivenTwiceIsAnError) {
  EXPECT_PARSE_ERROR("[##] [@ /a @] [##] b\n", 1, 15, "second '[#' prefix on one task");
  EXPECT_PARSE_ERROR("[@ /a @][@ /b @] b\n", 1, 9, "second '[@' prefix on one task");
}

TEST(TaskFile, PrefixesWithoutCommandAreAnError) {
  EXPECT_PARSE_ERROR("a\n[# 1 #]\n", 2, 8, "missing command after the prefixes");
  EXPECT_PARSE_ERROR("a\n[# 1 #] [% cores=2 %]  \t\n", 2, 25, "missing command after the prefixes");
}

TEST(TaskFile, ContinuedLineWithNoTextIsAnError) {
  EXPECT_PARSE_ERROR("a\n  \\\n\n", 2, 3, "empty command");
}

TEST(TaskFile, EmptyWorkingDirectoryIsAnError) {
  EXPECT_PARSE_ERROR("a\n[@  @] b\n", 2, 1, "empty working directory in '[@ @]'");
}

TEST(TaskFile, UnterminatedContinuationIsAnError) {
  EXPECT_PARSE_ERROR("a\necho b \\", 2, 8, "unterminated continuation: the last line ends with '\\'");
  EXPECT_PARSE_ERROR("a\necho b \\\nc \\\n", 3, 3, "unterminated continuation: the last line ends with '\\'");
}

TEST(TaskFile, UnknownSettingIsAnError) {
  EXPECT_PARSE_ERROR(
      "[% cores=1 colour=red %] a\n", 1, 12,
      "unknown setting 'colour' (expected name, cores, gpus, mem, timeout, retries, priority or repeat)");
}

TEST(TaskFile, SettingWithoutEqualsIsAnError) {
  EXPECT_PARSE_ERROR("[% cores %] a\n", 1, 4, "missing '=' in setting 'cores' (expected key=value)");
}

TEST(TaskFile, SettingGivenTwiceIsAnError) {
  EXPECT_PARSE_ERROR("[% cores=1 cores=2 %] a\n", 1, 12, "setting 'cores' given twice");
}

TEST(TaskFile, BadSettingValuesAreErrorsAtTheValue) {
  EXPECT_PARSE_ERROR("[% cores=two %] a\n", 1, 10, "bad value 'two' for cores: expected an integer >= 1");
  EXPECT_PARSE_ERROR("[% cores= %] a\n", 1, 10, "bad value '' for cores: expected an integer >= 1");
  EXPECT_PARSE_ERROR("[% gpus=-1 %] a\n", 1, 9, "bad value '-1' for gpus: expected an integer >= 0");
  EXPECT_PARSE_ERROR("[% retries=1.5 %] a\n", 1, 12, "bad value '1.5' for retries: expected an integer >= 0");
  EXPECT_PARSE_ERROR("[% priority=high %] a\n", 1, 13, "bad value 'high' for priority: expected an integer");
  EXPECT_PARSE_ERROR("[% timeout=1h30 %] a\n", 1, 12,
                     "bad duration '1h30' for timeout: expected e.g. 90, 90s, 30m, 2h or 1h30m");
}

TEST(TaskFile, OutOfRangeIntegersAreErrors) {
  EXPECT_PARSE_ERROR("[% cores=0 %] a\n", 1, 10, "cores=0 is out of range: expected 1 to 4294967295");
  EXPECT_PARSE_ERROR("[% cores=4294967296 %] a\n", 1, 10,
                     "cores=4294967296 is out of range: expected 1 to 4294967295");
  EXPECT_PARSE_ERROR("[% gpus=99999999999999999999999 %] a\n", 1, 9,
                     "gpus=99999999999999999999999 is out of range: expected 0 to 4294967295");
  EXPECT_PARSE_ERROR("[% priority=2147483648 %] a\n", 1, 13,
                     "priority=2147483648 is out of range: expected -2147483648 to 2147483647");
  EXPECT_PARSE_ERROR("[% priority=-2147483649 %] a\n", 1, 13,
                     "priority=-2147483649 is out of range: expected -2147483648 to 2147483647");
  EXPECT_PARSE_ERROR("[% timeout=4294967296 %] a\n", 1, 12,
                     "bad duration '4294967296' for timeout: expected e.g. 90, 90s, 30m, 2h or 1h30m");
}

TEST(TaskFile, BadNameIsAnError) {
  const std::string rule = "': a name is a letter or '_' followed by letters, digits, '_', '.' or '-'";
  EXPECT_PARSE_ERROR("[% name=1abc %] a\n", 1, 9, "bad name '1abc" + rule);
  EXPECT_PARSE_ERROR("[% name=a/b %] a\n", 1, 9, "bad name 'a/b" + rule);
  EXPECT_PARSE_ERROR("[% name= %] a\n", 1, 9, "bad name '" + rule);
}

TEST(TaskFile, DuplicateNameIsAnErrorAtTheSecond) {
  EXPECT_PARSE_ERROR("[% name=a %] x\n\n[% cores=2 name=a %] y\n", 3, 17,
                     "duplicate name 'a' (first used on line 1)");
}

TEST(TaskFile, DefaultsCannotSetAName) {
  EXPECT_PARSE_ERROR("#MPIQ defaults name=x\na\n", 1, 16, "'name' cannot have a default: names are unique");
}

TEST(TaskFile, DefaultsNeedAKeyValue) {
  EXPECT_PARSE_ERROR("#MPIQ defaults \na\n", 1, 7, "'#MPIQ defaults' needs at least one key=value");
}

TEST(TaskFile, BadDefaultIsAnErrorAtItsColumn) {
  EXPECT_PARSE_ERROR("#MPIQ defaults cores=x\na\n", 1, 22,
                     "bad value 'x' for cores: expected an integer >= 1");
  EXPECT_PARSE_ERROR(
      "#MPIQ defaults colour=red\na\n", 1, 16,
      "unknown setting 'colour' (expected name, cores, gpus, mem, timeout, retries, priority or repeat)");
}

TEST(TaskFile, UnknownDirectiveIsAnError) {
  EXPECT_PARSE_ERROR("a\n #MPIQ barier\n", 2, 8,
                     "unknown directive 'barier' (expected 'barrier', 'defaults' or 'pernode')");
  EXPECT_PARSE_ERROR("#MPIQ\na\n", 1, 1,
                     "missing directive after '#MPIQ' (expected 'barrier', 'defaults' or 'pernode')");
}

TEST(TaskFile, TextAfterBarrierIsAnError) {
  EXPECT_PARSE_ERROR("a\n#MPIQ barrier now\n", 2, 15, "unexpected text after '#MPIQ barrier'");
}

TEST(TaskFile, FileWithoutTasksIsAnError) {
  for (std::string_view text :
       {"", "\n\n", "# only a comment\n", "#MPIQ barrier\n#MPIQ defaults cores=2\n"}) {
    SCOPED_TRACE(text);
    try {
      parse(text);
      ADD_FAILURE() << "parsed";
    } catch (const InputError& e) {
      EXPECT_STREQ(e.what(), "t.tasks: no tasks");
    }
  }
}

TEST(TaskFile, NulByteIsAnError) {
  EXPECT_PARSE_ERROR(std::string_view("a\necho \0b\n", 10), 2, 6,
                     "NUL byte in the task file (is it a binary file?)");
}

// --- GREASY's documented examples mean the same in mpiq ---

TEST(Greasy, GuideWorkdirExample) {
  const TaskTable t = parse_file(kData + "/parse-greasy-guide-workdir.tasks");
  EXPECT_EQ(task_ids(t), (Ids{1, 2}));
  EXPECT_EQ(t.workdir[0], "");
  EXPECT_EQ(command_of(t, 1), "task 1 # executed on the directory which greasy has been launched from");
  EXPECT_EQ(t.workdir[1], "/home/user/greasy");
  EXPECT_EQ(command_of(t, 2),
            "task 2 # executes \u201c"
            "cd /home/user/greasy && task 2\u201d");
}

TEST(Greasy, GuideDependencyExample) {
  const TaskTable t = parse_file(kData + "/parse-greasy-guide-deps.tasks");
  EXPECT_EQ(task_ids(t), (Ids{1, 2, 3, 4, 5}));
  EXPECT_EQ(deps_of(t, 1), (Ids{}));
  EXPECT_EQ(deps_of(t, 2), (Ids{1}));
  EXPECT_EQ(deps_of(t, 3), (Ids{1, 2}));
  EXPECT_EQ(deps_of(t, 4), (Ids{}));
  EXPECT_EQ(deps_of(t, 5), (Ids{2, 3, 4}));
  EXPECT_EQ(command_of(t, 5), "task 5");
}

TEST(Greasy, GuideReferenceExample) {
  const TaskTable t = parse_file(kData + "/parse-greasy-guide-reference.tasks");
  EXPECT_EQ(task_ids(t), (Ids{2, 4, 5, 6, 7, 9, 11, 13, 15, 17, 19}));
  EXPECT_EQ(deps_of(t, 9), (Ids{5}));
  EXPECT_EQ(command_of(t, 9), "/bin/sleep 9");
  EXPECT_EQ(deps_of(t, 11), (Ids{9}));
  // GREASY marks `[#1-3#]` invalid because lines 1 and 3 are comments; mpiq's ranges cover the task
  // lines inside them, so a file GREASY half-runs is whole in mpiq.
  EXPECT_EQ(deps_of(t, 13), (Ids{2}));
  EXPECT_EQ(deps_of(t, 15), (Ids{2, 5, 6, 7}));
  EXPECT_EQ(t.workdir[row_of(t, 17)], "/tmp/scratch");
  EXPECT_EQ(command_of(t, 17), "pwd");
  EXPECT_EQ(t.workdir[row_of(t, 19)], "/tmp/scratch");
  EXPECT_EQ(deps_of(t, 19), (Ids{17}));
  EXPECT_EQ(command_of(t, 19), "echo \u201cIt works!\u201d");
}

TEST(Greasy, ShortExample) {
  const TaskTable t = parse_file(kData + "/parse-greasy-short-example.tasks");
  EXPECT_EQ(task_ids(t), (Ids{1, 2, 3}));
  EXPECT_EQ(t.edge_count(), 0u);
  EXPECT_EQ(command_of(t, 1), "/bin/sleep 20");
}

// GREASY's example.txt mixes valid lines with lines it reports invalid (23, 26, 27, 29, 31, 32) and skips.
// mpiq refuses the file; with those lines commented out, every other line means what it means in GREASY.
const std::vector<uint32_t> kGreasyInvalid = {23, 26, 27, 29, 31, 32};

std::string greasy_example_without(const std::vector<uint32_t>& drop) {
  std::istringstream in(read(kData + "/parse-greasy-example.tasks"));
  std::string out, line;
  for (uint32_t n = 1; std::getline(in, line); ++n)
    out += (std::find(drop.begin(), drop.end(), n) != drop.end() ? "# " + line : line) + "\n";
  return out;
}

TEST(Greasy, ExampleValidLinesMeanTheSame) {
  const TaskTable t = parse(greasy_example_without(kGreasyInvalid));
  EXPECT_EQ(task_ids(t), (Ids{1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 22, 24}));
  EXPECT_EQ(deps_of(t, 11), (Ids{5}));
  EXPECT_EQ(command_of(t, 11), "/bin/sleep 11");
  EXPECT_EQ(deps_of(t, 12), (Ids{11}));
  EXPECT_EQ(deps_of(t, 13), (Ids{1, 2, 3}));
  EXPECT_EQ(deps_of(t, 14), (Ids{1, 3, 4, 5}));
  EXPECT_EQ(deps_of(t, 15), (Ids{}));
  EXPECT_EQ(command_of(t, 15), "/usr/bin/hostname");
  // `[ 1 ]` is not a prefix: GREASY runs the line as a command (which fails), and so does mpiq.
  EXPECT_EQ(command_of(t, 22), "[ 1 ]\t\t/bin/sleep 22");
  EXPECT_EQ(command_of(t, 24), "[ 1 #]\t\t/bin/sleep 24 ");
  for (TaskIndex r = 0; r < t.size(); ++r) EXPECT_EQ(t.workdir[r], "");
}

TEST(Greasy, ExampleInvalidLinesAreErrors) {
  const std::string bad = "': expected an id (3), a range (5-7), a relative id (-1) or a task name";
  const struct {
    uint32_t line, column;
    std::string message;
  } cases[] = {
      {23, 1, "unterminated '[#' (no closing '#]' on this line)"},
      {26, 4, "bad dependency '+1" + bad},
      {27, 4, "dependency '1000' points past the last line (34)"},
      {29, 4, "dependency '-1' points at line 28, which is a comment, not a task"},
      {31, 4, "bad dependency '2->6" + bad},
      {32, 4, "unknown dependency 'mistake'"},
  };
  for (const auto& c : cases) {
    std::vector<uint32_t> others;
    for (uint32_t n : kGreasyInvalid)
      if (n != c.line) others.push_back(n);
    EXPECT_PARSE_ERROR(greasy_example_without(others), c.line, c.column, c.message);
  }
}

TEST(Greasy, RestartFileParses) {
  const TaskTable t = parse_file(kData + "/parse-greasy-restart.tasks");
  EXPECT_EQ(task_ids(t), (Ids{8, 10, 12, 14, 16}));
  EXPECT_EQ(deps_of(t, 10), (Ids{8}));
  EXPECT_EQ(command_of(t, 10), "/bin/sleep 13");
  EXPECT_EQ(command_of(t, 16), "[ 1 #] /bin/sleep 24");
}

// The guide prints the restart file without the blank line that follows the header, so its `[# 8 #]`
// points at a comment: GREASY marks that task invalid, mpiq refuses it.
TEST(Greasy, GuidePrintedRestartPointsAtACommentAndIsRefused) {
  std::string text = read(kData + "/parse-greasy-restart.tasks");
  text.erase(text.find("\n\n"), 1);
  EXPECT_PARSE_ERROR(text, 9, 4, "dependency '8' points at line 8, which is a comment, not a task");
}

// --- The examples shipped in examples/ ---

TEST(Examples, HelloParses) {
  const TaskTable t = parse_file(kExamples + "/hello.tasks");
  EXPECT_GE(t.size(), 3u);
  EXPECT_GT(t.edge_count(), 0u);
  bool named = false;
  for (TaskIndex r = 0; r < t.size(); ++r) named = named || !t.name[r].empty();
  EXPECT_TRUE(named);
}

TEST(Examples, PipelineUsesEveryFeature) {
  const TaskTable t = parse_file(kExamples + "/pipeline.tasks");
  const GraphSummary s = summarize(t);
  EXPECT_EQ(s.barriers, 1u);
  bool named = false, workdir = false, retry = false, priority = false, defaults = false;
  for (TaskIndex r = 0; r < t.size(); ++r) {
    named = named || !t.name[r].empty();
    workdir = workdir || !t.workdir[r].empty();
    retry = retry || t.retries[r] > 0;
    priority = priority || t.priority[r] != 0;
    defaults = defaults || t.timeout_s[r] > 0;
  }
  EXPECT_TRUE(named && workdir && retry && priority && defaults);
}

TEST(Examples, GreasyStyleFileParses) {
  const TaskTable t = parse_file(kExamples + "/greasy.tasks");
  EXPECT_GE(t.size(), 3u);
  EXPECT_EQ(summarize(t).barriers, 0u);
}

// Ranges that would expand past kMaxDependencyEdges are an error at the line and column of the range
// that crosses the cap, not an allocation that takes the machine's memory: 11,000 lines that each wait
// for the whole file are 121 million dependencies.
TEST(TaskFile, RangesThatExpandPastTheCapAreAnErrorAtTheirLine) {
  std::string text;
  for (int i = 0; i < 11000; ++i) text += "[# 1-11000 #] true\n";
  try {
    parse(text);
    ADD_FAILURE() << "parsed without error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.message(),
              "range '1-11000': the file's ranges expand to more than 100000000 dependencies; let one task "
              "(or #MPIQ barrier) wait for the range, and the others for it");
    // The first line whose range crosses the cap: 10,999 dependencies per line.
    EXPECT_EQ(e.line(), kMaxDependencyEdges / 10999 + 1);
    EXPECT_EQ(e.column(), 4u);
  }
}

TEST(TaskFile, PernodeCommandsAreReadAndAreNotTasks) {
  NodeCommands pernode;
  const TaskTable t = parse_task_file(
      "#MPIQ pernode start  mkdir -p /tmp/x && cp in /tmp/x\na\n#MPIQ pernode stop rm -r /tmp/x\nb\n", "t.tasks",
      &pernode);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t.id[0], 2u);
  EXPECT_EQ(t.id[1], 4u);
  EXPECT_EQ(pernode.start.line, 1u);
  EXPECT_EQ(pernode.start.command, "mkdir -p /tmp/x && cp in /tmp/x");
  EXPECT_EQ(pernode.stop.line, 3u);
  EXPECT_EQ(pernode.stop.command, "rm -r /tmp/x");
  parse_task_file("a\n", "t.tasks", &pernode);
  EXPECT_FALSE(pernode.any());
}

TEST(TaskFile, PernodeMistakesAreErrors) {
  EXPECT_PARSE_ERROR("#MPIQ pernode\na\n", 1, 14, "'#MPIQ pernode' needs 'start CMD' or 'stop CMD'");
  EXPECT_PARSE_ERROR("#MPIQ pernode begin x\na\n", 1, 15,
                     "unknown pernode command 'begin' (expected 'start' or 'stop')");
  EXPECT_PARSE_ERROR("#MPIQ pernode start  \na\n", 1, 20, "missing command after '#MPIQ pernode start'");
  EXPECT_PARSE_ERROR("#MPIQ pernode start a\n#MPIQ pernode start b\nc\n", 2, 15,
                     "a second '#MPIQ pernode start' (the first is on line 1; join the commands with && on one line)");
  EXPECT_PARSE_ERROR("#MPIQ pernode stop a \\\nb\n", 1, 22,
                     "a pernode command cannot continue on the next line (write it as one line)");
  EXPECT_PARSE_ERROR("#MPIQ pernode start a\n[# 1 #] b\n", 2, 4, "dependency '1' points at line 1, which is an '#MPIQ' directive, not a task");
}


}  // namespace
}  // namespace mpiq::core
