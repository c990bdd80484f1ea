#include "store/output_stream.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "mpiq/error.hpp"
#include "store/crc32c.hpp"

namespace mpiq::store {

namespace {

constexpr char kFileMagic[8] = {'M', 'P', 'I', 'Q', 'O', 'U', 'T', '\0'};
constexpr uint32_t kRecordMagic = 0x5251504Du;  // "MPQR" little-endian
constexpr uint32_t kVersion = 1;
constexpr size_t kRecordHeader = 32;

void put32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t get32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[at + static_cast<size_t>(i)]);
  return v;
}

std::string file_header(uint32_t rank, const std::string& run_dir) {
  std::string h(kFileMagic, sizeof kFileMagic);
  put32(h, kVersion);
  put32(h, rank);
  put32(h, static_cast<uint32_t>(run_dir.size()));
  h += run_dir;
  put32(h, crc32c(h));
  return h;
}

std::string record_header(uint32_t task, uint32_t element, uint32_t attempt, uint32_t run,
                          OutputChannel channel, std::string_view data) {
  std::string h;
  h.reserve(kRecordHeader);
  put32(h, kRecordMagic);
  put32(h, task);
  put32(h, element);
  put32(h, attempt);
  put32(h, run);
  h.push_back(static_cast<char>(channel));
  h.append(3, '\0');
  put32(h, static_cast<uint32_t>(data.size()));
  put32(h, crc32c(crc32c(0, h.data(), h.size()), data.data(), data.size()));
  return h;
}

}  // namespace

OutputStreamFile parse_output_stream(std::string bytes) {
  OutputStreamFile f;
  f.bytes = std::move(bytes);
  const std::string_view b = f.bytes;
  if (b.size() < 24 || std::memcmp(b.data(), kFileMagic, sizeof kFileMagic) != 0)
    throw Error("not an mpiq output stream (no MPIQOUT header)");
  if (get32(b, 8) != kVersion) throw Error("an output stream of version " + std::to_string(get32(b, 8)));
  f.rank = get32(b, 12);
  const uint32_t n = get32(b, 16);
  if (b.size() < 24 + static_cast<size_t>(n) || get32(b, 20 + n) != crc32c(0, b.data(), 20 + n))
    throw Error("the output stream's header is damaged");
  f.run_dir = std::string(b.substr(20, n));
  size_t at = 24 + n;
  f.valid_end = at;
  while (at + kRecordHeader <= b.size()) {
    if (get32(b, at) != kRecordMagic) break;
    const uint32_t len = get32(b, at + 24);
    if (at + kRecordHeader + len > b.size()) break;
    const uint32_t want = get32(b, at + 28);
    if (crc32c(crc32c(0, b.data() + at, 28), b.data() + at + kRecordHeader, len) != want) break;
    OutputRecord r;
    r.task = get32(b, at + 4);
    r.element = get32(b, at + 8);
    r.attempt = get32(b, at + 12);
    r.run = get32(b, at + 16);
    r.channel = static_cast<OutputChannel>(b[at + 20]);
    r.data = b.substr(at + kRecordHeader, len);
    f.records.push_back(r);
    at += kRecordHeader + len;
    f.valid_end = at;
  }
  f.torn_bytes = b.size() - f.valid_end;
  return f;
}

OutputStreamFile read_output_stream(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno(path, "open");
  struct stat st {};
  const size_t hint = ::fstat(fd.get(), &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
  std::string bytes;
  try {
    bytes = read_to_end(fd.get(), hint);
  } catch (const std::system_error& e) {
    errno = e.code().value();
    throw_errno(path, "read");
  }
  try {
    return parse_output_stream(std::move(bytes));
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

std::vector<std::string> output_stream_paths(const std::string& out_dir) {
  std::vector<std::string> paths;
  DIR* d = ::opendir(out_dir.c_str());
  if (!d) return paths;
  while (dirent* e = ::readdir(d)) {
    const std::string_view n = e->d_name;
    if (n.rfind("rank-", 0) == 0 && n.size() > 12 && n.substr(n.size() - 7) == ".stream")
      paths.push_back(out_dir + "/" + std::string(n));
  }
  ::closedir(d);
  std::sort(paths.begin(), paths.end());
  return paths;
}

OutputStream::OutputStream(std::string path, uint32_t rank, const std::string& run_dir, uint32_t run)
    : path_(std::move(path)), run_(run) {
  fd_ = FileDescriptor(::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd_) throw_errno(path_, "open");
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) throw_errno(path_, "fstat");
  if (st.st_size == 0) {
    const std::string h = file_header(rank, run_dir);
    write_all(fd_.get(), h.data(), h.size(), path_);
  } else {
    // A crash may have left a partial record: cut it off, so that what is appended now can be read.
    const OutputStreamFile f = read_output_stream(path_);
    if (f.torn_bytes > 0 && ::ftruncate(fd_.get(), static_cast<off_t>(f.valid_end)) != 0)
      throw_errno(path_, "ftruncate");
  }
  if (::lseek(fd_.get(), 0, SEEK_END) < 0) throw_errno(path_, "lseek");
  dirty_ = true;
}

void OutputStream::append(uint32_t task, uint32_t element, uint32_t attempt, OutputChannel channel,
                          std::string_view data) {
  while (!data.empty()) {
    const std::string_view part = data.substr(0, kMaxRecordBytes);
    data.remove_prefix(part.size());
    const std::string h = record_header(task, element, attempt, run_, channel, part);
    iovec io[2] = {{const_cast<char*>(h.data()), h.size()}, {const_cast<char*>(part.data()), part.size()}};
    size_t left = h.size() + part.size();
    ssize_t n = ::writev(fd_.get(), io, 2);
    if (n < 0 && errno != EINTR) throw_errno(path_, "write");
    if (n < 0) n = 0;
    dirty_ = true;
    if (static_cast<size_t>(n) < left) {
      // A short write (a signal, a nearly full disk): finish the record from where it stopped.
      std::string rest = h;
      rest.append(part);
      write_all(fd_.get(), rest.data() + n, rest.size() - static_cast<size_t>(n), path_);
    }
  }
}

void OutputStream::sync() {
  if (!dirty_) return;
  if (::fdatasync(fd_.get()) != 0) throw_errno(path_, "fdatasync");
  dirty_ = false;
}

}  // namespace mpiq::store
