#include "core/disbatch.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "core/task_syntax.hpp"
#include "mpiq/error.hpp"

namespace mpiq::core {
namespace {

constexpr std::string_view kDirective = "#DISBATCH";  // disBatch tests only this, in upper case
constexpr uint32_t kNoRow = std::numeric_limits<uint32_t>::max();

// Python's `\s` on bytes, which disBatch's regular expressions use.
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
char upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}
// Whether `s` at `at` reads `word` (upper case) in any case: disBatch's keywords but BARRIER are re.I.
bool word_at(std::string_view s, size_t at, std::string_view word) {
  if (at + word.size() > s.size()) return false;
  for (size_t k = 0; k < word.size(); ++k)
    if (upper(s[at + k]) != word[k]) return false;
  return true;
}

/// The directives disBatch's parser knows. One branch each in Parser::directive().
enum class Directive { prefix, suffix, repeat, barrier, perengine };

/// `#DISBATCH REPEAT n [start s] [step k] [cmd]`, matched as disBatch's regular expression
/// `^#DISBATCH REPEAT\s+(\d+)(?:\s+start\s+(\d+))?(?:\s+step\s+(\d+))?(?: (.+))?\s*$` (re.I) matches, with
/// its backtracking: `REPEAT 3 start 2x` is 3 tasks running `start 2x`.
struct RepeatLine {
  std::string_view count, start, step;
  std::optional<std::string_view> command;
  size_t count_at = 0, start_at = 0, step_at = 0;  // 0-based columns of the numbers
};

class Parser {
 public:
  Parser(std::string_view text, const std::string& path, NodeCommands* pernode)
      : text_(text), path_(path), pernode_(pernode) {}

  TaskTable run() {
    if (const void* nul = std::memchr(text_.data(), '\0', text_.size())) {
      const size_t at = static_cast<size_t>(static_cast<const char*>(nul) - text_.data());
      const std::string_view before = text_.substr(0, at);
      const size_t nl = before.rfind('\n');
      fail_at(static_cast<uint32_t>(std::count(before.begin(), before.end(), '\n') + 1),
              at - (nl == std::string_view::npos ? 0 : nl + 1),
              "NUL byte in the task file (is it a binary file?)");
    }
    size_t pos = text_.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;  // a byte order mark: no part of line 1
    while (pos < text_.size()) {
      size_t nl = text_.find('\n', pos);
      if (nl == std::string_view::npos) nl = text_.size();
      std::string_view line = text_.substr(pos, nl - pos);
      pos = nl + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line_ == kNoRow - 1) fail_at(line_, 0, "too many lines");
      ++line_;
      read_line(line);
    }
    if (tasks_ == 0) syntax::fail(syntax::LineRef{path_, 0}, 0, "no tasks");
    table_.init_runtime_columns();
    return std::move(table_);
  }

 private:
  [[noreturn]] void fail_at(uint32_t line, size_t column0, const std::string& message) const {
    syntax::fail(syntax::LineRef{path_, line}, column0 + 1, message);
  }
  [[noreturn]] void fail(size_t column0, const std::string& message) const {
    fail_at(line_, column0, message);
  }

  void read_line(std::string_view line) {
    if (line.substr(0, kDirective.size()) == kDirective) {
      if (line.size() == kDirective.size() || line[kDirective.size()] != ' ')
        fail(
            0,
            "'#DISBATCH' without a blank after it is no directive: disBatch would run this line as a command "
            "(write '#DISBATCH DIRECTIVE ...', or '# DISBATCH' for a comment)");
      directive(line);
      return;
    }
    size_t i = 0;
    while (i < line.size() && is_space(line[i])) ++i;
    if (i == line.size() || line[i] == '#') return;  // a comment or blank line, `#MPIQ` ones included
    std::string command(prefix_);
    command.append(line).append(suffix_);
    add_task(command, kNoElement);
  }

  // A line that starts with `#DISBATCH `: which directive, then its branch.
  void directive(std::string_view line) {
    const size_t w = kDirective.size() + 1;
    size_t end = w;
    while (end < line.size() && !is_space(line[end])) ++end;
    const std::string_view word = line.substr(w, end - w);
    std::optional<Directive> d;
    if (line.substr(w, 7) == "BARRIER")
      d = Directive::barrier;  // case-sensitive, as in disBatch
    else if (word_at(word, 0, "PREFIX") && word.size() == 6)
      d = Directive::prefix;
    else if (word_at(word, 0, "SUFFIX") && word.size() == 6)
      d = Directive::suffix;
    else if (word_at(word, 0, "REPEAT") && word.size() == 6)
      d = Directive::repeat;
    else if (word_at(word, 0, "PERENGINE") && word.size() == 9)
      d = Directive::perengine;
    if (!d) {
      if (word_at(word, 0, "BARRIER") && word.size() == 7)
        fail(w,
             "disBatch reads '" + std::string(word) + "' only in upper case, BARRIER (it ignores this line)");
      fail(w, "unknown disBatch directive '" + std::string(word) +
                  "' (disBatch knows PREFIX, SUFFIX, REPEAT, BARRIER, BARRIER CHECK and PERENGINE)");
    }
    switch (*d) {
      case Directive::prefix:
      case Directive::suffix: {
        // `^#DISBATCH PREFIX (.*)$`: the text after exactly one blank, blanks kept.
        if (end == line.size() || line[end] != ' ')
          fail(end, "'#DISBATCH " + std::string(word) +
                        "' needs a blank, then its text (disBatch ignores this line; '#DISBATCH " +
                        std::string(word) + " ' with a blank and no text clears it)");
        (*d == Directive::prefix ? prefix_ : suffix_).assign(line.substr(end + 1));
        return;
      }
      case Directive::repeat:
        repeat(line, w + 6);
        return;
      case Directive::barrier:
        barrier(line, w + 7);
        return;
      case Directive::perengine:
        perengine(line, w + 9);
        return;
    }
  }

