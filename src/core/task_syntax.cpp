#include "core/task_syntax.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "mpiq/error.hpp"

namespace mpiq::core {
namespace syntax {
namespace {

bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || is_digit(c) || c == '.' || c == '-';
}

enum class IntParse { ok, not_a_number, out_of_range };

// An optionally signed (when lo < 0) decimal integer in [lo, hi].
IntParse parse_int(std::string_view v, int64_t lo, int64_t hi, int64_t& out) {
  size_t i = 0;
  bool negative = false;
  if (lo < 0 && i < v.size() && (v[i] == '-' || v[i] == '+')) negative = v[i++] == '-';
  if (i == v.size()) return IntParse::not_a_number;
  uint64_t x = 0;
  for (; i < v.size(); ++i) {
    if (!is_digit(v[i])) return IntParse::not_a_number;
    // Stop growing far above any bound instead of overflowing; the range check below rejects it.
    if (x < (uint64_t{1} << 40)) x = x * 10 + static_cast<uint64_t>(v[i] - '0');
  }
  const int64_t value = negative ? -static_cast<int64_t>(x) : static_cast<int64_t>(x);
  if (value < lo || value > hi) return IntParse::out_of_range;
  out = value;
  return IntParse::ok;
}

// The value of setting `key`, an integer in [lo, hi] written at `column`.
int64_t integer(const LineRef& at, std::string_view key, std::string_view value, size_t column, int64_t lo,
                int64_t hi) {
  int64_t out = 0;
  switch (parse_int(value, lo, hi, out)) {
    case IntParse::ok:
      return out;
    case IntParse::not_a_number:
      fail(at, column,
           "bad value '" + std::string(value) + "' for " + std::string(key) + ": expected an integer" +
               (lo < 0 ? std::string() : " >= " + std::to_string(lo)));
    case IntParse::out_of_range:
      break;
  }
  fail(at, column,
       std::string(key) + "=" + std::string(value) + " is out of range: expected " + std::to_string(lo) +
           " to " + std::to_string(hi));
}

}  // namespace

void fail(const LineRef& at, size_t column, const std::string& message) {
  throw InputError(at.path, at.line, static_cast<uint32_t>(column), message);
}

std::string_view trim_blanks(std::string_view s) {
  const size_t b = skip_blanks(s, 0);
  size_t e = s.size();
  while (e > b && is_blank(s[e - 1])) --e;
  return s.substr(b, e - b);
}

bool is_valid_name(std::string_view s) {
  if (s.empty() || !is_name_start(s[0])) return false;
  return std::all_of(s.begin() + 1, s.end(), is_name_char);
}

bool ends_with_continuation(std::string_view line) {
  size_t n = 0;
  while (n < line.size() && line[line.size() - 1 - n] == '\\') ++n;
  return n % 2 == 1;
}

uint32_t saturating_u32(std::string_view digits) {
  uint64_t v = 0;
  for (char c : digits) {
    v = v * 10 + static_cast<uint64_t>(c - '0');
    if (v >= kSaturated) return kSaturated;
  }
  return static_cast<uint32_t>(v);
}

std::optional<Prefix> prefix_at(const LineRef& at, std::string_view line, size_t i) {
  if (i + 1 >= line.size() || line[i] != '[') return std::nullopt;
  const char mark = line[i + 1];
  if (mark != '#' && mark != '@' && mark != '%') return std::nullopt;
  const char closing[2] = {mark, ']'};
  const size_t close = line.find(std::string_view(closing, 2), i + 2);
  if (close == std::string_view::npos)
    fail(at, i + 1, std::string("unterminated '[") + mark + "' (no closing '" + mark + "]' on this line)");
  return Prefix{mark, i + 2, close};
}

DepRef parse_dep_token(const LineRef& at, std::string_view tok, size_t column) {
  DepRef ref{RefKind::id, static_cast<uint32_t>(column), 0, 0, tok};
  auto digits_end = [&](size_t j) {
    while (j < tok.size() && is_digit(tok[j])) ++j;
    return j;
  };
  if (is_digit(tok[0])) {
    const size_t e1 = digits_end(0);
    ref.a = saturating_u32(tok.substr(0, e1));
    const size_t j = skip_blanks(tok, e1);
    if (j == tok.size()) return ref;
    if (tok[j] == '-') {
      const size_t b2 = skip_blanks(tok, j + 1);
      const size_t e2 = digits_end(b2);
      if (e2 > b2 && e2 == tok.size()) {
        ref.kind = RefKind::range;
        ref.b = saturating_u32(tok.substr(b2, e2 - b2));
        return ref;
      }
    }
  } else if (tok[0] == '-') {
    const size_t e = digits_end(1);
    if (e > 1 && e == tok.size()) {
      ref.kind = RefKind::relative;
      ref.a = saturating_u32(tok.substr(1));
      return ref;
    }
  } else if (is_valid_name(tok)) {
    ref.kind = RefKind::name;
    return ref;
  }
  fail(at, column,
       "bad dependency '" + std::string(tok) +
           "': expected an id (3), a range (5-7), a relative id (-1) or a task name");
}

Repeat parse_repeat(const LineRef& at, std::string_view value, size_t column) {
  const std::string expected = "bad repeat '" + std::string(value) +
                               "': expected a count (repeat=10), a range " +
                               "(repeat=0-9) or a range with a step (repeat=0-90:10)";
  // A number of at most 10 digits, or an error at its column.
  auto number = [&](std::string_view digits, size_t col) -> uint64_t {
    if (digits.empty() || digits.size() > 10 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return is_digit(c); }))
      fail(at, col, expected);
    uint64_t n = 0;
    for (char c : digits) n = n * 10 + static_cast<uint64_t>(c - '0');
    return n;
  };
  const size_t dash = value.find('-');
  Repeat r;
  uint64_t count = 0;
  if (dash == std::string_view::npos) {
    count = number(value, column);
    if (count == 0) fail(at, column, "repeat=0 makes no task: a sweep has at least one element");
  } else {
    const size_t colon = value.find(':', dash);
    const std::string_view last_text =
        value.substr(dash + 1, colon == std::string_view::npos ? std::string_view::npos : colon - dash - 1);
    const uint64_t first = number(value.substr(0, dash), column);
    const uint64_t last = number(last_text, column + dash + 1);
    uint64_t step = 1;
    if (colon != std::string_view::npos) {
      step = number(value.substr(colon + 1), column + colon + 1);
      if (step == 0) fail(at, column + colon + 1, "repeat step 0: a step is at least 1");
    }
    if (last < first) fail(at, column, "repeat range '" + std::string(value) + "' ends before it starts");
    if (last >= kSaturated)
      fail(at, column + dash + 1,
           "repeat index " + std::to_string(last) + " is too large (at most " +
               std::to_string(kSaturated - 1) + ")");
    r.first = static_cast<uint32_t>(first);
    r.step = static_cast<uint32_t>(step);
    count = (last - first) / step + 1;
  }
  if (count > kMaxRepeat)
    fail(at, column,
         "repeat of " + std::to_string(count) + " elements: at most " + std::to_string(kMaxRepeat) +
             " on one line (split the sweep over several lines, or submit more while the run goes)");
  r.count = static_cast<uint32_t>(count);
  return r;
}

