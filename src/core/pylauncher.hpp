#pragma once
/// TACC pylauncher's task files (`mpiq run --format pylauncher`, docs/design.md §2): one `CORES,COMMAND`
/// a line, `#` comments and blank lines as in mpiq's files. Read by turning each line into the mpiq
/// line `[% cores=CORES %] COMMAND` (same line numbers, so ids and messages point at the file's lines);
/// comment lines become empty lines, so that none reads as one of mpiq's `#MPIQ` directives.

#include <string>
#include <string_view>

namespace mpiq::core {

/// The task file formats `--format` names.
enum class TaskFileFormat { mpiq, pylauncher, disbatch };

/// `text`, a pylauncher file, as an mpiq task file. A task line that is not `CORES,COMMAND` (CORES a
/// number from 1) is an mpiq::InputError at `path`:LINE:COL.
std::string pylauncher_as_task_file(std::string_view text, const std::string& path);

/// True when every task line of `text` (at least one) reads `CORES,COMMAND`: a pylauncher file, which
/// mpiq's own format would run with another meaning (the parser refuses it with a hint).
bool looks_like_pylauncher(std::string_view text);

}  // namespace mpiq::core
