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

/// How long an idle loop sleeps: nothing after traffic, then doubling from 20 us (`first_ns`) up to 1 ms, and
/// after 100 ms of silence up to 10 ms. The 1 ms cap keeps a message's latency at 1 ms while work
/// flows; a blocking MPI_Recv would spin at 70-100% of a core under Open MPI (docs/design.md §1). Long
/// silences (every task running for seconds) are where an idle rank's cost adds up, and there a
/// 10 ms wake-up only delays the first message after the silence. Measured on the 2-core CI VM,
/// `mpirun -np 3 mpiq run` of two `sleep 8` tasks, utime+stime from /proc over 4 s: the busiest rank
/// went from 5.4% of a core (1 ms cap throughout) to 1.0%. A signal ends any sleep at once (EINTR).
class Backoff {
 public:
  explicit Backoff(int64_t cap_ns = 1'000'000, int64_t slow_cap_ns = 10'000'000,
                   int64_t slow_after_ns = 100'000'000, int64_t first_ns = 20'000)
      : cap_ns_(cap_ns), slow_cap_ns_(slow_cap_ns), slow_after_ns_(slow_after_ns), first_ns_(first_ns) {}
  void reset() noexcept {
    ns_ = 0;
    idle_ns_ = 0;
  }
  /// The sleep to take now, then grows the next one.
  int64_t next() noexcept {
    const int64_t now = ns_;
    idle_ns_ += now;
    const int64_t cap = idle_ns_ >= slow_after_ns_ ? slow_cap_ns_ : cap_ns_;
    ns_ = std::min(cap, ns_ == 0 ? first_ns_ : ns_ * 2);
    return now;
  }

 private:
  int64_t cap_ns_, slow_cap_ns_, slow_after_ns_, first_ns_;
  int64_t ns_ = 0;
  int64_t idle_ns_ = 0;  // slept since the last traffic
};

}  // namespace mpiq::exec
