#pragma once
/// SHA-256 (FIPS 180-4), used to tie a checkpoint to the task file it was made from.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mpiq::store {

/// Incremental SHA-256: feed bytes with update(), then take the digest once with finish().
class Sha256 {
 public:
  /// A hasher over the empty message.
  Sha256() noexcept;
  /// Adds `size` bytes at `data` to the message.
  void update(const void* data, size_t size) noexcept;
  /// Adds `bytes` to the message.
  void update(std::string_view bytes) noexcept { update(bytes.data(), bytes.size()); }
  /// The 32-byte digest of everything added. The hasher must not be used afterwards.
  std::array<uint8_t, 32> finish() noexcept;

 private:
  void compress(const uint8_t* block) noexcept;

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

/// The digest as 64 lowercase hex digits.
std::string to_hex(const std::array<uint8_t, 32>& digest);

/// SHA-256 of `bytes` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view bytes);

/// SHA-256 of the file at `path` as 64 lowercase hex digits, read in blocks (any size of file).
/// Throws mpiq::InputError naming the file when it cannot be opened or read.
std::string sha256_file(const std::string& path);

}  // namespace mpiq::store
