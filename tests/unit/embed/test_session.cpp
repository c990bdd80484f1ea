// The embedding API in one process (the hub and one worker thread, as a program started without a
// launcher): results, failures, recycling, timeouts, limits, mixed runs and resume.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mpiq/mpiq.hpp>
#include <set>
#include <thread>

#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

using mpiq::test::TempDir;

mpiq::SessionOptions quiet() {
  mpiq::SessionOptions o;
  o.log_level = "error";
  return o;
}

std::string square(mpiq::TaskContext&, std::string_view p) {
  const long x = std::stol(std::string(p));
  return std::to_string(x * x);
}

size_t lines_in(const std::string& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

}  // namespace

TEST(Session, ResultsMatchInputsFor100000Tasks) {
  mpiq::Session s(quiet());
  s.register_function("square", square);
  std::vector<mpiq::TaskId> ids;
  for (long i = 0; i < 100000; ++i) ids.push_back(s.submit("square", std::to_string(i)));
  // Rows submitted before run() get their runtime columns when it starts: not ended until then.
  EXPECT_FALSE(s.result(ids[7]).has_value());
  EXPECT_FALSE(s.result(ids.back()).has_value());
  std::vector<std::string> got(ids.size());
  size_t ends = 0;
  s.on_end([&](const mpiq::Result& r) {
    ASSERT_TRUE(r.ok()) << r.error;
    got[r.id - ids.front()] = r.bytes;
    ++ends;
  });
  EXPECT_EQ(s.run(), mpiq::ExitCode::done);
  EXPECT_EQ(ends, ids.size());
  for (long i = 0; i < 100000; ++i) ASSERT_EQ(got[static_cast<size_t>(i)], std::to_string(i * i)) << i;
  EXPECT_EQ(s.result(ids[7])->bytes, "49");
}

TEST(Session, ExceptionInWorkIsAFailedTaskWithItsMessage) {
  mpiq::Session s(quiet());
  s.register_function("boom", [](mpiq::TaskContext&, std::string_view p) -> std::string {
    throw std::runtime_error("bad input: " + std::string(p));
  });
  s.register_function("echo", [](mpiq::TaskContext&, std::string_view p) { return std::string(p); });
  auto failed = s.submit_future("boom", "42");
  mpiq::TaskOptions after;
  after.after = {1};
  auto skipped = s.submit_future("echo", "never", after);
  auto fine = s.submit_future("echo", "fine");
  EXPECT_EQ(s.run(), mpiq::ExitCode::failed);
  const mpiq::Result f = failed.get();
  EXPECT_EQ(f.status, mpiq::TaskStatus::failed);
  EXPECT_EQ(f.error, "bad input: 42");
  EXPECT_EQ(skipped.get().status, mpiq::TaskStatus::skipped);
  EXPECT_EQ(fine.get().bytes, "fine");
}

namespace {
std::atomic<int> g_pre{0}, g_post{0}, g_built{0};
class Counted final : public mpiq::TaskWorker {
 public:
  Counted() { ++g_built; }
  void pre_work() override { ++g_pre; }
  std::string work(mpiq::TaskContext&, std::string_view) override { return std::to_string(++uses_); }
  void post_work() override { ++g_post; }

 private:
  int uses_ = 0;  // state kept across tasks
};
}  // namespace

TEST(Session, RecycleRebuildsTheObjectAfterNTasks) {
  g_pre = g_post = g_built = 0;
  mpiq::SessionOptions o = quiet();
  o.recycle_after = 4;
  mpiq::Session s(o);
  s.register_kind<Counted>("counted");
  std::vector<std::future<mpiq::Result>> f;
  mpiq::TaskOptions chain;
  for (int i = 0; i < 10; ++i) {
    f.push_back(s.submit_future("counted", "", chain));
    chain.after = {static_cast<mpiq::TaskId>(i + 1)};  // in order, so the counts are predictable
  }
  EXPECT_EQ(s.run(), mpiq::ExitCode::done);
  EXPECT_EQ(g_built, 3);  // tasks 1-4, 5-8, 9-10
  EXPECT_EQ(g_pre, 3);
  EXPECT_EQ(g_post, 3);
  const char* want[] = {"1", "2", "3", "4", "1", "2", "3", "4", "1", "2"};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(f[static_cast<size_t>(i)].get().bytes, want[i]) << i;
}

