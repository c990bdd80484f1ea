#pragma once
/// The lexical pieces of the task file language (core/task_file.hpp): blanks, names, continuation lines,
/// durations, the `[# #]` / `[@ @]` / `[% %]` prefixes, dependency tokens and `key=value` settings.
/// Each works on one physical line and knows nothing of the rest of the file; an error is an
/// mpiq::InputError at the line and column (1-based, in bytes) of the offending text.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace mpiq::core {

/// Parses a duration in whole seconds: `90`, `90s`, `30m`, `2h`, `1h30m`, `1h30m15s` (units h, m, s, each at
/// most once, in that order). Returns nullopt for an empty, signed, malformed or overflowing (more than
/// UINT32_MAX seconds) text.
std::optional<uint32_t> parse_duration(std::string_view text);
/// `seconds` in the task file's words: "90s", "30m", "2h", "1h30m", "1h0m5s" (parse_duration reads it back).
std::string format_duration(uint32_t seconds);
/// Parses a memory size in KiB: digits followed by one unit, `K`, `M`, `G` or `T` (powers of 1024; lower
/// case too), or `0` alone (no memory asked). Returns nullopt for a text without a unit, a signed,
/// fractional or malformed one, or more than kMaxMemoryKb.
std::optional<uint64_t> parse_memory(std::string_view text);
/// `kb` in the task file's words, exact when a unit divides it: "4G", "1536M", "100K", "0";
/// otherwise rounded to one decimal ("1.5G" for 1572865K). parse_memory reads exact forms back.
std::string format_memory(uint64_t kb);
/// The largest memory request: 1024 T (2^40 KiB), far above any node, small enough that the sums of
/// a node's requests never overflow.
inline constexpr uint64_t kMaxMemoryKb = uint64_t{1} << 40;
/// "1 GPU", "2 GPUs": a count with its noun, in messages (`plural(n, "core")`; `many` for an irregular
/// plural).
std::string plural(uint64_t n, std::string_view one, std::string_view many = {});

