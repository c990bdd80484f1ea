#include "exec/host.hpp"

#include <limits.h>
#include <unistd.h>

namespace mpiq::exec {

const std::string& host_name() {
  // The name cannot change under a running process in a way mpiq should follow: read it once (a
  // function-local static is initialised once, thread-safely).
  static const std::string name = [] {
    char buf[HOST_NAME_MAX + 1] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return std::string();
    return std::string(buf);
  }();
  return name;
}

}  // namespace mpiq::exec