size_t parse_settings(const LineRef& at, std::string_view line, size_t begin, size_t end, Settings& s,
                      NameSetting* name, RepeatSetting* repeat) {
  size_t count = 0;
  unsigned seen = 0;
  size_t i = skip_blanks(line, begin);
  while (i < end) {
    size_t e = i;
    while (e < end && !is_blank(line[e])) ++e;
    const std::string_view token = line.substr(i, e - i);
    const size_t eq = token.find('=');
    if (eq == std::string_view::npos)
      fail(at, i + 1, "missing '=' in setting '" + std::string(token) + "' (expected key=value)");
    const std::string_view key = token.substr(0, eq);
    const std::string_view value = token.substr(eq + 1);
    const size_t value_column = i + eq + 2;
    static constexpr std::string_view kKeys[] = {"name",    "cores",    "gpus",   "timeout",
                                                 "retries", "priority", "repeat", "mem"};
    const auto k = static_cast<unsigned>(std::find(std::begin(kKeys), std::end(kKeys), key) - kKeys);
    if (k == std::size(kKeys))
      fail(at, i + 1,
           "unknown setting '" + std::string(key) +
               "' (expected name, cores, gpus, mem, timeout, retries, priority or repeat)");
    if (seen & (1u << k)) fail(at, i + 1, "setting '" + std::string(key) + "' given twice");
    seen |= 1u << k;
    switch (k) {
      case 0:
        if (name == nullptr) fail(at, i + 1, "'name' cannot have a default: names are unique");
        if (!is_valid_name(value))
          fail(at, value_column,
               "bad name '" + std::string(value) +
                   "': a name is a letter or '_' followed by letters, digits, '_', '.' or '-'");
        *name = {value, value_column};
        break;
      case 1:
        s.cores = static_cast<uint32_t>(integer(at, key, value, value_column, 1, kSaturated));
        break;
      case 2:
        s.gpus = static_cast<uint32_t>(integer(at, key, value, value_column, 0, kSaturated));
        break;
      case 3: {
        const auto d = parse_duration(value);
        if (!d)
          fail(at, value_column,
               "bad duration '" + std::string(value) +
                   "' for timeout: expected e.g. 90, 90s, 30m, 2h or 1h30m");
        s.timeout_s = *d;
        break;
      }
      case 4:
        s.retries = static_cast<uint32_t>(integer(at, key, value, value_column, 0, kSaturated));
        break;
      case 6:
        if (repeat == nullptr) fail(at, i + 1, "'repeat' cannot have a default: a sweep is one line's");
        *repeat = {parse_repeat(at, value, value_column), value_column};
        break;
      case 7: {
        const auto kb = parse_memory(value);
        if (!kb)
          fail(at, value_column,
               "bad memory size '" + std::string(value) +
                   "' for mem: expected a whole number with a unit K, M, G or T (powers of 1024), e.g. "
                   "mem=512M or mem=4G, at most 1024T");
        s.mem_kb = *kb;
        break;
      }
      default:
        s.priority =
            static_cast<int32_t>(integer(at, key, value, value_column, std::numeric_limits<int32_t>::min(),
                                         std::numeric_limits<int32_t>::max()));
        break;
    }
    ++count;
    i = skip_blanks(line, e);
  }
  return count;
}

}  // namespace syntax

