#include "store/posix_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
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
  throw Error(path + ": " + call + ": " + std::strerror(err));
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

std::string read_whole_file(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw InputError(path, 0, 0, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    throw InputError(path, 0, 0, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw InputError(path, 0, 0, "not a regular file");
  std::string bytes;
  bytes.reserve(static_cast<size_t>(st.st_size));
  advise_huge_pages(bytes.data(), bytes.capacity());
  bytes.resize(static_cast<size_t>(st.st_size));
  size_t have = 0;
  for (;;) {
    if (have == bytes.size()) bytes.resize(bytes.size() + (1 << 16));  // the file may have grown
    const ssize_t got = ::read(fd.get(), bytes.data() + have, bytes.size() - have);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw InputError(path, 0, 0, std::string("cannot read: ") + std::strerror(errno));
    if (got == 0) break;
    have += static_cast<size_t>(got);
  }
  bytes.resize(have);
  return bytes;
}

}  // namespace mpiq::store
