#pragma once
/// How a task that ended is told to people: the hub's log and summary, and the embedding API's
/// Result::error, say it with the same words.

#include <algorithm>
#include <csignal>
#include <string>
#include <string_view>

#include "core/task_table.hpp"

namespace mpiq::core {

/// How many bytes of a failed command task's stderr the table keeps (its `result`): a few lines, as
/// disBatch's snippets.
constexpr size_t kStderrTailBytes = 400;

/// The last line of `text` when mpiq wrote it (`mpiq: ...`, without the prefix), else "".
inline std::string_view mpiq_reason(std::string_view text) {
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  const size_t nl = text.rfind('\n');
  const std::string_view last = nl == std::string_view::npos ? text : text.substr(nl + 1);
  return last.substr(0, 6) == "mpiq: " ? last.substr(6) : std::string_view();
}

/// How a signal that ended a task reads: its name and, for those a user meets without sending them,
/// what usually sends them ("signal 9" alone sent users looking; under Slurm's cgroups the
/// out-of-memory killer is the common one).
inline std::string signal_words(int sig) {
  struct Known {
    int sig;
    const char* name;
    const char* why;
  };
  static constexpr Known kKnown[] = {
      {SIGHUP, "SIGHUP", ""},
      {SIGINT, "SIGINT", ""},
      {SIGQUIT, "SIGQUIT", ""},
      {SIGILL, "SIGILL", " (illegal instruction: built for another CPU?)"},
      {SIGTRAP, "SIGTRAP", ""},
      {SIGABRT, "SIGABRT", " (abort: a failed assertion, or a library gave up)"},
      {SIGBUS, "SIGBUS", " (bus error: a truncated file mapped, or misaligned memory)"},
      {SIGFPE, "SIGFPE", " (arithmetic error, such as an integer division by zero)"},
      {SIGKILL, "SIGKILL", " (kill -9, or the out-of-memory killer)"},
      {SIGSEGV, "SIGSEGV", " (segmentation fault)"},
      {SIGPIPE, "SIGPIPE", " (it wrote to a pipe no one reads)"},
      {SIGALRM, "SIGALRM", ""},
      {SIGTERM, "SIGTERM", ""},
      {SIGXCPU, "SIGXCPU", " (its CPU time limit)"},
      {SIGXFSZ, "SIGXFSZ", " (its file size limit)"},
  };
  for (const Known& k : kKnown)
    if (k.sig == sig) return std::string("killed by ") + k.name + k.why;
  return "killed by signal " + std::to_string(sig);
}

/// "exit code N", and for the codes a shell gives when a command it ran could not run or was killed
/// by a signal (a task is often a script: the out-of-memory killer's SIGKILL of its program shows as
/// its exit code 137) what they usually mean.
inline std::string exit_words(int code) {
  std::string s = "exit code " + std::to_string(code);
  if (code == 126) return s + ", which a shell returns for a command it found but cannot run";
  if (code == 127) return s + ", which a shell returns for a command not found";
  if (code > 128 && code < 160) {
    std::string sig = signal_words(code - 128);
    return s + ", which a shell returns for a command " + sig.substr(sig.find("killed"));
  }
  return s;
}

/// Why row `t` did not end done: a function task's error message; for a command task the reason mpiq
/// wrote into its stderr ("cannot start 'x': ...", "timed out after 30m"), else the signal that killed
/// it ("killed by SIGSEGV (segmentation fault)") or "exit code N". For a skipped task: that a
/// dependency failed or was skipped.
inline std::string describe_end(const TaskTable& table, TaskIndex t) {
  if (table.state[t] == TaskState::skipped) {
    // Name the dependency: a failed one first, else a skipped one (which names its own in turn).
    for (const TaskState why : {TaskState::failed, TaskState::cancelled, TaskState::skipped})
      for (uint64_t e = table.dep_offsets[t]; e < table.dep_offsets[t + 1]; ++e) {
        const TaskIndex d = table.deps[e];
        if (table.state[d] != why) continue;
        // A sweep's join row stands for the sweep: name the element that failed (the first one).
        if (table.is_sweep_join(d))
          for (uint64_t j = table.dep_offsets[d]; j < table.dep_offsets[d + 1]; ++j)
            if (table.state[table.deps[j]] == TaskState::failed ||
                table.state[table.deps[j]] == TaskState::cancelled)
              return "task " + table.label(table.deps[j]) + ", which it depends on, " +
                     (table.state[table.deps[j]] == TaskState::failed ? "failed" : "was cancelled");
        return "task " + table.label(d) + ", which it depends on, " +
               (why == TaskState::failed      ? "failed"
                : why == TaskState::cancelled ? "was cancelled"
                                              : "was skipped");
      }
    return "a task it depends on failed or was skipped";
  }
  if (table.state[t] == TaskState::cancelled) return "cancelled (mpiq cancel)";
  if (table.is_function(t)) return std::string(table.result[t]);
  if (const std::string_view why = mpiq_reason(table.result[t]); !why.empty()) return std::string(why);
  if (table.signal[t] != 0) return signal_words(table.signal[t]);
  return exit_words(table.exit_code[t]);
}

/// `text`'s lines, each after `prefix`, each ending in a newline; "" for empty text (a stderr tail under
/// its task's row in the summary and `mpiq status --tasks failed`). For a terminal: a control character
/// but tab shows as `cat -v` shows it (ESC as `^[`, CR as `^M`, DEL as `^?`), and a C1 control in
/// UTF-8 (U+0080-U+009F: CSI, OSC, which some terminals act on too) as `\u009b`, so the colour codes
/// or carriage returns in a task's stderr, which the tail may cut mid-sequence, cannot recolour the
/// user's terminal or overwrite the lines before. Other bytes (UTF-8 text) are left as they are.
inline std::string indent_lines(std::string_view text, std::string_view prefix) {
  static constexpr char kHex[] = "0123456789abcdef";
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  std::string out;
  for (size_t at = 0; !text.empty() && at <= text.size();) {
    const size_t nl = std::min(text.find('\n', at), text.size());
    out.append(prefix);
    for (size_t i = at; i < nl; ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      const auto next = i + 1 < nl ? static_cast<unsigned char>(text[i + 1]) : 0;
      if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {
        out.append("\\u00").push_back(kHex[next >> 4]);
        out.push_back(kHex[next & 15]);
        ++i;
      } else if (c == '\t' || (c >= 0x20 && c != 0x7f)) {
        out.push_back(text[i]);
      } else {
        out.push_back('^');
        out.push_back(c == 0x7f ? '?' : static_cast<char>(c + 0x40));
      }
    }
    out.push_back('\n');
    at = nl + 1;
  }
  return out;
}

/// The end of a failed command task's stderr, as the table keeps it ("" for other tasks).
inline std::string_view stderr_tail(const TaskTable& table, TaskIndex t) {
  if (table.is_function(t) || table.state[t] != TaskState::failed) return {};
  return table.result[t];
}

}  // namespace mpiq::core
