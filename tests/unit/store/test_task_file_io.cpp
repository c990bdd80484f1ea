// Task files on disk (store/task_file_io.hpp): read, then parsed by the core under their path.

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "core/task_file.hpp"
#include "mpiq/error.hpp"
#include "store/task_file_io.hpp"

namespace mpiq::store {
namespace {

using core::TaskId;
using core::TaskIndex;
using core::TaskTable;
using Ids = std::vector<TaskId>;

const std::string kData = MPIQ_TEST_DATA;

// The ids of the command tasks (barrier rows left out), in row order.
Ids task_ids(const TaskTable& t) {
  Ids out;
  for (TaskIndex r = 0; r < t.size(); ++r)
    if (!t.is_barrier(r)) out.push_back(t.id[r]);
  return out;
}

TEST(TaskFileIo, LoadReadsTheFile) {
  const TaskTable t = load_task_file(kData + "/parse-greasy-short-example.tasks");
  EXPECT_EQ(task_ids(t), (Ids{1, 2, 3}));
}

// The text is freed before the runtime columns are made (the hub's peak memory), and the table is
// whole all the same: every column has a row per task, each task waits to run.
TEST(TaskFileIo, LoadGivesEveryColumnItsRowsAfterTheText) {
  const std::string path = kData + "/parse-greasy-short-example.tasks";
  const TaskTable t = load_task_file(path);
  EXPECT_EQ(core::find_table_problem(t), "");
  ASSERT_EQ(t.state.size(), t.size());
  for (TaskIndex r = 0; r < t.size(); ++r) {
    EXPECT_EQ(t.attempts[r], 0u);
    EXPECT_EQ(t.exit_code[r], -1);
  }
  // What the parser hands over has the spec columns only.
  const TaskTable spec = core::detail::parse_spec_columns(read_task_file(path), path, nullptr);
  EXPECT_EQ(spec.size(), t.size());
  EXPECT_EQ(spec.cores.size(), t.size());
  EXPECT_TRUE(spec.state.empty());
}

TEST(TaskFileIo, UnreadableFileIsAnInputErrorNamingThePath) {
  const std::string missing = kData + "/parse-no-such-file.tasks";
  try {
    load_task_file(missing);
    FAIL() << "loaded";
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), missing);
    EXPECT_EQ(std::string(e.what()), missing + ": cannot read the task file: No such file or directory");
  }
  try {
    load_task_file(kData);
    FAIL() << "loaded a directory";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), kData + ": cannot read the task file: Is a directory");
  }
}

TEST(TaskFileIo, ErrorsFromLoadNameThePath) {
  try {
    load_task_file(kData + "/parse-greasy-example.tasks");
    FAIL() << "loaded";
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), kData + "/parse-greasy-example.tasks");
    EXPECT_EQ(e.line(), 23u);
  }
}

// A pipe is read to its end, as a regular file is (`mpiq check <(generate-tasks)`).
TEST(TaskFileIo, ReadsAPipeToItsEnd) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::string text;
  for (int i = 1; i <= 20000; ++i) text += "echo " + std::to_string(i) + "\n";  // past one pipe buffer
  std::thread writer([&] {
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(fds[1], text.data() + done, text.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fds[1]);
  });
  const std::string path = "/dev/fd/" + std::to_string(fds[0]);
  const TaskTable t = load_task_file(path);
  writer.join();
  ::close(fds[0]);
  EXPECT_EQ(t.size(), 20000u);
  EXPECT_EQ(t.command[19999], "echo 20000");
}

TEST(TaskFileIo, ReadTaskFileGivesTheBytes) {
  const std::string text = read_task_file(kData + "/parse-greasy-short-example.tasks");
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(load_task_file(kData + "/parse-greasy-short-example.tasks").size(),
            core::parse_task_file(text, "x").size());
}

}  // namespace
}  // namespace mpiq::store
