// Sweeps, `[% repeat= %]` (docs/design.md §2): the parser's rows, dependencies on a sweep, the errors,
// and naming an element (`ID[i]`, core/task_ref.hpp).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/graph.hpp"
#include "core/messages.hpp"
#include "core/task_file.hpp"
#include "core/task_outcome.hpp"
#include "core/task_ref.hpp"
#include "mpiq/error.hpp"

namespace mpiq::core {
namespace {

TaskTable parse(std::string_view text) {
  return parse_task_file(text, "t.tasks");
}

// The error parsing `text` gives, as "LINE:COL: message".
std::string error_of(std::string_view text) {
  try {
    parse(text);
  } catch (const InputError& e) {
    return std::to_string(e.line()) + ":" + std::to_string(e.column()) + ": " + e.message();
  }
  return "parsed without error";
}

// The labels of the rows that row `r` waits for.
std::vector<std::string> deps_of(const TaskTable& t, TaskIndex r) {
  std::vector<std::string> out;
  for (uint64_t k = t.dep_offsets[r]; k < t.dep_offsets[r + 1]; ++k) {
    std::string label = t.label(t.deps[k]);
    if (t.is_sweep_join(t.deps[k])) label += '*';
    out.push_back(std::move(label));
  }
  return out;
}

// The labels of the command tasks, in row order.
std::vector<std::string> labels(const TaskTable& t) {
  std::vector<std::string> out;
  for (TaskIndex r = 0; r < t.size(); ++r)
    if (!t.is_barrier(r)) out.push_back(t.label(r));
  return out;
}

using Strings = std::vector<std::string>;

TEST(Sweep, RepeatCountMakesElementsZeroToNMinusOne) {
  const TaskTable t = parse("echo first\n[% repeat=3 %] echo $MPIQ_REPEAT_INDEX\necho last\n");
  EXPECT_EQ(labels(t), (Strings{"1", "2[0]", "2[1]", "2[2]", "3"}));
  const TaskIndex e1 = *t.find(2, 1);
  EXPECT_EQ(t.command[e1], "echo $MPIQ_REPEAT_INDEX");
  EXPECT_EQ(t.element[e1], 1u);
  EXPECT_TRUE(t.is_element(e1));
  EXPECT_FALSE(t.is_element(*t.find(1)));
  EXPECT_EQ(find_table_problem(t), "");
}

TEST(Sweep, RangeAndStepGiveTheIndices) {
  EXPECT_EQ(labels(parse("[% repeat=5-8 %] x\n")), (Strings{"1[5]", "1[6]", "1[7]", "1[8]"}));
  EXPECT_EQ(labels(parse("[% repeat=0-10:5 %] x\n")), (Strings{"1[0]", "1[5]", "1[10]"}));
  // The last index is where the steps stop, as in disBatch's REPEAT: 1, 4, 7 for 1-8:3.
  EXPECT_EQ(labels(parse("[% repeat=1-8:3 %] x\n")), (Strings{"1[1]", "1[4]", "1[7]"}));
  EXPECT_EQ(labels(parse("[% repeat=7-7 %] x\n")), (Strings{"1[7]"}));
}

TEST(Sweep, ElementsKeepTheLinesSettingsAndDirectory) {
  const TaskTable t = parse("[@ /w @] [% cores=2 gpus=1 timeout=1m retries=3 priority=4 repeat=2 %] run\n");
  for (const uint32_t e : {0u, 1u}) {
    const TaskIndex r = *t.find(1, e);
    EXPECT_EQ(t.cores[r], 2u);
    EXPECT_EQ(t.gpus[r], 1u);
    EXPECT_EQ(t.timeout_s[r], 60u);
    EXPECT_EQ(t.retries[r], 3u);
    EXPECT_EQ(t.priority[r], 4);
    EXPECT_EQ(t.workdir[r], "/w");
  }
}

TEST(Sweep, ADependencyOnTheLineWaitsForEveryElementThroughItsJoinRow) {
  const TaskTable t =
      parse("[% name=sim repeat=50 %] sim\n[# 1 #] a\n[# -2 #] b\n[# sim #] c\n[# 1-1 #] d\n");
  const TaskIndex join = *t.find(1, kNoElement);
  EXPECT_TRUE(t.is_sweep_join(join));
  EXPECT_EQ(t.name[join], "sim");
  EXPECT_EQ(t.dep_offsets[join + 1] - t.dep_offsets[join], 50u);
  for (TaskId id : {2u, 3u, 4u, 5u}) EXPECT_EQ(deps_of(t, *t.find(id)), (Strings{"1*"})) << id;
  // The elements themselves carry no name (names stay unique); an order gives them the sweep's.
  EXPECT_EQ(t.name[*t.find(1, 7)], "");
  EXPECT_EQ(make_order(t, *t.find(1, 7)).name, "sim");
  EXPECT_EQ(make_order(t, *t.find(1, 7)).element, 7u);
  EXPECT_EQ(make_order(t, *t.find(2)).element, kNoElement);
}

TEST(Sweep, ForwardDependenciesOfASweepHoldForEveryElement) {
  const TaskTable t = parse("[# 2, later #] [% repeat=3 %] x\necho two\n[% name=later %] echo three\n");
  for (const uint32_t e : {0u, 1u, 2u}) EXPECT_EQ(deps_of(t, *t.find(1, e)), (Strings{"2", "3"})) << e;
}

TEST(Sweep, ASweepMayWaitForASweep) {
  const TaskTable t = parse("[% repeat=1000 %] a\n[# 1 #] [% repeat=1000 %] b\n");
  // 1000 edges into the first join row, one from each element of the second, 1000 into its join row.
  EXPECT_EQ(t.edge_count(), 3000u);
  EXPECT_EQ(deps_of(t, *t.find(2, 999)), (Strings{"1*"}));
}

TEST(Sweep, BarriersAndCyclesSeeTheElements) {
  const TaskTable t = parse("[% repeat=2 %] a\n#MPIQ barrier\necho after\n");
  EXPECT_EQ(deps_of(t, *t.find(3)), (Strings{"2"}));
  EXPECT_EQ(error_of("[# 2 #] [% repeat=2 %] a\n[# 1 #] b\n"),
            "1:1: dependency cycle: 1[0] -> 2 -> 1 -> 1[0]");
}

TEST(Sweep, CheckCountsElementsAsTasks) {
  const GraphSummary s = summarize(parse("[% repeat=10 %] a\n[# 1 #] b\n#MPIQ barrier\nc\n"));
  EXPECT_EQ(s.tasks, 12u);
  EXPECT_EQ(s.sweeps, 1u);
  EXPECT_EQ(s.barriers, 1u);
  EXPECT_EQ(s.roots, 10u);
  EXPECT_EQ(s.depth, 3u);
  EXPECT_EQ(s.widest_level, 10u);
}

TEST(Sweep, BadRepeatsAreErrorsAtTheirValue) {
  EXPECT_EQ(error_of("[% repeat=0 %] a\n"), "1:11: repeat=0 makes no task: a sweep has at least one element");
  EXPECT_EQ(error_of("[% repeat=x %] a\n"),
            "1:11: bad repeat 'x': expected a count (repeat=10), a range (repeat=0-9) or a range with a step "
            "(repeat=0-90:10)");
  EXPECT_EQ(error_of("[% repeat=9-2 %] a\n"), "1:11: repeat range '9-2' ends before it starts");
  EXPECT_EQ(error_of("[% repeat=0-9:0 %] a\n"), "1:15: repeat step 0: a step is at least 1");
  EXPECT_EQ(error_of("[% repeat=1-4294967295 %] a\n"),
            "1:13: repeat index 4294967295 is too large (at most 4294967294)");
  EXPECT_EQ(error_of("[% repeat=100000000 %] a\n"),
            "1:11: repeat of 100000000 elements: at most 10000000 on one line (split the sweep over several "
            "lines, or submit more while the run goes)");
  EXPECT_EQ(error_of("#MPIQ defaults repeat=3\na\n"),
            "1:16: 'repeat' cannot have a default: a sweep is one line's");
  EXPECT_EQ(error_of("[% repeat=2 repeat=3 %] a\n"), "1:13: setting 'repeat' given twice");
}

TEST(Sweep, ATaskIsNamedByIdNameOrElement) {
  const TaskTable t = parse("echo a\n[% name=sim repeat=10-30:10 %] sim\n#MPIQ barrier\n[% name=b %] b\n");
  std::string why;
  EXPECT_EQ(find_task_ref(t, "1", &why), t.find(1));
  EXPECT_EQ(find_task_ref(t, "b", &why), t.find(4));
  EXPECT_EQ(find_task_ref(t, "2[20]", &why), t.find(2, 20));
  EXPECT_EQ(find_task_ref(t, "sim[30]", &why), t.find(2, 30));
  EXPECT_FALSE(find_task_ref(t, "2", &why));
  EXPECT_EQ(why, "task '2' is a sweep of 3 elements: 10, 20, 30: name one as 2[10]");
  EXPECT_FALSE(find_task_ref(t, "2[15]", &why));
  EXPECT_EQ(why, "sweep '2' has no element 15 (it has 3 elements: 10, 20, 30)");
  EXPECT_FALSE(find_task_ref(t, "1[0]", &why));
  EXPECT_EQ(why, "task '1' is not a sweep: name it without [0]");
  EXPECT_FALSE(find_task_ref(t, "3", &why));  // the barrier line
  EXPECT_EQ(why, "no task '3' (give a task id, the line number, or a name)");
  EXPECT_FALSE(find_task_ref(t, "2[x]", &why));
  EXPECT_EQ(why, "bad task '2[x]': an element of a sweep is ID[i] or NAME[i], i a number");
}

TEST(Sweep, ASkippedDependantNamesTheFailedElement) {
  TaskTable t = parse("[% repeat=3 %] a\n[# 1 #] b\n");
  t.state[*t.find(1, 1)] = TaskState::failed;
  t.state[*t.find(1, kNoElement)] = TaskState::skipped;
  t.state[*t.find(2)] = TaskState::skipped;
  EXPECT_EQ(describe_end(t, *t.find(2)), "task 1[1], which it depends on, failed");
}

TEST(Sweep, OrdersCarryTheElementThroughTheirEncoding) {
  const TaskTable t = parse("[% repeat=4 %] a\nb\n");
  const std::vector<TaskOrder> orders = {make_order(t, *t.find(1, 3)), make_order(t, *t.find(2))};
  const std::vector<char> bytes = encode(orders);
  const std::vector<TaskOrder> back = decode_orders(bytes);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].element, 3u);
  EXPECT_EQ(back[0].id, 1u);
  EXPECT_EQ(back[1].element, kNoElement);
}

TEST(Sweep, TheTableKeyIsIdThenElement) {
  TaskTable t = parse("[% repeat=3 %] a\n");
  std::swap(t.element[0], t.element[1]);
  EXPECT_EQ(find_table_problem(t), "task ids are not ascending at row 1 (id 1[0] after 1[1])");
}

TEST(Sweep, TheShippedExampleIsTwentyElementsAndADependant) {
  std::ifstream in(std::string(MPIQ_TEST_DATA) + "/../../examples/sweep.tasks", std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  const TaskTable t = parse_task_file(text.str(), "sweep.tasks");
  const GraphSummary s = summarize(t);
  EXPECT_EQ(s.tasks, 21u);
  EXPECT_EQ(s.sweeps, 1u);
  EXPECT_EQ(labels(t).front(), "5[0]");
  EXPECT_EQ(labels(t)[19], "5[95]");
  EXPECT_EQ(deps_of(t, *t.find(7)), (Strings{"5*"}));
}

}  // namespace
}  // namespace mpiq::core
