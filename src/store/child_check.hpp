#pragma once
/// Runs a check that may crash or hang in a child process, so that neither takes the caller with it.
///
/// Made for what libhdf5 does with a damaged file: most damage is an error, but some of it (a flipped
/// bit where HDF5 keeps no checksum) made it read wild memory or loop forever, ignoring SIGTERM
/// (issue 17: 400 random bit flips in a checkpoint gave 4 segfaults and 1 endless loop). The check runs
/// in a fork() of the caller, which waits for its verdict at most `budget_s` seconds and then kills it
/// with SIGKILL; a crash of the child is a verdict too.
///
/// The child is a fork without exec: it shares nothing with the caller afterwards but the files it
/// inherited, and it ends with _exit(), so it runs no atexit handlers (MPI's, HDF5's) and flushes no
/// stdio buffer of the caller's. It dies with the caller (PR_SET_PDEATHSIG). Only the calling thread
/// exists in the child: the check must not need a lock that another thread of the caller may hold at
/// the fork (a thread-safe libhdf5's global lock, when another thread is inside HDF5; mpiq loads its
/// checkpoint before it starts any thread that uses HDF5).
///
/// The one fork without exec in mpiq (tasks are started with clone(CLONE_VM | CLONE_VFORK), which copies no
/// memory: exec::spawn), and it may happen in the hub rank after MPI_Init. That is safe where the
/// interconnect's memory registration is: Linux 5.9 and later copy pinned pages for the child at fork, so the
/// parent's registered buffers stay where the NIC writes; older kernels rely on ibv_fork_init (Open MPI's
/// openib and UCX call it, or RDMAV_FORK_SAFE=1). The child makes no MPI call, touches no buffer of the
/// caller's but what the check reads, and ends with _exit.

#include <functional>
#include <string>

namespace mpiq::store {

/// How a check run by check_in_child() ended.
struct ChildVerdict {
  enum class Kind {
    passed,       ///< the check returned
    refused,      ///< the check threw; `message` is the exception's text
    crashed,      ///< the child died of a signal or exited without a verdict; `message` says how
    timed_out,    ///< no verdict within the budget; the child was killed
    interrupted,  ///< the child died of SIGINT, SIGTERM or SIGHUP (the user's, not the check's doing)
  };
  Kind kind = Kind::passed;
  std::string message;
};

/// Runs `check` in a forked child and returns how it ended, waiting at most `budget_s` seconds.
/// An InputError's message() (without its position) or any other exception's what() becomes the
/// verdict's message. Throws mpiq::Error only when the child cannot be started (pipe, fork).
ChildVerdict check_in_child(const std::function<void()>& check, double budget_s);

}  // namespace mpiq::store