std::optional<uint32_t> parse_duration(std::string_view text) {
  using syntax::is_digit;
  constexpr uint64_t kMax = syntax::kSaturated;
  if (text.empty()) return std::nullopt;
  uint64_t total = 0;
  int last_rank = 3;  // units must come in the order h (2), m (1), s (0), each at most once
  size_t i = 0;
  while (i < text.size()) {
    if (!is_digit(text[i])) return std::nullopt;
    uint64_t n = 0;
    for (; i < text.size() && is_digit(text[i]); ++i) {
      n = n * 10 + static_cast<uint64_t>(text[i] - '0');
      if (n > kMax) return std::nullopt;
    }
    if (i == text.size()) {
      if (last_rank != 3) return std::nullopt;  // `1h30` is ambiguous: say 1h30m
      return static_cast<uint32_t>(n);
    }
    int rank = 0;
    uint64_t unit = 1;
    switch (text[i++]) {
      case 'h':
        rank = 2, unit = 3600;
        break;
      case 'm':
        rank = 1, unit = 60;
        break;
      case 's':
        rank = 0, unit = 1;
        break;
      default:
        return std::nullopt;
    }
    if (rank >= last_rank) return std::nullopt;
    last_rank = rank;
    total += n * unit;
    if (total > kMax) return std::nullopt;
  }
  return static_cast<uint32_t>(total);
}

std::optional<uint64_t> parse_memory(std::string_view text) {
  using syntax::is_digit;
  if (text == "0") return 0;
  if (text.size() < 2) return std::nullopt;
  uint64_t shift = 0;  // of KiB
  switch (text.back()) {
    case 'K':
    case 'k':
      shift = 0;
      break;
    case 'M':
    case 'm':
      shift = 10;
      break;
    case 'G':
    case 'g':
      shift = 20;
      break;
    case 'T':
    case 't':
      shift = 30;
      break;
    default:
      return std::nullopt;
  }
  const std::string_view digits = text.substr(0, text.size() - 1);
  uint64_t n = 0;
  for (char c : digits) {
    if (!is_digit(c)) return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
    if (n > kMaxMemoryKb) return std::nullopt;  // before the shift, so nothing overflows
  }
  const uint64_t kb = n << shift;
  if (kb > kMaxMemoryKb) return std::nullopt;
  return kb;
}

std::string format_memory(uint64_t kb) {
  static constexpr char kUnits[] = {'K', 'M', 'G', 'T'};
  if (kb == 0) return "0";
  size_t u = 0;
  uint64_t v = kb;
  while (u + 1 < std::size(kUnits) && v != 0 && v % 1024 == 0) v /= 1024, ++u;
  if (v < 1024 * 10 || u + 1 == std::size(kUnits)) return std::to_string(v) + kUnits[u];
  // Not a whole number of a larger unit: one decimal of the largest unit that keeps it at least 1.
  double x = static_cast<double>(kb);
  u = 0;
  while (u + 1 < std::size(kUnits) && x >= 1024) x /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%c", x, kUnits[u]);
  return buf;
}

std::string plural(uint64_t n, std::string_view one, std::string_view many) {
  std::string out = std::to_string(n);
  out += ' ';
  if (n == 1)
    out += one;
  else if (!many.empty())
    out += many;
  else
    out.append(one).append("s");
  return out;
}

std::string format_duration(uint32_t seconds) {
  const uint32_t h = seconds / 3600, m = seconds % 3600 / 60, s = seconds % 60;
  std::string out;
  if (h) out += std::to_string(h) + "h";
  if (m || (h && s)) out += std::to_string(m) + "m";
  if (s || out.empty()) out += std::to_string(s) + "s";
  return out;
}

}  // namespace mpiq::core
