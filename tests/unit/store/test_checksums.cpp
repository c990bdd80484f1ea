#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "mpiq/error.hpp"
#include "store/crc32c.hpp"
#include "store/sha256.hpp"
#include "test_support.hpp"

namespace mpiq::store {
namespace {

TEST(Crc32c, MatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(detail::crc32c_portable(0, "123456789", 9), 0xE3069283u);
  // RFC 3720 (iSCSI) B.4: 32 bytes of zeros.
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
}

TEST(Crc32c, HardwareAndTablePathsAgreeOnEveryLengthAndAlignment) {
  std::string data(300, '\0');
  uint32_t x = 7;
  for (char& c : data) c = static_cast<char>((x = x * 1664525 + 1013904223) >> 24);
  for (size_t start = 0; start < 9; ++start)
    for (size_t size = 0; start + size <= data.size(); size += 13)
      ASSERT_EQ(crc32c(0, data.data() + start, size), detail::crc32c_portable(0, data.data() + start, size))
          << start << " " << size;
}

TEST(Crc32c, ContinuesAcrossPieces) {
  const std::string text = "The quick brown fox jumps over the lazy dog";
  const uint32_t first = crc32c(0, text.data(), 10);
  EXPECT_EQ(crc32c(first, text.data() + 10, text.size() - 10), crc32c(text));
}

TEST(Crc32c, SuffixCrcFromTwoPrefixCrcsMatchesTheDirectOne) {
  // Lengths around the two table levels (2^13 bytes), and past a record's 2^26-byte limit.
  std::string data((1u << 26) + 40000, '\0');
  uint32_t x = 11;
  for (char& c : data) c = static_cast<char>((x = x * 1664525 + 1013904223) >> 24);
  for (const size_t start : {size_t{0}, size_t{1}, size_t{77}})
    for (const size_t size : {size_t{0}, size_t{1}, size_t{5}, size_t{8191}, size_t{8192}, size_t{8193},
                              size_t{123457}, size_t{1} << 26, (size_t{1} << 26) + 8195}) {
      if (start + size > data.size()) continue;
      const uint32_t prefix = crc32c(0, data.data(), start);
      const uint32_t whole = crc32c(0, data.data(), start + size);
      EXPECT_EQ(crc32c_of_suffix(prefix, whole, size), crc32c(0, data.data() + start, size))
          << start << " " << size;
    }
}

TEST(Sha256, MatchesTheFipsVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PaddingBoundariesMatchOneShotHashing) {
  // From 56 bytes mod 64 on, the length no longer fits the last block. Digests from Python's hashlib.
  const std::pair<size_t, const char*> vectors[] = {
      {55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"},
      {56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"},
      {63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2"},
      {64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"},
      {65, "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9"},
      {119, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c"},
      {120, "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98"}};
  for (const auto& [size, digest] : vectors) EXPECT_EQ(sha256_hex(std::string(size, 'x')), digest) << size;
}

TEST(Sha256, FeedingInPiecesGivesTheSameDigest) {
  std::string data(1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
  for (size_t piece : {size_t{1}, size_t{3}, size_t{55}, size_t{64}, size_t{65}, size_t{999}}) {
    Sha256 hasher;
    for (size_t at = 0; at < data.size(); at += piece)
      hasher.update(std::string_view(data).substr(at, piece));
    EXPECT_EQ(to_hex(hasher.finish()), sha256_hex(data)) << piece;
  }
}

TEST(Sha256, FileDigestEqualsTheDigestOfItsBytes) {
  test::TempDir dir;
  std::string data(200000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 251);
  test::write_bytes(dir.file("tasks.txt"), data);
  EXPECT_EQ(sha256_file(dir.file("tasks.txt")), sha256_hex(data));
  EXPECT_THROW(sha256_file(dir.file("absent.txt")), InputError);
}

}  // namespace
}  // namespace mpiq::store
