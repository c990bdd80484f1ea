#include "exec/signals.hpp"

#include <signal.h>

#include <atomic>
#include <cstring>

namespace mpiq::exec {

namespace {
std::atomic<int> g_signal{0};
std::atomic<int> g_count{0};
static_assert(std::atomic<int>::is_always_lock_free, "the handler needs a lock-free store");

extern "C" void on_stop_signal(int sig) {
  g_signal.store(sig, std::memory_order_relaxed);
  g_count.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a sleeping loop must wake up
  for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaction(sig, &sa, nullptr);
  // A hangup (the terminal of an interactive run closed) stops the run as SIGTERM does; by default it
  // killed the process, and a resume then charged every running task a crash (its worker lost).
  // Only where it is at its default: ignored (`nohup mpiq run ...` asks to outlive the terminal), or
  // an embedding program's own handler (a reload), it is left as it is.
  struct sigaction hup {};
  if (sigaction(SIGHUP, nullptr, &hup) == 0 && !(hup.sa_flags & SA_SIGINFO) && hup.sa_handler == SIG_DFL)
    sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int stop_signal() {
  return g_signal.load(std::memory_order_relaxed);
}
int stop_signal_count() {
  return g_count.load(std::memory_order_relaxed);
}
void clear_stop_signal() {
  g_signal.store(0, std::memory_order_relaxed);
  g_count.store(0, std::memory_order_relaxed);
}

std::string signal_name(int sig) {
  if (const char* abbrev = sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(sig);
}

}  // namespace mpiq::exec
