#include "embed/options.hpp"

#include <cstdlib>
#include <string>

#include "hub/log.hpp"
#include "mpiq/error.hpp"

namespace mpiq::embed {

void take_options(int& argc, char**& argv, SessionOptions& o) {
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&](const char* name) -> std::string {
      if (i + 1 >= argc) throw InputError(std::string(name) + ": needs a value");
      return argv[++i];
    };
    const auto number = [&](const char* name) -> double {
      const std::string v = value(name);
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(d >= 0) || d > 4e9)
        throw InputError(std::string(name) + ": '" + v + "' is not a non-negative number");
      return d;
    };
    if (a == "--run-dir")
      o.run_dir = value("--run-dir");
    else if (a == "--fresh")
      o.fresh = true;
    else if (a == "--fail-fast")
      o.fail_fast = true;
    else if (a == "--recycle-after")
      o.recycle_after = static_cast<uint32_t>(number("--recycle-after"));
    else if (a == "--task-timeout")
      o.task_timeout_s = number("--task-timeout");
    else if (a == "--function-window")
      o.function_window = static_cast<uint32_t>(number("--function-window"));
    else if (a == "--log-level")
      o.log_level = value("--log-level");
    else
      argv[out++] = argv[i];
  }
  argc = out;
  argv[argc] = nullptr;
  hub::LogLevel level;
  if (!hub::parse_log_level(o.log_level, &level))
    throw InputError("--log-level: '" + o.log_level + "' is not error, warn, info or debug");
}

}  // namespace mpiq::embed
