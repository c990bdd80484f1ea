#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "mpiq/error.hpp"
#include "store/atomic_file.hpp"
#include "test_support.hpp"

namespace mpiq::store {
namespace {

using test::read_bytes;
using test::TempDir;

TEST(AtomicFile, CreatesAndThenReplacesTheFile) {
  TempDir dir;
  const std::string path = dir.file("status.json");
  write_file_atomically(path, R"({"state": "running"})");
  EXPECT_EQ(read_bytes(path), R"({"state": "running"})");
  write_file_atomically(path, "");
  EXPECT_EQ(read_bytes(path), "");
  write_file_atomically(path, std::string(100000, 'z'));
  EXPECT_EQ(read_bytes(path), std::string(100000, 'z'));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(AtomicFile, OverwritesATemporaryFileLeftByACrash) {
  TempDir dir;
  const std::string path = dir.file("status.json");
  test::write_bytes(path + ".tmp", "half-written garbage from a previous run, longer than the new content");
  write_file_atomically(path, "new");
  EXPECT_EQ(read_bytes(path), "new");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(AtomicFile, FailedWriteLeavesTheOldFileIntact) {
  // Tests run as root, which ignores permissions: the temporary path is made a directory instead.
  TempDir dir;
  const std::string path = dir.file("status.json");
  write_file_atomically(path, "old content");
  ASSERT_EQ(::mkdir((path + ".tmp").c_str(), 0700), 0);
  EXPECT_THROW(write_file_atomically(path, "new content"), Error);
  EXPECT_EQ(read_bytes(path), "old content");
}

TEST(AtomicFile, MissingDirectoryIsAnErrorNamingThePath) {
  TempDir dir;
  const std::string path = dir.file("no/such/status.json");
  try {
    write_file_atomically(path, "x");
    FAIL() << "wrote into a missing directory";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ".tmp: open: No such file or directory"), std::string::npos)
        << e.what();
  }
}

TEST(AtomicFile, ReplaceFileMovesACompleteFileIntoPlace) {
  TempDir dir;
  test::write_bytes(dir.file("a.tmp"), "complete");
  test::write_bytes(dir.file("a"), "old");
  replace_file(dir.file("a.tmp"), dir.file("a"));
  EXPECT_EQ(read_bytes(dir.file("a")), "complete");
  EXPECT_FALSE(std::filesystem::exists(dir.file("a.tmp")));
  EXPECT_THROW(replace_file(dir.file("absent.tmp"), dir.file("a")), Error);
  EXPECT_EQ(read_bytes(dir.file("a")), "complete");
}

}  // namespace
}  // namespace mpiq::store
