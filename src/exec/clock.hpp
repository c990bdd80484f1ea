#pragma once
/// Clocks and the idle back-off every event loop shares.

#include <time.h>

#include <algorithm>
#include <cstdint>

namespace mpiq::exec {

/// Seconds since the Unix epoch (for records: start and end times).
inline double wall_now() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
/// Seconds on a clock that never jumps (for deadlines and intervals).
inline double mono_now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// How long an idle loop sleeps: nothing after traffic, then doubling from 20 us up to a cap.
/// The 1 ms cap bounds the latency of a message at 1 ms while keeping an idle rank near 0% CPU
/// (DESIGN §1: a blocking MPI_Recv spins at 70-100% under Open MPI).
class Backoff {
 public:
  explicit Backoff(int64_t cap_ns = 1'000'000) : cap_ns_(cap_ns) {}
  void reset() noexcept { ns_ = 0; }
  /// The sleep to take now, then grows the next one.
  int64_t next() noexcept {
    const int64_t now = ns_;
    ns_ = std::min(cap_ns_, ns_ == 0 ? 20'000 : ns_ * 2);
    return now;
  }

 private:
  int64_t cap_ns_;
  int64_t ns_ = 0;
};

}  // namespace mpiq::exec
