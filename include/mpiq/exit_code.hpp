#pragma once
/// How a run ends: the exit code of `mpiq run` and the value of mpiq::Session::run (docs/design.md §8).

namespace mpiq {

enum class ExitCode : int {
  done = 0,       ///< every task done
  failed = 1,     ///< the run finished, but some tasks failed or were skipped (or never ran after fail-fast)
  bad_input = 2,  ///< bad usage or input: nothing ran and nothing changed on disk
  stopped = 3,    ///< stopped early with the state saved (a signal, the time limit): run again to resume
};

/// The process exit status of `code`: `return mpiq::exit_status(session.run());` at the end of main.
constexpr int exit_status(ExitCode code) noexcept {
  return static_cast<int>(code);
}

}  // namespace mpiq
