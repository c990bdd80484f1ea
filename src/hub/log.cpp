#include "hub/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>

namespace mpiq::hub {

bool parse_log_level(std::string_view name, LogLevel* out) {
  static constexpr std::pair<std::string_view, LogLevel> kLevels[] = {{"error", LogLevel::error},
                                                                      {"warn", LogLevel::warn},
                                                                      {"info", LogLevel::info},
                                                                      {"debug", LogLevel::debug}};
  for (auto [n, l] : kLevels)
    if (n == name) {
      *out = l;
      return true;
    }
  return false;
}

Log::Log(LogLevel level, bool to_stderr) : level_(level), to_stderr_(to_stderr) {}

Log::~Log() {
  if (file_) std::fclose(file_);
}

bool Log::open_file(const std::string& path) {
  if (file_) std::fclose(file_);
  // Private, as everything in the run directory (docs/design.md §6).
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  file_ = ::fdopen(fd, "a");
  if (!file_) ::close(fd);
  return file_ != nullptr;
}

void Log::write(LogLevel level, std::string_view text) {
  if (!enabled(level)) return;
  static constexpr const char* kNames[] = {"ERROR", "WARN", "INFO", "DEBUG"};
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::tm tm;
  localtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  const char* name = kNames[static_cast<int>(level)];
  const int len = static_cast<int>(text.size());
  if (file_) {
    std::fprintf(file_, "[%s] %s: %.*s\n", stamp, name, len, text.data());
    std::fflush(file_);
  }
  if (to_stderr_)
    std::fprintf(stderr, "%s[%s] %s: %.*s\n", progress_line_ ? "\r\033[K" : "", stamp, name, len,
                 text.data());
}

}  // namespace mpiq::hub
