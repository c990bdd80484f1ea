#pragma once
/// Error types shared by every mpiq module.
///
/// One type per source of failure: the base `Error`, `InputError` for bad user input (always exit code
/// 2 at the command line), `DiskFull` for a write the file system had no room for (a stop, exit 3), and,
/// inside mpiq, one type per C library it calls (MPI, hwloc, HDF5), each derived from `Error`: catching
/// `mpiq::Error` catches them all.

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace mpiq {

/// Base of every error mpiq throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Bad user input: a task file, an option, an inbox file, a checkpoint of another format.
/// `what()` is the full message, `FILE:LINE:COL: text` when a position is known.
class InputError : public Error {
 public:
  /// An error with no position (a bad option, a missing file).
  explicit InputError(const std::string& message) : Error(message) {}
  /// An error at `file:line:column` (1-based; 0 leaves that part out).
  InputError(const std::string& file, uint32_t line, uint32_t column, const std::string& message)
      : Error(format(file, line, column, message)),
        file_(file),
        line_(line),
        column_(column),
        message_(message) {}

  const std::string& file() const noexcept { return file_; }
  uint32_t line() const noexcept { return line_; }
  uint32_t column() const noexcept { return column_; }
  /// The message without its position prefix.
  const std::string& message() const noexcept { return message_; }

 private:
  static std::string format(const std::string& file, uint32_t line, uint32_t column,
                            const std::string& message) {
    // Appends only: GCC 12 warns falsely (-Wrestrict) on `":" + std::to_string(n)` at -O3.
    std::string s = file;
    if (line > 0) s.append(":").append(std::to_string(line));
    if (column > 0) s.append(":").append(std::to_string(column));
    return s.append(": ").append(message);
  }
  std::string file_;
  uint32_t line_ = 0;
  uint32_t column_ = 0;
  std::string message_;
};

/// A write refused because the file system is full (ENOSPC) or the user's quota is spent (EDQUOT): not
/// a bug and not bad input, but the end of what this run can do now. The hub turns it into a stop
/// (exit 3, the state saved as far as there is room); the run resumes once there is space again.
/// `what()` is "PATH: CALL: strerror(errno)".
class DiskFull : public Error {
 public:
  DiskFull(std::string path, const std::string& message) : Error(message), path_(std::move(path)) {}
  /// The file that could not be written.
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

/// Whether `err` (an errno value) says that the file system has no room: ENOSPC or EDQUOT.
inline bool is_disk_full_errno(int err) noexcept {
  return err == ENOSPC || err == EDQUOT;
}

}  // namespace mpiq