namespace syntax {

/// The largest uint32: what a number too large for the file saturates at (every line number is below
/// it, so a saturated value is simply "past the end of the file").
inline constexpr uint32_t kSaturated = std::numeric_limits<uint32_t>::max();

/// A physical line of a task file, for the position of an error.
struct LineRef {
  const std::string& path;  ///< the file, as the messages name it
  uint32_t line;            ///< 1-based
};

/// Throws mpiq::InputError `PATH:LINE:COLUMN: message` for `at`.
[[noreturn]] void fail(const LineRef& at, size_t column, const std::string& message);

/// A blank inside a line: space or tab.
inline bool is_blank(char c) {
  return c == ' ' || c == '\t';
}
/// An ASCII decimal digit.
inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
/// The first index from `i` on that is not a blank (s.size() if none).
inline size_t skip_blanks(std::string_view s, size_t i) {
  while (i < s.size() && is_blank(s[i])) ++i;
  return i;
}
/// `s` without leading and trailing blanks.
std::string_view trim_blanks(std::string_view s);

/// A task name: `[A-Za-z_][A-Za-z0-9_.-]*`.
bool is_valid_name(std::string_view s);

/// Whether `line` continues on the next one: it ends in an odd number of backslashes (the last one
/// escapes the newline; `\\` is a literal backslash).
bool ends_with_continuation(std::string_view line);

/// Decimal digits (at least one, all digits) to their value, saturating at kSaturated.
uint32_t saturating_u32(std::string_view digits);

/// A `[# ... #]`, `[@ ... @]` or `[% ... %]` prefix found on a line.
struct Prefix {
  char mark;     ///< '#' (dependencies), '@' (working directory) or '%' (settings)
  size_t body;   ///< index of the first byte after the opening `[` and mark
  size_t close;  ///< index of the closing mark (its `]` follows)
};

/// The prefix that starts at line[i] (a `[` followed by `#`, `@` or `%`), or nullopt when none starts
/// there. A prefix must close on the same line: one that does not is an error at its bracket.
std::optional<Prefix> prefix_at(const LineRef& at, std::string_view line, size_t i);

/// What a dependency token names.
enum class RefKind : uint8_t {
  id,        ///< `3`: a = line
  range,     ///< `5-7`: a, b = the bounds as written
  relative,  ///< `-1`: a = distance back
  name,      ///< `prep`: token
};

/// A dependency as written: numbers saturate at kSaturated, `token` is a view into the line.
struct DepRef {
  RefKind kind;
  uint32_t column;  ///< of the token, 1-based
  uint32_t a;
  uint32_t b;
  std::string_view token;
};

/// One dependency token (blanks already trimmed, not empty) at `column`: an id, an inclusive range
/// (blanks allowed around its `-`), a relative id or a name. Anything else is an error at `column`.
DepRef parse_dep_token(const LineRef& at, std::string_view token, size_t column);

/// Calls `on_dep(DepRef)` for each comma-separated dependency in line[begin, end), the body of a
/// `[# #]` prefix, in order, so that the caller's errors for a token come before the syntax errors of
/// the tokens after it. A body of blanks only (`[##]`, `[# #]`) is no dependency, and a comma right
/// before the closing mark (`[# 1,#]`) ends the list, as in GREASY; an empty or blank token anywhere
/// else (`[# 1,,2 #]`, `[# 1, #]`, `[#, 1 #]`) is an error.
template <typename OnDep>
void for_each_dep(const LineRef& at, std::string_view line, size_t begin, size_t end, OnDep&& on_dep) {
  if (skip_blanks(line, begin) >= end) return;
  size_t start = begin;
  for (;;) {
    size_t comma = start;
    while (comma < end && line[comma] != ',') ++comma;
    size_t b = skip_blanks(line, start);
    if (b > comma) b = comma;
    size_t e = comma;
    while (e > b && is_blank(line[e - 1])) --e;
    if (b == e) fail(at, b + 1, "empty dependency (two commas in a row, or a comma at an end)");
    on_dep(parse_dep_token(at, line.substr(b, e - b), b + 1));
    if (comma == end) break;
    start = comma + 1;
    // A comma right before the closing `#]`, `[# 1,#]`, ends the list: GREASY reads it so (its split
    // drops an empty last token, but not a blank one: `[# 1, #]` is invalid there, and here).
    if (start == end) break;
  }
}

/// The settings of `[% %]` and `#MPIQ defaults`, with the defaults of a file that sets none.
struct Settings {
  uint32_t cores = 1;
  uint32_t gpus = 0;
  uint32_t timeout_s = 0;
  uint32_t retries = 0;
  int32_t priority = 0;
  uint64_t mem_kb = 0;  ///< memory asked for on the task's node, KiB; 0 = none
};

/// The `name=` of a task's settings: a view into the line, and the column of the value.
struct NameSetting {
  std::string_view value;
  size_t column = 0;
};

/// A sweep, `repeat=N` (indices 0..N-1), `repeat=A-B` or `repeat=A-B:S` (A, A+S, ... up to B): the
/// indices its elements get, ascending, each below kSaturated (the table's kNoElement).
struct Repeat {
  uint32_t first = 0;
  uint32_t step = 1;
  uint32_t count = 0;  ///< elements, at least 1
  uint32_t index(uint32_t k) const noexcept { return first + k * step; }
};

/// The most elements one `repeat=` line may have: a 24-byte line must not make the hub allocate
/// gigabytes (each task costs it about 150 bytes, commands excluded; docs/design.md §11). A file's
/// rows in all are bounded by kMaxFileTasks (core/task_file.hpp).
inline constexpr uint32_t kMaxRepeat = 10'000'000;

/// Parses the value of `repeat=` (see Repeat); an error names what is wrong at `column`.
Repeat parse_repeat(const LineRef& at, std::string_view value, size_t column);

/// The `repeat=` of a task's settings, when it has one.
struct RepeatSetting {
  std::optional<Repeat> value;
  size_t column = 0;  ///< of the value
};

/// Parses the blank-separated `key=value` settings in line[begin, end) over `settings`: keys name,
/// cores, gpus, mem, timeout, retries, priority and repeat, each at most once. `name` receives `name=` and
/// `repeat` receives `repeat=`; they are null for `#MPIQ defaults`, where either is an error (names are
/// unique, a sweep is one line's). Returns how many settings there were.
size_t parse_settings(const LineRef& at, std::string_view line, size_t begin, size_t end, Settings& settings,
                      NameSetting* name, RepeatSetting* repeat = nullptr);

}  // namespace syntax
}  // namespace mpiq::core
