#pragma once
/// The POSIX file calls the store is built on, checked: an owned file descriptor and loops that
/// finish short reads and writes. Failures throw mpiq::Error carrying the path, the call and errno's text.

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "core/column_memory.hpp"

namespace mpiq::store {

/// An owned file descriptor: move-only, closed by the destructor (a failure there is logged).
class FileDescriptor {
 public:
  /// No descriptor.
  FileDescriptor() noexcept = default;
  /// Takes ownership of `fd` (negative = none, so `FileDescriptor(::open(...))` is safe to test).
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept;
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() noexcept;

  /// The descriptor, -1 when there is none.
  int get() const noexcept { return fd_; }
  /// True when a descriptor is held.
  explicit operator bool() const noexcept { return fd_ >= 0; }
  /// Closes the descriptor now and throws mpiq::Error when close(2) reports an error (on NFS and
  /// Lustre a failed write can first show up there). `path` names the file in the message.
  void close(const std::string& path);

 private:
  int fd_ = -1;
};

/// Throws mpiq::Error "`path`: `call`: strerror(errno)". Reads errno, so call it first thing.
[[noreturn]] void throw_errno(const std::string& path, const char* call);

/// Writes all `size` bytes at file offset `offset` (pwrite(2), retried on EINTR and short writes).
void pwrite_all(int fd, const void* data, size_t size, off_t offset, const std::string& path);

/// Writes all `size` bytes at the current offset (write(2), retried on EINTR and short writes).
void write_all(int fd, const void* data, size_t size, const std::string& path);

/// fsync(2) of the open file `fd`.
void fsync_fd(int fd, const std::string& path);

/// fsync(2) of the directory `dir`, making the entries created or renamed in it durable.
void fsync_directory(const std::string& dir);

/// The directory that holds `path`: "." for a bare name, "/" for a file in the root.
std::string parent_directory(const std::string& path);

/// (Huge pages for large buffers about to be filled: core::advise_huge_pages, core/column_memory.hpp.)
using core::advise_huge_pages;

/// The bytes of the open file `fd` from its offset to its end: a regular file, a pipe or a FIFO alike.
/// `size_hint` (what fstat reports, 0 when unknown) sizes the buffer; a file that grows meanwhile is
/// read on. Retries EINTR; any other read error throws std::system_error with errno's code, for the
/// caller to turn into its own message.
std::string read_to_end(int fd, size_t size_hint);

/// The whole content of the regular file at `path`. Throws mpiq::InputError naming the file when it
/// cannot be opened or read; a missing file is reported as such.
std::string read_whole_file(const std::string& path);

}  // namespace mpiq::store
