// Resume matching by content: a resumed program's submissions find the checkpoint's function tasks.
// Pure logic over a table built by hand; no session, no threads.

#include <gtest/gtest.h>

#include <vector>

#include "embed/resume_match.hpp"
#include "mpiq/error.hpp"

using namespace mpiq;
using core::TaskId;
using core::TaskIndex;

namespace {

// A restored table: rows appended in order, function tasks unless kind is "".
struct Restored {
  core::TaskTable table;
  std::unordered_map<std::string, TaskId> names;

  TaskIndex add(TaskId id, std::string_view kind, std::string_view payload, std::vector<TaskIndex> deps = {},
                std::string_view name = "") {
    core::TaskSpec s;
    s.id = id;
    s.kind = kind;
    s.payload = payload;
    s.command = kind.empty() ? "true" : "";
    s.name = name;
    s.deps = deps;
    const TaskIndex row = table.append(s);
    if (!name.empty()) names.emplace(std::string(name), id);
    return row;
  }
};

std::vector<TaskId> ids(std::initializer_list<TaskId> l) {
  return l;
}

}  // namespace

TEST(ResumeMatch, ASubmissionWithTheSameKindPayloadAndDependenciesIsTheSavedTask) {
  Restored r;
  r.add(1, "square", "3");
  r.add(2, "square", "4");
  r.add(3, "sum", "", {0, 1});
  r.table.init_runtime_columns();
  embed::ResumeMatch m(r.table, r.names);
  EXPECT_EQ(m.claim("square", "4", "", {}), TaskIndex{1});
  EXPECT_EQ(m.claim("square", "3", "", {}), TaskIndex{0});
  EXPECT_EQ(m.claim("sum", "", "", ids({1, 2})), TaskIndex{2});
}

TEST(ResumeMatch, ADifferentPayloadKindOrDependencyIsANewTask) {
  Restored r;
  r.add(1, "square", "3");
  r.add(2, "sum", "", {0});
  r.table.init_runtime_columns();
  embed::ResumeMatch m(r.table, r.names);
  EXPECT_EQ(m.claim("square", "5", "", {}), std::nullopt);
  EXPECT_EQ(m.claim("cube", "3", "", {}), std::nullopt);
  EXPECT_EQ(m.claim("sum", "", "", ids({7})), std::nullopt);
  EXPECT_EQ(m.claim("sum", "", "", {}), std::nullopt);
}

TEST(ResumeMatch, EachSavedTaskIsClaimedOnce) {
  Restored r;
  r.add(1, "square", "3");
  r.add(2, "square", "3");
  r.table.init_runtime_columns();
  embed::ResumeMatch m(r.table, r.names);
  EXPECT_EQ(m.claim("square", "3", "", {}), TaskIndex{0});  // the first unclaimed, in row order
  EXPECT_EQ(m.claim("square", "3", "", {}), TaskIndex{1});
  EXPECT_EQ(m.claim("square", "3", "", {}), std::nullopt);  // a third is new
}

TEST(ResumeMatch, CommandTasksAreNotMatched) {
  Restored r;
  r.add(1, "", "");
  r.table.init_runtime_columns();
  embed::ResumeMatch m(r.table, r.names);
  EXPECT_EQ(m.claim("", "", "", {}), std::nullopt);
}

TEST(ResumeMatch, ANamedSubmissionMustBeItsNamesTask) {
  Restored r;
  r.add(1, "square", "3", {}, "first");
  r.table.init_runtime_columns();
  embed::ResumeMatch m(r.table, r.names);
  try {
    (void)m.claim("square", "9", "first", {});
    FAIL() << "a named submission that differs from its saved task was taken as new";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--fresh"), std::string::npos) << e.what();
  }
  EXPECT_EQ(m.claim("square", "3", "first", {}), TaskIndex{0});
  EXPECT_THROW((void)m.claim("square", "3", "first", {}), InputError);  // claimed already: a duplicate
}

TEST(ResumeMatch, WithoutACheckpointEverythingIsNew) {
  embed::ResumeMatch m;
  EXPECT_EQ(m.claim("square", "3", "", {}), std::nullopt);
}