TEST(Session, CommandLineRecycleAfterAndStateKeptWithoutIt) {
  g_pre = g_post = g_built = 0;
  int argc = 3;
  char a0[] = "prog", a1[] = "--recycle-after", a2[] = "2";
  char* args[] = {a0, a1, a2, nullptr};
  char** argv = args;
  mpiq::Session s(argc, argv, quiet());
  EXPECT_EQ(argc, 1);
  s.register_kind<Counted>("counted");
  for (int i = 0; i < 6; ++i) s.submit("counted", "");
  EXPECT_EQ(s.run(), mpiq::ExitCode::done);
  EXPECT_EQ(g_built, 3);
  EXPECT_EQ(g_post, 3);
}

TEST(Session, TimeoutAbandonsAHungCallAndAFreshObjectRunsTheRest) {
  g_pre = g_post = g_built = 0;
  mpiq::Session s(quiet());
  static std::atomic<bool> release{false};
  class Hangs final : public mpiq::TaskWorker {
   public:
    Hangs() { ++g_built; }
    std::string work(mpiq::TaskContext& c, std::string_view p) override {
      if (p == "hang")
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return "rank " + std::to_string(c.rank());
    }
  };
  s.register_kind<Hangs>("maybe_hang");
  mpiq::TaskOptions o;
  o.timeout_s = 1;
  auto hung = s.submit_future("maybe_hang", "hang", o);
  mpiq::TaskOptions after;
  after.after = {1};
  auto skipped = s.submit_future("maybe_hang", "x", after);
  std::vector<std::future<mpiq::Result>> rest;
  for (int i = 0; i < 5; ++i) rest.push_back(s.submit_future("maybe_hang", "x"));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(s.run(), mpiq::ExitCode::failed);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  const mpiq::Result r = hung.get();
  EXPECT_EQ(r.status, mpiq::TaskStatus::failed);
  EXPECT_NE(r.error.find("timed out"), std::string::npos) << r.error;
  EXPECT_EQ(skipped.get().status, mpiq::TaskStatus::skipped);
  for (auto& f : rest) EXPECT_TRUE(f.get().ok());
  EXPECT_EQ(g_built, 2);  // the poisoned object was replaced
  release = true;         // lets the abandoned thread end
}

TEST(Session, PayloadAndResultLimits) {
  mpiq::Session s(quiet());
  s.register_function("big", [](mpiq::TaskContext&, std::string_view p) {
    return std::string(p == "over" ? mpiq::kMaxResultBytes + 1 : mpiq::kMaxResultBytes, 'r');
  });
  const std::string too_big(mpiq::kMaxPayloadBytes + 1, 'p');
  try {
    s.submit("big", too_big);
    FAIL() << "an oversized payload was accepted";
  } catch (const mpiq::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds the limit"), std::string::npos) << e.what();
  }
  auto at_limit = s.submit_future("big", std::string(mpiq::kMaxPayloadBytes, 'p'));
  auto over = s.submit_future("big", "over");
  EXPECT_EQ(s.run(), mpiq::ExitCode::failed);
  EXPECT_EQ(at_limit.get().bytes.size(), mpiq::kMaxResultBytes);
  const mpiq::Result r = over.get();
  EXPECT_EQ(r.status, mpiq::TaskStatus::failed);
  EXPECT_NE(r.error.find("exceeds the limit"), std::string::npos) << r.error;
}

TEST(Session, MixedTaskFileAndFunctionTasks) {
  TempDir dir;
  std::ofstream(dir.file("mixed.tasks")) << "[% name=make %] echo 21 > " << dir.file("n.txt") << "\nfalse\n";
  mpiq::SessionOptions o = quiet();
  o.run_dir = dir.file("run");
  mpiq::Session s(o);
  s.register_function("read_double", [](mpiq::TaskContext&, std::string_view path) {
    std::ifstream in{std::string(path)};
    long x = 0;
    in >> x;
    return std::to_string(2 * x);
  });
  s.load_task_file(dir.file("mixed.tasks"));
  mpiq::TaskOptions after;
  after.after_names = {"make"};
  auto doubled = s.submit_future("read_double", dir.file("n.txt"), after);
  mpiq::TaskOptions after_false;
  after_false.after = {2};
  auto skipped = s.submit_future("read_double", "x", after_false);
  EXPECT_EQ(s.run(), mpiq::ExitCode::failed);  // line 2 fails
  EXPECT_EQ(doubled.get().bytes, "42");
  EXPECT_EQ(skipped.get().status, mpiq::TaskStatus::skipped);
  EXPECT_EQ(s.result(2)->error, "exit code 1");
  EXPECT_TRUE(fs::exists(dir.file("run/checkpoint.h5")));
}

