#include "store/crc32c.hpp"

#include <array>
#include <bit>
#include <cstring>

namespace mpiq::store {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78u;  // Castagnoli, bit-reflected

// kTables[0] is the classic byte table; kTables[k][b] is the CRC of byte b followed by k zero bytes,
// which lets the loop fold 8 input bytes per step (slice-by-8).
constexpr std::array<std::array<uint32_t, 256>, 8> make_tables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPolynomial : c >> 1;
    t[0][b] = c;
  }
  for (size_t k = 1; k < 8; ++k)
    for (uint32_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
  return t;
}
constexpr auto kTables = make_tables();

uint64_t load_le64(const unsigned char* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;  // little-endian host: the byte order is the reflected CRC's
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(uint32_t crc, const unsigned char* p,
                                                        size_t size) noexcept {
  uint64_t c = ~crc;
  for (; size >= 8; size -= 8, p += 8) c = __builtin_ia32_crc32di(c, load_le64(p));
  uint32_t c32 = static_cast<uint32_t>(c);
  for (; size > 0; --size, ++p) c32 = __builtin_ia32_crc32qi(c32, *p);
  return ~c32;
}

bool cpu_has_sse42() noexcept {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}
#endif

// a * b modulo the polynomial, both in the reflected order the CRC uses (bit 31 is x^0): zlib's
// multmodp.
uint32_t multiply_mod_p(uint32_t a, uint32_t b) noexcept {
  uint32_t m = 1u << 31, p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = (b & 1) ? (b >> 1) ^ kPolynomial : b >> 1;
  }
  return p;
}

// x^(8 n) modulo the polynomial for n < 2^26, as a product of two entries: low[n mod 2^13] and
// high[n / 2^13]. 64 KiB, made at the first use.
constexpr size_t kPowerBits = 13;
struct BytePowers {
  std::array<uint32_t, size_t{1} << kPowerBits> low, high;
  uint32_t beyond = 0;  // x^(8 * 2^26)
  BytePowers() noexcept {
    uint32_t x = 1u << 31;  // x^0
    for (uint32_t& entry : low) {
      entry = x;
      for (int k = 0; k < 8; ++k) x = (x & 1) ? (x >> 1) ^ kPolynomial : x >> 1;  // times x^8
    }
    const uint32_t step = x;  // x^(8 * 2^13)
    uint32_t y = 1u << 31;
    for (uint32_t& entry : high) {
      entry = y;
      y = multiply_mod_p(y, step);
    }
    beyond = y;
  }
};

uint32_t x_to_8n(uint64_t n) noexcept {
  static const BytePowers powers;
  constexpr uint64_t kMask = (uint64_t{1} << kPowerBits) - 1;
  uint32_t product = multiply_mod_p(powers.low[n & kMask], powers.high[(n >> kPowerBits) & kMask]);
  // Any length a journal record can have is done; longer ones take a product per 2^26 bytes.
  for (uint64_t k = n >> (2 * kPowerBits); k > 0; --k) product = multiply_mod_p(product, powers.beyond);
  return product;
}

}  // namespace

uint32_t crc32c_of_suffix(uint32_t prefix_crc, uint32_t whole_crc, uint64_t length) noexcept {
  return whole_crc ^ multiply_mod_p(x_to_8n(length), prefix_crc);
}

static_assert(std::endian::native == std::endian::little, "the slice-by-8 loop assumes a little-endian host");

namespace detail {
uint32_t crc32c_portable(uint32_t crc, const void* data, size_t size) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  for (; size >= 8; size -= 8, p += 8) {
    const uint64_t v = load_le64(p) ^ c;
    c = kTables[7][v & 0xFF] ^ kTables[6][(v >> 8) & 0xFF] ^ kTables[5][(v >> 16) & 0xFF] ^
        kTables[4][(v >> 24) & 0xFF] ^ kTables[3][(v >> 32) & 0xFF] ^ kTables[2][(v >> 40) & 0xFF] ^
        kTables[1][(v >> 48) & 0xFF] ^ kTables[0][v >> 56];
  }
  for (; size > 0; --size, ++p) c = (c >> 8) ^ kTables[0][(c ^ *p) & 0xFF];
  return ~c;
}
}  // namespace detail

uint32_t crc32c(uint32_t crc, const void* data, size_t size) noexcept {
#if defined(__x86_64__)
  if (cpu_has_sse42()) return crc32c_sse42(crc, static_cast<const unsigned char*>(data), size);
#endif
  return detail::crc32c_portable(crc, data, size);
}

}  // namespace mpiq::store
