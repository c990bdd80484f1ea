#pragma once
/// Error types shared by every mpiq module.
///
/// One type per source of failure: the base `Error`, `InputError` for bad user input (always exit code
/// 2 at the command line), and, inside mpiq, one type per C library it calls (MPI, hwloc, HDF5), each
/// derived from `Error`: catching `mpiq::Error` catches them all.

#include <cstdint>
#include <stdexcept>
#include <string>

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

}  // namespace mpiq
