#pragma once
/// The command-line options an embedding program's Session takes out of argv.

#include "mpiq/session.hpp"

namespace mpiq::embed {

/// Takes mpiq's options (`--run-dir DIR`, `--fresh`, `--recycle-after N`, `--task-timeout SECONDS`,
/// `--function-window N`, `--fail-fast`, `--log-level L`) out of argv into `o`, leaving the program's
/// own in order. Throws InputError, naming the option, for a missing or bad value.
void take_options(int& argc, char**& argv, SessionOptions& o);

}  // namespace mpiq::embed
