#include "store/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "mpiq/error.hpp"
#include "store/posix_file.hpp"

namespace mpiq::store {

void write_file_atomically(const std::string& path, std::string_view contents) {
  const std::string tmp = path + ".tmp";
  // O_TRUNC: a temporary file left by a crash is simply overwritten.
  FileDescriptor fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) throw_errno(tmp, "open");
  try {
    write_all(fd.get(), contents.data(), contents.size(), tmp);
    fd.close(tmp);
    replace_file(tmp, path);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

void write_file_for_readers(const std::string& path, std::string_view contents) {
  const std::string tmp = path + ".tmp";
  FileDescriptor fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) throw_errno(tmp, "open");
  try {
    write_all(fd.get(), contents.data(), contents.size(), tmp);
    fd.close(tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno(path, "rename");
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

void replace_file(const std::string& tmp_path, const std::string& path) {
  // fsync before rename: otherwise a crash soon after can leave `path` naming a file whose blocks
  // never reached the disk (zero length on ext4 without auto_da_alloc, XFS).
  FileDescriptor fd(::open(tmp_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno(tmp_path, "open");
  fsync_fd(fd.get(), tmp_path);
  fd.close(tmp_path);
  if (::rename(tmp_path.c_str(), path.c_str()) != 0) throw_errno(path, "rename");
  fsync_directory(parent_directory(path));
}

}  // namespace mpiq::store
