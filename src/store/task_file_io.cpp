#include "store/task_file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "core/task_file.hpp"
#include "mpiq/error.hpp"
#include "store/posix_file.hpp"

namespace mpiq::store {
namespace {

InputError unreadable(const std::string& path, const std::string& reason) {
  return InputError(path, 0, 0, "cannot read the task file: " + reason);
}

}  // namespace

std::string read_task_file(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw unreadable(path, std::strerror(errno));
  struct stat st {};
  // A pipe, or a file whose size is unknown, reports 0: read_to_end grows the buffer as it reads.
  const size_t size = ::fstat(fd.get(), &st) == 0 && st.st_size > 0 ? static_cast<size_t>(st.st_size) : 0;
  try {
    return read_to_end(fd.get(), size);
  } catch (const std::system_error& e) {
    throw unreadable(path, e.code().message());
  }
}

core::TaskTable load_task_file(const std::string& path, core::TaskFileFormat format, core::NodeCommands* pernode) {
  if (format == core::TaskFileFormat::disbatch)
    return core::parse_disbatch_file(read_task_file(path), path, pernode);
  std::string text = format == core::TaskFileFormat::pylauncher
                         ? core::pylauncher_as_task_file(read_task_file(path), path)
                         : read_task_file(path);
  core::TaskTable table = core::detail::parse_spec_columns(text, path, pernode);
  std::string().swap(text);  // the text is no longer needed: freed before the runtime columns are made
  table.init_runtime_columns();
  return table;
}

}  // namespace mpiq::store
