#pragma once
/// The hub's log: `hub.log` in the run directory and stderr, each line stamped
/// `[YYYY-MM-DD HH:MM:SS] LEVEL: text` (GREASY's format, which users grep).

#include <cstdio>
#include <string>
#include <string_view>

namespace mpiq::hub {

enum class LogLevel { error = 0, warn = 1, info = 2, debug = 3 };

/// Parses `error|warn|info|debug`; false if `name` is none of them.
bool parse_log_level(std::string_view name, LogLevel* out);

class Log {
 public:
  /// Logs at `level` and above. `path` may be "" (stderr only) or a file opened for append.
  explicit Log(LogLevel level = LogLevel::info, bool to_stderr = true);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;
  /// Starts writing to `path` too (appending). Returns false if it cannot be opened.
  bool open_file(const std::string& path);
  void set_level(LogLevel level) noexcept { level_ = level; }
  /// A progress line is being redrawn on stderr: clear it before each log line written there.
  void set_progress_line(bool on) noexcept { progress_line_ = on; }
  bool enabled(LogLevel level) const noexcept { return level <= level_; }

  void write(LogLevel level, std::string_view text);
  void error(std::string_view text) { write(LogLevel::error, text); }
  void warn(std::string_view text) { write(LogLevel::warn, text); }
  void info(std::string_view text) { write(LogLevel::info, text); }
  void debug(std::string_view text) { write(LogLevel::debug, text); }

 private:
  LogLevel level_;
  bool to_stderr_;
  std::FILE* file_ = nullptr;
  bool progress_line_ = false;
};

}  // namespace mpiq::hub
