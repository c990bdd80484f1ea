// The stop signals' handlers (exec/signals.hpp): SIGHUP is taken over only where it is at its default,
// so `nohup mpiq run` carries on and an embedding program keeps its own handler.

#include <gtest/gtest.h>
#include <signal.h>

#include "exec/signals.hpp"

namespace mpiq::exec {
namespace {

void (*hup_handler())(int) {
  struct sigaction now {};
  sigaction(SIGHUP, nullptr, &now);
  return now.sa_handler;
}

extern "C" void programs_own(int) {}

TEST(StopHandlers, SighupIsTakenOverOnlyAtItsDefault) {
  struct sigaction old {};
  sigaction(SIGHUP, nullptr, &old);
  signal(SIGHUP, SIG_IGN);  // nohup
  install_stop_handlers();
  EXPECT_EQ(hup_handler(), SIG_IGN);
  signal(SIGHUP, programs_own);  // an embedding program's reload
  install_stop_handlers();
  EXPECT_EQ(hup_handler(), &programs_own);
  signal(SIGHUP, SIG_DFL);
  install_stop_handlers();
  EXPECT_NE(hup_handler(), SIG_DFL);
  EXPECT_NE(hup_handler(), SIG_IGN);
  // And a hangup is then a stop signal, counted as one.
  clear_stop_signal();
  raise(SIGHUP);
  EXPECT_EQ(stop_signal(), SIGHUP);
  EXPECT_EQ(stop_signal_count(), 1);
  clear_stop_signal();
  sigaction(SIGHUP, &old, nullptr);
}

}  // namespace
}  // namespace mpiq::exec