// The hooks as one timeline: each task is sent, then started, then ended, once each; a task
// submitted from on_end is sent only after the end that submitted it.
TEST(Session, HooksSeeSendStartAndEndInThatOrderAndMaySubmitMore) {
  mpiq::Session s(quiet());
  s.register_function("square", square);
  std::vector<std::pair<char, mpiq::TaskId>> events;  // 's'ent, 'b'egun, 'e'nded
  s.on_send([&](const mpiq::TaskInfo& t) { events.emplace_back('s', t.id); });
  s.on_start([&](const mpiq::TaskInfo& t) { events.emplace_back('b', t.id); });
  s.on_end([&](const mpiq::Result& r) {
    events.emplace_back('e', r.id);
    if (r.bytes == "4") s.submit("square", "9");  // a task submitted during the run
  });
  s.submit("square", "2");
  s.submit("square", "3");
  EXPECT_EQ(s.run(), mpiq::ExitCode::done);
  const auto position = [&](char what, mpiq::TaskId id) {
    const auto it = std::find(events.begin(), events.end(), std::pair{what, id});
    EXPECT_EQ(std::count(events.begin(), events.end(), std::pair{what, id}), 1) << what << " of task " << id;
    return it - events.begin();
  };
  EXPECT_EQ(events.size(), 9u);
  for (mpiq::TaskId id : {1u, 2u, 3u}) {
    EXPECT_LT(position('s', id), position('b', id)) << "task " << id << " started before it was sent";
    EXPECT_LT(position('b', id), position('e', id)) << "task " << id << " ended before it started";
  }
  EXPECT_LT(position('e', 1), position('s', 3)) << "the task submitted at task 1's end was sent before it";
  EXPECT_EQ(s.result(3)->bytes, "81");
}

TEST(Session, SubmitRefusesUnknownDependenciesAndDuplicateNames) {
  mpiq::Session s(quiet());
  mpiq::TaskOptions o;
  o.after = {99};
  EXPECT_THROW(s.submit("k", "", o), mpiq::InputError);
  o = {};
  o.name = "a";
  s.submit("k", "", o);
  EXPECT_THROW(s.submit("k", "", o), mpiq::InputError);
}

// A run killed with kill -9 while its tasks run: the next run of the same program on the same run
// directory gets the results of the tasks that had finished from the checkpoint and journal, and
// runs only the others. Executions are counted in a file (one line each).
TEST(Session, ResumeAfterKillReturnsStoredResultsWithoutRerunning) {
  TempDir dir;
  const std::string log = dir.file("executions");
  const auto program = [&](bool slow) {
    mpiq::SessionOptions o = quiet();
    o.run_dir = dir.file("run");
    o.checkpoint_interval_s = 0.2;
    mpiq::Session s(o);
    s.register_function("square_logged", [&, slow](mpiq::TaskContext& c, std::string_view p) {
      std::ofstream(log, std::ios::app) << p << "\n";
      if (slow) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      return square(c, p);
    });
    std::vector<std::future<mpiq::Result>> f;
    for (int i = 0; i < 200; ++i) f.push_back(s.submit_future("square_logged", std::to_string(i)));
    const mpiq::ExitCode code = s.run();
    int checkpointed = 0;
    for (int i = 0; i < 200; ++i) {
      const mpiq::Result r = f[static_cast<size_t>(i)].get();
      EXPECT_EQ(r.bytes, std::to_string(i * i));
      checkpointed += r.from_checkpoint;
    }
    return std::pair{code, checkpointed};
  };
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    program(true);
    _exit(0);
  }
  while (lines_in(log) < 60) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  const size_t before = lines_in(log);
  ASSERT_LT(before, 200u) << "the first run finished before the kill";

  auto [code, checkpointed] = program(false);
  EXPECT_EQ(code, mpiq::ExitCode::done);
  // Every task ran; one recorded done before the kill never ran again. A task running at the kill
  // (finished but not yet journalled) may run twice: at most one per worker, so at most 2 here.
  std::ifstream in(log);
  std::multiset<int> runs;
  for (int x; in >> x;) runs.insert(x);
  for (int i = 0; i < 200; ++i) EXPECT_GE(runs.count(i), 1u) << i;
  EXPECT_GE(checkpointed, 50);
  EXPECT_LE(runs.size(), 200u + (200u - static_cast<size_t>(checkpointed)) - (200u - before) + 2u);
  EXPECT_EQ(runs.size() - before, 200u - static_cast<size_t>(checkpointed));
}

