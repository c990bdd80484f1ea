#include "exec/task_command.hpp"

namespace mpiq::exec {

namespace {

bool is_name_char(char c, bool first) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9');
}

}  // namespace

std::optional<std::string> resolve_shell(const std::string& option,
                                         const std::function<bool(const std::string&)>& executable) {
  if (!option.empty()) {
    if (!executable(option)) return std::nullopt;
    return option;
  }
  if (executable("/bin/bash")) return std::string("/bin/bash");
  return std::string("/bin/sh");
}

std::string expand_directory(std::string_view dir,
                             const std::function<const char*(std::string_view name)>& lookup) {
  std::string out;
  size_t i = 0;
  if (!dir.empty() && dir[0] == '~' && (dir.size() == 1 || dir[1] == '/')) {
    if (const char* home = lookup("HOME")) out = home;
    i = 1;
  }
  while (i < dir.size()) {
    const char c = dir[i];
    if (c != '$' || i + 1 == dir.size()) {
      out.push_back(c);
      ++i;
      continue;
    }
    size_t begin = i + 1, end = begin;
    const bool braced = dir[begin] == '{';
    if (braced) {
      end = dir.find('}', begin);
      if (end == std::string_view::npos) {  // `${` without its `}`: literal, as the rest of the text
        out.append(dir.substr(i));
        break;
      }
      ++begin;
    } else {
      while (end < dir.size() && is_name_char(dir[end], end == begin)) ++end;
      if (end == begin) {  // `$` followed by no name: a literal `$`
        out.push_back('$');
        ++i;
        continue;
      }
    }
    if (const char* value = lookup(dir.substr(begin, end - begin))) out.append(value);
    i = braced ? end + 1 : end;
  }
  return out;
}

}  // namespace mpiq::exec
