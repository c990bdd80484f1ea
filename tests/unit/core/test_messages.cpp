// Hub/worker messages survive encoding, and a damaged message is refused, never over-read.

#include <gtest/gtest.h>

#include "core/messages.hpp"
#include "mpiq/error.hpp"

using namespace mpiq::core;

TEST(Messages, OrdersRoundTrip) {
  TaskOrder o;
  o.task = 7;
  o.id = 9;
  o.attempt = 2;
  o.cores = 3;
  o.gpus = 1;
  o.timeout_s = 60;
  o.name = "prep";
  o.command = "echo 'a b' | wc -c";
  o.workdir = "/tmp";
  auto back = decode_orders(encode(std::vector<TaskOrder>{o, o}));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].command, o.command);
  EXPECT_EQ(back[1].name, "prep");
  EXPECT_EQ(back[1].workdir, "/tmp");
  EXPECT_EQ(back[1].timeout_s, 60u);
  EXPECT_EQ(back[1].attempt, 2u);
}

TEST(Messages, StopRoundTripsWithAndWithoutANodeStopCommand) {
  const Stop plain = decode_stop(encode(Stop{true}));
  EXPECT_TRUE(plain.kill_running);
  EXPECT_FALSE(plain.node_stop.has_value());
  Stop s;
  TaskOrder o;
  o.task = kNodeStopTask;
  o.id = 3;
  o.element = 1;
  o.command = "rm -rf /tmp/stage";
  s.node_stop = o;
  const Stop back = decode_stop(encode(s));
  EXPECT_FALSE(back.kill_running);
  ASSERT_TRUE(back.node_stop.has_value());
  EXPECT_EQ(back.node_stop->task, kNodeStopTask);
  EXPECT_EQ(back.node_stop->element, 1u);
  EXPECT_EQ(back.node_stop->command, o.command);
  EXPECT_TRUE(is_node_command(back.node_stop->task));
}

TEST(Messages, AFlagByteOtherThanZeroOrOneIsRefused) {
  // Found by fuzz_messages: a disbatch flag of 2 decoded as true and encoded back as 1.
  TaskOrder o;
  o.command = "x";
  std::vector<char> bytes = encode(std::vector<TaskOrder>{o});
  const size_t flag = 4 + 7 * 4;  // the count, then seven u32 fields
  ASSERT_EQ(bytes[flag], 0);
  bytes[flag] = 2;
  EXPECT_THROW(decode_orders(bytes), mpiq::Error);
  std::vector<char> stop = encode(Stop(true));
  stop[0] = 2;
  EXPECT_THROW(decode_stop(stop), mpiq::Error);
  std::vector<char> functions = encode_functions(TaskTable{}, {}, true);
  ASSERT_EQ(functions[0], 1);
  EXPECT_TRUE(decode_functions(functions).report_starts);
  functions[0] = 2;
  EXPECT_THROW(decode_functions(functions), mpiq::Error);
}

TEST(Messages, ReportRoundTrip) {
  Report r;
  r.started.push_back({4, 12.5});
  TaskResult f;
  f.task = 4;
  f.exit_code = -1;
  f.signal = 9;
  f.timed_out = true;
  f.interrupted = true;
  f.max_rss_kb = 1234;
  r.finished.push_back(f);
  Report back = decode_report(encode(r));
  ASSERT_EQ(back.started.size(), 1u);
  EXPECT_DOUBLE_EQ(back.started[0].time, 12.5);
  ASSERT_EQ(back.finished.size(), 1u);
  EXPECT_TRUE(back.finished[0].timed_out);
  EXPECT_TRUE(back.finished[0].interrupted);
  EXPECT_FALSE(back.finished[0].spawn_failed);
  EXPECT_EQ(back.finished[0].signal, 9);
  EXPECT_EQ(back.finished[0].max_rss_kb, 1234);
}

TEST(Messages, TruncatedMessageIsRefused) {
  TaskOrder o;
  o.command = "sleep 1";
  auto bytes = encode(std::vector<TaskOrder>{o});
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    std::vector<char> part(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_THROW(decode_orders(part), mpiq::Error) << "cut at " << cut;
  }
}

TEST(Messages, HugeCountIsRefusedBeforeAllocating) {
  Writer w;
  w.put<uint32_t>(0xFFFFFFFFu);
  auto bytes = w.take();
  EXPECT_THROW(decode_indices(bytes), mpiq::Error);
  EXPECT_THROW(decode_report(bytes), mpiq::Error);
}

TEST(Messages, TrailingBytesAreRefused) {
  auto bytes = encode_count(3);
  bytes.push_back(0);
  EXPECT_THROW(decode_count(bytes), mpiq::Error);
}

TEST(Messages, CancelRoundTripAndRefusesABadGrace) {
  Cancel c;
  c.grace_s = 2.5;
  c.tasks = {4, 9, 1};
  const Cancel back = decode_cancel(encode(c));
  EXPECT_EQ(back.grace_s, 2.5);
  EXPECT_EQ(back.tasks, c.tasks);
  c.grace_s = -1;
  EXPECT_THROW(decode_cancel(encode(c)), mpiq::Error);
}
