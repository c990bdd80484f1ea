#include "core/pylauncher.hpp"

#include "core/task_syntax.hpp"
#include "mpiq/error.hpp"

namespace mpiq::core {

namespace {

using syntax::is_digit;
using syntax::skip_blanks;

// Calls `f(line, number)` for each line of `text` (without its newline and a trailing '\r').
template <class F>
void for_each_line(std::string_view text, F&& f) {
  uint32_t number = 0;
  for (size_t at = 0; at < text.size();) {
    size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(at, nl - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    f(line, ++number);
    at = nl + 1;
  }
}

// The index of the comma after a line's leading digits (from `i`), or npos when it is not `N,`.
size_t cores_comma(std::string_view line, size_t i) {
  size_t j = i;
  while (j < line.size() && is_digit(line[j])) ++j;
  return j > i && j < line.size() && line[j] == ',' ? j : std::string_view::npos;
}

bool is_task_line(std::string_view line, size_t i) {
  return i < line.size() && line[i] != '#';
}

}  // namespace

std::string pylauncher_as_task_file(std::string_view text, const std::string& path) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for_each_line(text, [&](std::string_view line, uint32_t number) {
    const size_t i = skip_blanks(line, 0);
    if (is_task_line(line, i)) {
      const size_t comma = cores_comma(line, i);
      if (comma == std::string_view::npos)
        throw InputError(path, number, static_cast<uint32_t>(i + 1),
                         "a pylauncher line is CORES,COMMAND (e.g. '4,./simulate input.dat')");
      const uint32_t cores = syntax::saturating_u32(line.substr(i, comma - i));
      if (cores == 0)
        throw InputError(path, number, static_cast<uint32_t>(i + 1), "a task needs at least 1 core");
      out += "[% cores=" + std::to_string(cores) + " %] ";
      out.append(line.substr(comma + 1));
    }
    // A comment or blank line becomes an empty line: it keeps its number, and a pylauncher comment
    // such as `#MPIQ barrier` or `#MPIQ defaults cores=8` never turns into mpiq's directive.
    out.push_back('\n');
  });
  return out;
}

bool looks_like_pylauncher(std::string_view text) {
  bool any = false, all = true;
  for_each_line(text, [&](std::string_view line, uint32_t) {
    const size_t i = skip_blanks(line, 0);
    if (!all || !is_task_line(line, i)) return;
    any = true;
    all = cores_comma(line, i) != std::string_view::npos;
  });
  return any && all;
}

}  // namespace mpiq::core
