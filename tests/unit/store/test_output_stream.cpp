// Task output streams (store/output_stream.hpp): framed records round trip, a torn tail is recognised
// and cut off before appending, and records of several attempts and runs stay apart.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "mpiq/error.hpp"
#include "store/output_stream.hpp"
#include "support/temp_dir.hpp"

using namespace mpiq;
using store::OutputChannel;

namespace {
std::string all_of(const store::OutputStreamFile& f, uint32_t task, OutputChannel ch) {
  std::string s;
  for (const auto& r : f.records)
    if (r.task == task && r.channel == ch) s.append(r.data);
  return s;
}
}  // namespace

TEST(OutputStream, RecordsRoundTripWithTheirTaskAttemptRunAndChannel) {
  test::TempDir dir;
  const std::string path = dir.file("rank-1.stream");
  {
    store::OutputStream s(path, 1, "/runs/t.mpiq", 4);
    s.append(7, store::kNoElement, 1, OutputChannel::out, "hello\n");
    s.append(7, store::kNoElement, 1, OutputChannel::err, "oops\n");
    s.append(8, 3, 2, OutputChannel::out, std::string(100, 'x'));
    s.sync();
  }
  const store::OutputStreamFile f = store::read_output_stream(path);
  EXPECT_EQ(f.rank, 1u);
  EXPECT_EQ(f.run_dir, "/runs/t.mpiq");
  EXPECT_EQ(f.torn_bytes, 0u);
  ASSERT_EQ(f.records.size(), 3u);
  EXPECT_EQ(f.records[0].task, 7u);
  EXPECT_EQ(f.records[0].attempt, 1u);
  EXPECT_EQ(f.records[0].run, 4u);
  EXPECT_EQ(f.records[0].channel, OutputChannel::out);
  EXPECT_EQ(f.records[0].data, "hello\n");
  EXPECT_EQ(f.records[1].channel, OutputChannel::err);
  EXPECT_EQ(f.records[2].element, 3u);
  EXPECT_EQ(f.records[2].attempt, 2u);
  EXPECT_EQ(f.records[2].data, std::string(100, 'x'));
}

TEST(OutputStream, EmptyOutputWritesNoRecord) {
  test::TempDir dir;
  store::OutputStream s(dir.file("rank-1.stream"), 1, "r", 0);
  s.append(1, store::kNoElement, 1, OutputChannel::out, "");
  EXPECT_TRUE(store::read_output_stream(dir.file("rank-1.stream")).records.empty());
}

TEST(OutputStream, LargeOutputIsSplitIntoRecordsAndComesBackWhole) {
  test::TempDir dir;
  std::string big(store::OutputStream::kMaxRecordBytes * 2 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 + 7);
  {
    store::OutputStream s(dir.file("rank-2.stream"), 2, "r", 0);
    s.append(5, store::kNoElement, 1, OutputChannel::out, big);
  }
  const auto f = store::read_output_stream(dir.file("rank-2.stream"));
  EXPECT_EQ(f.records.size(), 3u);
  EXPECT_EQ(all_of(f, 5, OutputChannel::out), big);
}

TEST(OutputStream, ATornTailIsIgnoredByReadersAndCutBeforeTheNextAppend) {
  test::TempDir dir;
  const std::string path = dir.file("rank-1.stream");
  {
    store::OutputStream s(path, 1, "r", 0);
    s.append(1, store::kNoElement, 1, OutputChannel::out, "whole\n");
    s.append(2, store::kNoElement, 1, OutputChannel::out, "cut short by a crash\n");
  }
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - 5);  // the last record loses its end, as in a crash
  auto f = store::read_output_stream(path);
  ASSERT_EQ(f.records.size(), 1u);
  EXPECT_EQ(f.records[0].data, "whole\n");
  EXPECT_GT(f.torn_bytes, 0u);
  {
    store::OutputStream s(path, 1, "r", 1);  // the resumed run's worker
    s.append(2, store::kNoElement, 1, OutputChannel::out, "again\n");
  }
  f = store::read_output_stream(path);
  EXPECT_EQ(f.torn_bytes, 0u);
  ASSERT_EQ(f.records.size(), 2u);
  EXPECT_EQ(f.records[1].data, "again\n");
  EXPECT_EQ(f.records[1].run, 1u);
}

TEST(OutputStream, AFlippedByteEndsTheReadableRecordsThere) {
  test::TempDir dir;
  const std::string path = dir.file("rank-1.stream");
  {
    store::OutputStream s(path, 1, "r", 0);
    s.append(1, store::kNoElement, 1, OutputChannel::out, "first\n");
    s.append(2, store::kNoElement, 1, OutputChannel::out, "second\n");
  }
  std::string bytes = test::read_bytes(path);
  bytes[bytes.size() - 3] ^= 0x20;  // inside the second record's data
  const auto f = store::parse_output_stream(bytes);
  ASSERT_EQ(f.records.size(), 1u);
  EXPECT_EQ(f.records[0].data, "first\n");
}

TEST(OutputStream, AFileThatIsNotAStreamIsRefused) {
  EXPECT_THROW(store::parse_output_stream("#!/bin/sh\necho not a stream\n"), Error);
  EXPECT_THROW(store::parse_output_stream(""), Error);
}

TEST(OutputStream, StreamPathsAreTheRankFilesOnly) {
  test::TempDir dir;
  for (const char* n : {"rank-2.stream", "rank-10.stream", "rank-1.stream.prev", "7.out", "rank-x"})
    test::write_bytes(dir.file(n), "");
  const auto paths = store::output_stream_paths(dir.path());
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[0], dir.file("rank-10.stream"));
  EXPECT_EQ(paths[1], dir.file("rank-2.stream"));
}
