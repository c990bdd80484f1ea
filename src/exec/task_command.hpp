#pragma once
/// How a task's command line and directory become a process (docs/design.md §2), the parts that do not
/// start anything: which shell runs shell syntax (chosen once per worker), and what `[@ dir @]` means
/// (GREASY's `cd dir && command`: `~`, `$VAR` and `${VAR}` expand).

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace mpiq::exec {

/// The shell that runs commands with shell syntax: `option` when given (`--shell PATH`: it must be an
/// executable file, else nullopt), else `/bin/bash` where it exists (what disBatch uses, and what
/// `/bin/sh` is on most clusters; Debian's dash reads `prog &> log` as `prog &` then `> log`), else
/// `/bin/sh`. `executable` says whether a path is an executable file (access X_OK; a parameter for
/// the tests).
std::optional<std::string> resolve_shell(const std::string& option,
                                         const std::function<bool(const std::string&)>& executable);

/// `dir` as `cd dir` in a shell would read it: a leading `~` or `~/` is $HOME, `$NAME` and `${NAME}`
/// are the variable's value ("" when unset, as in sh). `lookup` gives a variable's value (nullptr when
/// unset). Other characters, quotes included, are literal. Returns `dir` unchanged (no copy made by
/// the caller's fast path) when it holds neither `~` at its start nor `$`.
std::string expand_directory(std::string_view dir,
                             const std::function<const char*(std::string_view name)>& lookup);

/// True when `dir` needs expand_directory (starts with `~`, or holds `$`).
inline bool needs_expansion(std::string_view dir) {
  return (!dir.empty() && dir[0] == '~') || dir.find('$') != std::string_view::npos;
}

/// Commands longer than this are not passed as an argument (Linux refuses one argument string longer
/// than MAX_ARG_STRLEN, 32 pages: E2BIG) but read by the shell as a script from a memory file.
inline constexpr size_t kMaxCommandArgument = 128 * 1024 - 1;

}  // namespace mpiq::exec
