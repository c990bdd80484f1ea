#pragma once
/// CRC-32C (Castagnoli), the checksum of journal records and checkpoint columns.
///
/// Castagnoli rather than the zlib CRC-32 because x86-64 computes it in hardware (SSE4.2 `crc32`), which
/// keeps checksumming a 1,000,000-task checkpoint (~140 MB) to tens of milliseconds.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mpiq::store {

/// CRC-32C of `size` bytes at `data`, continuing from `crc` (the CRC of the bytes before them; 0 to
/// start). `crc32c(crc32c(0, a), b) == crc32c(0, a + b)`. Uses SSE4.2 when the CPU has it.
uint32_t crc32c(uint32_t crc, const void* data, size_t size) noexcept;

/// CRC-32C of `bytes`.
inline uint32_t crc32c(std::string_view bytes) noexcept {
  return crc32c(0, bytes.data(), bytes.size());
}

/// CRC-32C of a block B from two CRCs that a scan has at hand: `prefix_crc` = crc32c(A) and
/// `whole_crc` = crc32c(A + B), where B is the `length` bytes after A. Uses crc32c(A + B) =
/// crc32c(A) * x^(8 |B|) + crc32c(B) over GF(2) (zlib's crc32_combine, backwards). For lengths below
/// 2^26 bytes (a journal record's limit) it costs two table lookups and two GF(2) products, so a scan
/// that keeps the CRC of every prefix can check a candidate record at every byte in linear time.
uint32_t crc32c_of_suffix(uint32_t prefix_crc, uint32_t whole_crc, uint64_t length) noexcept;

namespace detail {
/// The table-driven (slice-by-8) implementation, whatever the CPU: exposed so that tests can check the
/// hardware path against it.
uint32_t crc32c_portable(uint32_t crc, const void* data, size_t size) noexcept;
}  // namespace detail

}  // namespace mpiq::store