namespace {
// "p<producer>-<index>". Appended piece by piece: `"p" + std::to_string(p) + ...` trips GCC 12's
// false -Wrestrict in a Release build (PR 105329).
std::string producer_task_name(int producer, int index) {
  std::string name = "p";
  name += std::to_string(producer);
  name += '-';
  name += std::to_string(index);
  return name;
}
}  // namespace

// Producer threads submit while run() runs on the main thread; their holds keep the run open until
// they are done. Dependencies may point at tasks the same thread submitted a moment before, which the
// hub may not have taken yet.
TEST(Session, ThreadsSubmitDuringTheRun) {
  mpiq::Session s(quiet());
  s.register_function("square", square);
  constexpr int kThreads = 3, kPerThread = 4000;
  std::vector<std::vector<std::future<mpiq::Result>>> futures(kThreads);
  std::vector<std::thread> producers;
  std::vector<mpiq::Session::Hold> holds;
  for (int p = 0; p < kThreads; ++p) holds.push_back(s.hold());
  for (int p = 0; p < kThreads; ++p)
    producers.emplace_back([&, p, hold = std::move(holds[static_cast<size_t>(p)])]() mutable {
      std::this_thread::sleep_for(std::chrono::milliseconds(30 * p));  // some arrive mid-run
      for (int i = 0; i < kPerThread; ++i) {
        mpiq::TaskOptions o;
        if (i % 100 == 98) o.name = producer_task_name(p, i);
        if (i % 100 == 99) o.after_names = {producer_task_name(p, i - 1)};
        futures[static_cast<size_t>(p)].push_back(
            s.submit_future("square", std::to_string(p * kPerThread + i), o));
      }
      hold.release();
    });
  EXPECT_EQ(s.run(), mpiq::ExitCode::done);
  for (auto& t : producers) t.join();
  std::set<mpiq::TaskId> ids;
  for (int p = 0; p < kThreads; ++p) {
    auto& f = futures[static_cast<size_t>(p)];
    std::vector<mpiq::Result> r;
    for (auto& x : f) r.push_back(x.get());
    for (int i = 0; i < kPerThread; ++i) {
      const long x = p * kPerThread + i;
      EXPECT_EQ(r[static_cast<size_t>(i)].bytes, std::to_string(x * x));
      ids.insert(r[static_cast<size_t>(i)].id);
      if (i % 100 == 99) {
        EXPECT_GE(r[static_cast<size_t>(i)].start_time, r[static_cast<size_t>(i - 1)].end_time)
            << p << " " << i;
      }
    }
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_THROW(s.submit("square", "1"), mpiq::Error);  // the run has ended
}

// A hold keeps a run with nothing to do open: a task submitted later still runs, and run() returns
// only after the hold is released.
TEST(Session, HoldKeepsAnIdleRunOpen) {
  mpiq::Session s(quiet());
  s.register_function("square", square);
  std::future<mpiq::Result> late;
  std::atomic<bool> released{false};
  std::thread producer([&, hold = s.hold()]() mutable {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    late = s.submit_future("square", "12");
    EXPECT_THROW(s.result(1), mpiq::Error);  // not from this thread during the run
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    released = true;
    hold.release();
  });
  EXPECT_EQ(s.run(), mpiq::ExitCode::done);
  EXPECT_TRUE(released.load());
  producer.join();
  EXPECT_EQ(late.get().bytes, "144");
  EXPECT_EQ(s.result(1)->bytes, "144");
}

// A producer that releases its hold right after its last submission, at the worst moment: after the
// hub's turn has looked for submissions and before it checks whether every task has ended (an on_end
// hook holds the hub there until the producer is done). The submission must still run.
TEST(Session, ASubmissionRightBeforeTheReleaseStillRuns) {
  mpiq::Session s(quiet());
  s.register_function("square", square);
  std::promise<void> first_ended, producer_done;
  std::future<void> first_ended_f = first_ended.get_future(), producer_done_f = producer_done.get_future();
  std::future<mpiq::Result> late;
  std::thread producer([&, hold = s.hold()]() mutable {
    first_ended_f.wait();
    late = s.submit_future("square", "7");
    hold.release();
    producer_done.set_value();
  });
  bool once = false;
  s.on_end([&](const mpiq::Result&) {
    if (once) return;
    once = true;
    first_ended.set_value();
    producer_done_f.wait();
  });
  s.submit("square", "3");
  EXPECT_EQ(s.run(), mpiq::ExitCode::done);
  producer.join();
  ASSERT_EQ(late.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(late.get().bytes, "49");
}