  // `at`: just after the word PERENGINE. disBatch's meaning (`^#DISBATCH PERENGINE (START|STOP) (.*)$`,
  // re.I): the command is prefix + cmd + suffix, run once on every engine (node) before its tasks
  // (START) or after them (STOP): mpiq's `#MPIQ pernode start|stop`. Several of a kind run in file
  // order (here: one script, a line each, so the node's start fails when its last line does); a
  // PERENGINE line after a task, REPEAT or BARRIER is an error in disBatch, which reads no further.
  void perengine(std::string_view line, size_t at) {
    if (normal_seen_)
      fail(kDirective.size() + 1,
           "'#DISBATCH PERENGINE' after the first task, REPEAT or BARRIER: disBatch allows per-engine "
           "commands only before them (it stops reading the file here); move the line up");
    const bool start = line.size() >= at + 6 && line[at] == ' ' && word_at(line, at + 1, "START") &&
                       line.size() > at + 6 && line[at + 6] == ' ';
    const bool stop = !start && line.size() > at + 5 && line[at] == ' ' && word_at(line, at + 1, "STOP") &&
                      line[at + 5] == ' ';
    if (!start && !stop)
      fail(at, "'#DISBATCH PERENGINE' needs START or STOP, a blank, then the command (disBatch ignores this line)");
    std::string command(prefix_);
    command.append(line.substr(at + (start ? 7 : 6))).append(suffix_);
    if (command.find_first_not_of(" \t\n\r\v\f") == std::string::npos)
      fail(at + 1, "the per-engine command is blank");
    NodeCommand& c = start ? pernode_own_.start : pernode_own_.stop;
    if (c.empty()) {
      c.line = line_;
      c.command = std::move(command);
    } else {
      c.command.append("\n").append(command);
    }
    if (pernode_ != nullptr) *pernode_ = pernode_own_;
  }

  // `at`: just after the word BARRIER. `^#DISBATCH BARRIER(?:(?: )(CHECK))?(?:(?: )(.*)$)?`, a prefix match.
  void barrier(std::string_view line, size_t at) {
    normal_seen_ = true;
    bool check = false;
    if (line.substr(at, 6) == " CHECK") {
      check = true;
      at += 6;
    }
    if (at < line.size() && line[at] != ' ')
      fail(at, "unexpected text after '" + std::string(line.substr(0, at)) + "' (disBatch would ignore it)");
    if (at + 1 < line.size()) {
      const std::string_view key = line.substr(at + 1);
      if (!check && word_at(key, 0, "CHECK") && key.size() == 5)
        fail(at + 1, "disBatch reads CHECK only in upper case: '" + std::string(key) +
                         "' here is the key of disBatch's key-value store to set, which mpiq does not have");
      fail(at + 1, "a barrier's key ('" + std::string(key) +
                       "') names an entry of disBatch's key-value store, which mpiq does not have");
    }
    const auto row = static_cast<TaskIndex>(table_.size());
    deps_.clear();
    for (TaskIndex r = segment_start_; r < row; ++r) deps_.push_back(r);
    TaskSpec spec;
    spec.id = line_;
    spec.flags = static_cast<uint8_t>(kBarrier | kDisbatch | (check ? 0 : kAfterAny));
    spec.cores = 0;
    spec.deps = deps_;
    table_.append(spec);
    last_barrier_ = row;
    segment_start_ = row;
  }

