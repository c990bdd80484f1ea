#include "store/posix_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <utility>

#include "mpiq/error.hpp"

namespace mpiq::store {

FileDescriptor::FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

FileDescriptor::~FileDescriptor() noexcept {
  // EINTR from close(2) must not be retried on Linux: the descriptor is already gone.
  if (fd_ >= 0 && ::close(fd_) != 0)
    std::fprintf(stderr, "mpiq: close of file descriptor %d failed: %s\n", fd_, std::strerror(errno));
}

void FileDescriptor::close(const std::string& path) {
  const int fd = std::exchange(fd_, -1);
  if (fd >= 0 && ::close(fd) != 0 && errno != EINTR) throw_errno(path, "close");
}

void throw_errno(const std::string& path, const char* call) {
  const int err = errno;
  std::string message = path + ": " + call + ": " + std::strerror(err);
  if (is_disk_full_errno(err)) throw DiskFull(path, message);
  throw Error(message);
}

void pwrite_all(int fd, const void* data, size_t size, off_t offset, const std::string& path) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t put = ::pwrite(fd, p, size, offset);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) throw_errno(path, "pwrite");
    p += put;
    offset += put;
    size -= static_cast<size_t>(put);
  }
}

void write_all(int fd, const void* data, size_t size, const std::string& path) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t put = ::write(fd, p, size);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) throw_errno(path, "write");
    p += put;
    size -= static_cast<size_t>(put);
  }
}

void fsync_fd(int fd, const std::string& path) {
  if (::fsync(fd) != 0) throw_errno(path, "fsync");
}

void fsync_directory(const std::string& dir) {
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw_errno(dir, "open");
  fsync_fd(fd.get(), dir);
  fd.close(dir);
}

std::string parent_directory(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string read_to_end(int fd, size_t size_hint) {
  // One byte past the hint: the read that sees the end then needs no room of its own, so a file of the
  // size fstat reported is read without growing (and copying) the buffer.
  std::string bytes;
  bytes.reserve(size_hint + 1);
  advise_huge_pages(bytes.data(), bytes.capacity());
  bytes.resize(size_hint + 1);
  size_t have = 0;
  for (;;) {
    if (have == bytes.size()) bytes.resize(bytes.size() + (1 << 16));  // the file may have grown
    const ssize_t got = ::read(fd, bytes.data() + have, bytes.size() - have);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw std::system_error(errno, std::generic_category(), "read");
    if (got == 0) break;
    have += static_cast<size_t>(got);
  }
  bytes.resize(have);
  return bytes;
}

std::string read_whole_file(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw InputError(path, 0, 0, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    throw InputError(path, 0, 0, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw InputError(path, 0, 0, "not a regular file");
  try {
    return read_to_end(fd.get(), static_cast<size_t>(st.st_size));
  } catch (const std::system_error& e) {
    throw InputError(path, 0, 0, "cannot read: " + e.code().message());
  }
}

}  // namespace mpiq::store
