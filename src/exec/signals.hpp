#pragma once
/// Stop signals (SIGTERM, SIGINT, SIGUSR1) as a flag the event loops read. The handler only stores
/// the signal number (async-signal-safe); a loop sleeping in ppoll/nanosleep wakes with EINTR.

#include <string>

namespace mpiq::exec {

/// Installs the handlers of the stop signals, SIGTERM, SIGINT, SIGUSR1 and SIGHUP (SIGHUP only where it
/// is at its default: not under nohup, nor over an embedding program's handler), idempotent. SIGPIPE is ignored: a reader going away is an error to
/// report, not a reason to die.
void install_stop_handlers();
/// The last stop signal received, 0 if none. Does not clear it: every loop of the process sees it.
int stop_signal();
/// How many stop signals were received (a second one turns a drain into a stop: `mpiq run --drain`).
int stop_signal_count();
/// "SIGTERM" for 15: the name users know a signal by ("signal N" for one without a name).
std::string signal_name(int sig);
/// Forgets a received signal (tests).
void clear_stop_signal();

}  // namespace mpiq::exec