  // Whether `\s+WORD\s+(\d+)` matches at `at` (WORD in any case); sets the digits and where they end.
  static bool numbered(std::string_view s, size_t at, std::string_view word, std::string_view& digits,
                       size_t& digits_at, size_t& end) {
    size_t a = at;
    while (a < s.size() && is_space(s[a])) ++a;
    if (a == at || !word_at(s, a, word)) return false;
    a += word.size();
    size_t b = a;
    while (b < s.size() && is_space(s[b])) ++b;
    if (b == a) return false;
    size_t c = b;
    while (c < s.size() && is_digit(s[c])) ++c;
    if (c == b) return false;
    digits = s.substr(b, c - b);
    digits_at = b;
    end = c;
    return true;
  }
  // `(?: (.+))?\s*$` at `at`.
  static bool tail(std::string_view s, size_t at, std::optional<std::string_view>& command) {
    if (at < s.size() && s[at] == ' ' && s.size() - at >= 2) {
      command = s.substr(at + 1);
      return true;
    }
    for (size_t k = at; k < s.size(); ++k)
      if (!is_space(s[k])) return false;
    command.reset();
    return true;
  }
  // `(?:\s+step\s+(\d+))?` then the tail, at `at`.
  static bool after_start(std::string_view s, size_t at, RepeatLine& r) {
    size_t end = 0;
    if (numbered(s, at, "STEP", r.step, r.step_at, end) && tail(s, end, r.command)) return true;
    r.step = {};
    return tail(s, at, r.command);
  }

  // `at`: just after the word REPEAT.
  void repeat(std::string_view line, size_t at) {
    normal_seen_ = true;
    RepeatLine r;
    size_t c = at;
    while (c < line.size() && is_space(line[c])) ++c;
    size_t e = c;
    while (e < line.size() && is_digit(line[e])) ++e;
    bool ok = c > at && e > c;
    if (ok) {
      r.count = line.substr(c, e - c);
      r.count_at = c;
      size_t end = 0;
      if (numbered(line, e, "START", r.start, r.start_at, end) && after_start(line, end, r)) {
      } else {
        r.start = {};
        ok = after_start(line, e, r);
      }
    }
    if (!ok)
      fail(at,
           "'#DISBATCH REPEAT' is 'REPEAT N [start S] [step K] [COMMAND]', in that order (disBatch ignores "
           "this line)");
    constexpr uint64_t kMax = kNoElement;  // element indices are 32-bit, kNoElement not one of them
    auto number = [&](std::string_view digits, size_t column, uint64_t fallback) -> uint64_t {
      if (digits.empty()) return fallback;
      const uint32_t v = syntax::saturating_u32(digits);
      if (v >= kMax)
        fail(column, "'" + std::string(digits) + "' is too large (at most " + std::to_string(kMax - 1) + ")");
      return v;
    };
    const uint64_t count = number(r.count, r.count_at, 0);
    const uint64_t start = number(r.start, r.start_at, 0);
    const uint64_t step = number(r.step, r.step_at, 1);
    if (count == 0) return;  // no task, as in disBatch
    if (step == 0 && count > 1)
      fail(r.step_at,
           "a REPEAT step of 0 gives its tasks one DISBATCH_REPEAT_INDEX; mpiq needs one index per task");
    if (start + (count - 1) * step >= kMax)
      fail(r.count_at, "the REPEAT's last index, " + std::to_string(start + (count - 1) * step) +
                           ", is too large (at most " + std::to_string(kMax - 1) + ")");
    std::string command(prefix_);
    if (r.command) command.append(*r.command);
    command.append(suffix_);
    if (command.find_first_not_of(" \t\n\r\v\f") == std::string::npos)
      fail(at, "the REPEAT has no command: give one, or a PREFIX or SUFFIX before it");
    table_.reserve(table_.size() + count, table_.deps.size() + count);
    for (uint64_t k = 0; k < count; ++k) add_task(command, static_cast<uint32_t>(start + k * step));
  }

  void add_task(const std::string& command, uint32_t element) {
    normal_seen_ = true;
    if (command.find_first_not_of(" \t\n\r\v\f") == std::string::npos) fail(0, "the task's command is blank");
    if (table_.size() >= kNoRow - 1) fail(0, "too many tasks");
    TaskSpec spec;
    spec.id = line_;
    spec.element = element;
    spec.flags = kDisbatch;
    spec.command = command;
    if (last_barrier_ != kNoRow) spec.deps = {&last_barrier_, 1};
    table_.append(spec);
    ++tasks_;
  }

  std::string_view text_;
  const std::string& path_;
  NodeCommands* pernode_;      // where PERENGINE lines go (may be null)
  NodeCommands pernode_own_;   // what they make
  bool normal_seen_ = false;   // a task, REPEAT or BARRIER was read: no PERENGINE any more
  uint32_t line_ = 0;
  TaskTable table_;
  uint64_t tasks_ = 0;
  std::string prefix_, suffix_;
  TaskIndex last_barrier_ = kNoRow;
  TaskIndex segment_start_ = 0;
  std::vector<TaskIndex> deps_;
};

}  // namespace

TaskTable parse_disbatch_file(std::string_view text, const std::string& path, NodeCommands* pernode) {
  if (pernode != nullptr) *pernode = {};
  return Parser(text, path, pernode).run();
}

uint32_t first_disbatch_directive(std::string_view text) {
  uint32_t number = 1;
  for (size_t at = 0; at < text.size(); ++number) {
    size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(at, nl - at);
    if (number == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    if (line.substr(0, 10) == "#DISBATCH ") return number;
    at = nl + 1;
  }
  return 0;
}

}  // namespace mpiq::core
