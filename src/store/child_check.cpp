#include "store/child_check.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>

#include "mpiq/error.hpp"
#include "store/posix_file.hpp"

namespace mpiq::store {

namespace {

// The verdict's first byte; the rest of what the child writes is the message.
constexpr char kPassed = 'P';
constexpr char kRefused = 'R';

// Async-signal-safe enough for a forked child: write(2) only, EINTR and short writes retried.
void write_verdict(int fd, char kind, const std::string& message) noexcept {
  std::string out(1, kind);
  out += message;
  const char* p = out.data();
  size_t left = out.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

[[noreturn]] void run_child(int fd, pid_t parent, const std::function<void()>& check) noexcept {
  // A child left behind by a caller that was killed would spin on for nothing.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(0);
  char kind = kPassed;
  std::string message;
  try {
    check();
  } catch (const InputError& e) {
    kind = kRefused;
    message = e.message().empty() ? e.what() : e.message();
  } catch (const std::exception& e) {
    kind = kRefused;
    message = e.what();
  } catch (...) {
    kind = kRefused;
    message = "unknown error";
  }
  write_verdict(fd, kind, message);
  ::_exit(0);
}

ChildVerdict verdict_of(int status, const std::string& out) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
      return {ChildVerdict::Kind::interrupted, std::string("interrupted by ") + ::strsignal(sig)};
    return {ChildVerdict::Kind::crashed,
            std::string("it crashed (signal ") + std::to_string(sig) + ", " + ::strsignal(sig) + ")"};
  }
  if (!out.empty() && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    if (out[0] == kPassed) return {ChildVerdict::Kind::passed, ""};
    if (out[0] == kRefused) return {ChildVerdict::Kind::refused, out.substr(1)};
  }
  // A sanitizer's report of a crash ends the child with exit status 1, not with the signal.
  return {ChildVerdict::Kind::crashed, "it ended without a verdict (exit status " +
                                           std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                                           ")"};
}

}  // namespace

ChildVerdict check_in_child(const std::function<void()>& check, double budget_s) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("a pipe to a checking child", "pipe2");
  FileDescriptor read_end(fds[0]), write_end(fds[1]);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw_errno("a checking child", "fork");
  if (pid == 0) {
    ::close(fds[0]);
    run_child(fds[1], parent, check);
  }
  write_end = FileDescriptor();  // the child holds the only write end: EOF when it ends

  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(
                                           static_cast<int64_t>(std::ceil(std::max(budget_s, 0.0) * 1000)));
  std::string out;
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{read_end.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (ready < 0 && errno != EINTR) {
      timed_out = true;  // cannot wait for it: treat as no verdict, and end it
      break;
    }
    if (ready <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child ended (or closed its end, which it does only by ending)
    out.append(buffer, static_cast<size_t>(n));
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return {ChildVerdict::Kind::timed_out, ""};
  return verdict_of(status, out);
}

}  // namespace mpiq::store
