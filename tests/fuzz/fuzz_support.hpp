#pragma once
/// What every libFuzzer target of tests/fuzz shares: the rule for exceptions, a failed check that
/// libFuzzer reports as a crash, and the temporary file the readers that take a path read from.
///
/// The rule (docs/design.md §11): nothing the hub reads may crash it. A reader may refuse its input
/// with mpiq::Error (InputError above all), which is the clear message a user sees; any other exception
/// (std::out_of_range from a stoul, std::length_error, a bad_alloc) reaches the user as a bare
/// `what()` or std::terminate, so a target treats it as a defect, like a sanitizer report.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "mpiq/error.hpp"

namespace mpiq::fuzz {

/// Reports a broken property and aborts: libFuzzer saves the input as crash-* and stops.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "mpiq fuzz: %s\n", what.c_str());
  std::abort();
}

inline void check(bool ok, const std::string& what) {
  if (!ok) fail(what);
}

/// Runs `body`; an mpiq::Error is the reader refusing its input (fine), anything else is a defect.
/// Returns whether `body` ran to its end.
template <class Body>
bool accepts(const char* reader, Body&& body) {
  try {
    body();
    return true;
  } catch (const Error&) {
    return false;
  } catch (const std::exception& e) {
    fail(std::string(reader) + " threw a non-mpiq exception: " + e.what());
  } catch (...) {
    fail(std::string(reader) + " threw something that is not an exception");
  }
}

/// The input as bytes.
inline std::string_view bytes(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// A file of this process that each input is written to, for the readers that take a path: under
/// /dev/shm when there is one (no disk I/O per execution), removed at exit.
class InputFile {
 public:
  explicit InputFile(const char* name) {
    const char* dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    path_ = std::string(dir) + "/mpiq-fuzz-" + std::to_string(::getpid()) + "-" + name;
  }
  ~InputFile() { ::unlink(path_.c_str()); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  /// Replaces the file's contents with `contents`; returns its path.
  const std::string& write(std::string_view contents) {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) fail("cannot create " + path_);
    for (size_t at = 0; at < contents.size();) {
      const ssize_t n = ::write(fd, contents.data() + at, contents.size() - at);
      if (n <= 0) fail("cannot write " + path_);
      at += static_cast<size_t>(n);
    }
    ::close(fd);
    return path_;
  }
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

/// A bound on the rows `text` can make through sweeps, and on the bytes they hold: 10^digits rows per
/// `repeat` (the count or the range's end, on the rest of its line), each holding a copy of its line
/// (the command) and a row's columns; for every line when a `defaults` line may set it.
/// `[% repeat=99999999 %]` is a valid line of 100 million tasks, and a sweep of 95,753 elements of a
/// 4 KB command a valid 390 MB table (1 s to parse in a plain build, 21 s under ASan: a libFuzzer
/// timeout, not a defect). The targets leave files above kMaxSweepRows or kMaxSweepBytes out, so
/// that libFuzzer's memory and time limits report defects, not valid sweeps.
struct SweepSize {
  double rows = 0, bytes = 0;
};
inline SweepSize sweep_size(std::string_view text) {
  constexpr double kRowBytes = 128;  // a row's columns, about
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const bool defaults = lower.find("defaults") != std::string::npos;
  const double lines = 1 + static_cast<double>(std::count(lower.begin(), lower.end(), '\n'));
  SweepSize size;
  for (size_t at = lower.find("repeat"); at != std::string::npos; at = lower.find("repeat", at + 1)) {
    const size_t bol = at == 0 ? 0 : lower.rfind('\n', at - 1) + 1;  // npos + 1 is 0
    const size_t eol = std::min(lower.find('\n', at), lower.size());
    size_t longest = 0, run = 0;
    for (size_t i = at; i < eol; ++i) {
      run = std::isdigit(static_cast<unsigned char>(lower[i])) ? run + 1 : 0;
      longest = std::max(longest, run);
    }
    double count = 1;
    for (size_t d = 0; d < longest && count < 1e12; ++d) count *= 10;
    // Under `defaults`, every line may be a sweep of `count`, each element a copy of its own line.
    size.rows += defaults ? count * lines : count;
    size.bytes += count * (defaults ? static_cast<double>(lower.size()) + lines * kRowBytes
                                    : static_cast<double>(eol - bol) + kRowBytes);
  }
  return size;
}

/// The most rows, and bytes of rows, a target lets a task file make through sweeps.
inline constexpr double kMaxSweepRows = 200'000;
inline constexpr double kMaxSweepBytes = 32.0 * (1 << 20);
inline bool sweep_fits(std::string_view text) {
  const SweepSize size = sweep_size(text);
  return size.rows <= kMaxSweepRows && size.bytes <= kMaxSweepBytes;
}

}  // namespace mpiq::fuzz
