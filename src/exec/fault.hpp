#pragma once
/// Crash points for the tests of what a kill -9 at the worst moment leaves (tests/e2e/submit.sh):
/// where the environment variable MPIQ_FAULT names a point, the process kills itself there with
/// SIGKILL, exactly as a kill -9 landing between two steps would. A moment that an outside kill hits
/// once in thousands of tries is then hit every time. Unset (always, outside tests), a point costs
/// one comparison of a pointer read once.

#include <signal.h>

#include <cstdlib>
#include <cstring>

namespace mpiq::exec {

inline void fault_point(const char* name) noexcept {
  static const char* const fault = std::getenv("MPIQ_FAULT");
  if (fault && std::strcmp(fault, name) == 0) ::raise(SIGKILL);
}

}  // namespace mpiq::exec
