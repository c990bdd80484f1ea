#include "core/task_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/graph.hpp"
#include "mpiq/error.hpp"

namespace mpiq::core {
namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || is_digit(c) || c == '.' || c == '-';
}

size_t skip_blanks(std::string_view s, size_t i) {
  while (i < s.size() && is_blank(s[i])) ++i;
  return i;
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

// An odd number of trailing backslashes: the last one escapes the newline (`\\` is a literal backslash).
bool ends_with_continuation(std::string_view line) {
  size_t n = 0;
  while (n < line.size() && line[line.size() - 1 - n] == '\\') ++n;
  return n % 2 == 1;
}

// Decimal digits to an unsigned value that saturates at kNone: every line number is below kNone, so a
// saturated value is simply "past the end of the file".
uint32_t saturating_u32(std::string_view digits) {
  uint64_t v = 0;
  for (char c : digits) {
    v = v * 10 + static_cast<uint64_t>(c - '0');
    if (v >= kNone) return kNone;
  }
  return static_cast<uint32_t>(v);
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

/// What a physical line of the file is.
enum class LineKind : uint8_t { blank, comment, directive, task, continuation, barrier };

/// The settings of `[% %]` and `#MPIQ defaults`.
struct Settings {
  uint32_t cores = 1;
  uint32_t gpus = 0;
  uint32_t timeout_s = 0;
  uint32_t retries = 0;
  int32_t priority = 0;
};

/// A dependency as written. One that points backward is resolved as soon as its line is read; one that
/// points forward, or at a name not defined yet, waits in Parser::pending_ for the end of the file.
enum class RefKind : uint8_t {
  id,        ///< `3`: a = line
  range,     ///< `5-7`: a, b = the bounds as written
  relative,  ///< `-1`: a = distance back
  name,      ///< `prep`: token
};
struct DepRef {
  RefKind kind;
  uint32_t column;  ///< of the token, 1-based
  uint32_t a;
  uint32_t b;
  std::string_view token;
};
/// A dependency of row `row` left for after the scan.
struct Pending {
  TaskIndex row;
  DepRef ref;
};

/// Task names to rows, by open addressing over (hash, row) slots whose keys are the table's name column:
/// 8 bytes a slot instead of a heap node per name.
class NameIndex {
 public:
  explicit NameIndex(const StringColumn& names) : names_(names) {}

  /// The row named `name`, or kNone.
  TaskIndex find(std::string_view name) const {
    if (slots_.empty()) return kNone;
    const uint32_t h = hash(name);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.row == kNone) return kNone;
      if (slot.hash == h && names_[slot.row] == name) return slot.row;
    }
  }
  /// Adds `row`, whose name (already in the column) is not in the index yet.
  void insert(TaskIndex row) {
    // At most half full keeps probe sequences short.
    if ((count_ + 1) * 2 > slots_.size()) grow();
    place(hash(names_[row]), row);
    ++count_;
  }

 private:
  struct Slot {
    uint32_t hash;
    TaskIndex row;
  };
  static uint32_t hash(std::string_view s) { return static_cast<uint32_t>(std::hash<std::string_view>{}(s)); }
  void place(uint32_t h, TaskIndex row) {
    size_t i = h & mask_;
    while (slots_[i].row != kNone) i = (i + 1) & mask_;
    slots_[i] = {h, row};
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(std::max<size_t>(64, old.size() * 2), Slot{0, kNone});
    mask_ = slots_.size() - 1;
    for (const Slot& slot : old)
      if (slot.row != kNone) place(slot.hash, slot.row);
  }

  const StringColumn& names_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

class Parser {
 public:
  /// `run` is null for a task file of its own, else the run a submitted file joins.
  Parser(std::string_view text, const std::string& path, const RunContext* run = nullptr)
      : text_(text), path_(path), run_(run) {}

  TaskTable run() {
    reject_nul_bytes();
    scan();
    if (command_tasks_ == 0) fail(0, 0, "no tasks");
    resolve_pending();
    // With every dependency pointing backward (GREASY's rule, and the common case) row order is a
    // topological order: there can be no cycle to look for. Dependencies on the run's tasks never
    // close a cycle: those tasks cannot wait for the file's, which did not exist when they were added.
    if (may_cycle_) check_acyclic();
    table_.init_runtime_columns();
    return std::move(table_);
  }

  /// The file as tasks joining run_: ids base + line, dependencies as rows of the run's table once the
  /// file's rows follow its last one.
  Submission submission() {
    TaskTable own = run();
    Submission out;
    const uint64_t base = submission_base(run_->last_id);
    const uint64_t last_line = line_kind_.size();
    if (base + last_line >= kNone)
      fail(0, 0,
           "the run has no task ids left for " + std::to_string(last_line) + " more lines (the last id is " +
               std::to_string(run_->last_id) + ")");
    out.base = static_cast<TaskId>(base);
    std::sort(external_.begin(), external_.end());
    external_.erase(std::unique(external_.begin(), external_.end()), external_.end());
    out.tasks.reserve(own.size());
    std::vector<TaskIndex> deps;
    size_t e = 0;
    for (TaskIndex r = 0; r < own.size(); ++r) {
      // The run's rows come before the file's, so the external dependencies (sorted) go first.
      deps.clear();
      for (; e < external_.size() && external_[e].first == r; ++e) deps.push_back(external_[e].second);
      for (uint64_t k = own.dep_offsets[r]; k < own.dep_offsets[r + 1]; ++k)
        deps.push_back(run_->rows + own.deps[k]);
      TaskSpec spec = own.spec(r);
      spec.id = static_cast<TaskId>(out.base + own.id[r]);
      spec.deps = deps;
      out.tasks.append(spec);
    }
    out.tasks.init_runtime_columns();
    std::sort(outside_names_.begin(), outside_names_.end());
    outside_names_.erase(std::unique(outside_names_.begin(), outside_names_.end()), outside_names_.end());
    out.outside_names = std::move(outside_names_);
    return out;
  }

 private:
  [[noreturn]] void fail(uint32_t line, size_t column, const std::string& message) const {
    throw InputError(path_, line, static_cast<uint32_t>(column), message);
  }

  // A NUL byte cannot be passed to a shell; it also means the file is not text.
  void reject_nul_bytes() const {
    const void* nul = std::memchr(text_.data(), '\0', text_.size());
    if (nul == nullptr) return;
    const size_t at = static_cast<size_t>(static_cast<const char*>(nul) - text_.data());
    const std::string_view before = text_.substr(0, at);
    const size_t line_start = before.rfind('\n') == std::string_view::npos ? 0 : before.rfind('\n') + 1;
    fail(static_cast<uint32_t>(std::count(before.begin(), before.end(), '\n') + 1), at - line_start + 1,
         "NUL byte in the task file (is it a binary file?)");
  }

  // The next physical line from pos_, without its newline and trailing '\r'; advances pos_.
  std::string_view next_line() {
    const char* begin = text_.data() + pos_;
    const size_t left = text_.size() - pos_;
    const void* nl = std::memchr(begin, '\n', left);
    const size_t len = nl ? static_cast<size_t>(static_cast<const char*>(nl) - begin) : left;
    pos_ += nl ? len + 1 : len;
    std::string_view line(begin, len);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no_ >= kNone - 1) fail(line_no_, 0, "too many lines");
    ++line_no_;
    return line;
  }

  void mark_line(LineKind kind, uint32_t row) {
    line_kind_.push_back(kind);
    line_row_.push_back(row);
  }

  // Pass 1: every line in order; builds the rows and resolves the dependencies that point backward.
  void scan() {
    size_t lines = 1;
    for (size_t p = 0; (p = text_.find('\n', p)) != std::string_view::npos; ++p) ++lines;
    line_kind_.reserve(lines);
    line_row_.reserve(lines);
    table_.reserve(lines, lines);
    table_.command.reserve(lines, text_.size());

    while (pos_ < text_.size()) {
      const std::string_view line = next_line();
      const size_t i = skip_blanks(line, 0);
      if (i == line.size()) {
        mark_line(LineKind::blank, kNone);
      } else if (line[i] != '#') {
        task_line(line, i);
      } else if (line.substr(i, 5) == "#MPIQ" && (i + 5 == line.size() || is_blank(line[i + 5]))) {
        directive_line(line, i);
      } else {
        mark_line(LineKind::comment, kNone);
      }
    }
  }

  void directive_line(std::string_view line, size_t hash) {
    const size_t word = skip_blanks(line, hash + 5);
    if (word == line.size())
      fail(line_no_, hash + 1, "missing directive after '#MPIQ' (expected 'barrier' or 'defaults')");
    size_t end = word;
    while (end < line.size() && !is_blank(line[end])) ++end;
    const std::string_view name = line.substr(word, end - word);
    if (name == "barrier") {
      const size_t rest = skip_blanks(line, end);
      if (rest != line.size()) fail(line_no_, rest + 1, "unexpected text after '#MPIQ barrier'");
      add_barrier();
    } else if (name == "defaults") {
      if (parse_settings(line, end, line.size(), defaults_, nullptr, nullptr) == 0)
        fail(line_no_, word + 1, "'#MPIQ defaults' needs at least one key=value");
      mark_line(LineKind::directive, kNone);
    } else {
      fail(line_no_, word + 1,
           "unknown directive '" + std::string(name) + "' (expected 'barrier' or 'defaults')");
    }
  }

  void add_barrier() {
    const auto row = static_cast<TaskIndex>(table_.size());
    mark_line(LineKind::barrier, row);
    // Rows [segment_start_, row) are the previous barrier and the tasks since it, already in order.
    barrier_deps_.clear();
    for (TaskIndex d = segment_start_; d < row; ++d) barrier_deps_.push_back(d);
    TaskSpec spec;
    spec.id = line_no_;
    spec.flags = kBarrier;
    spec.cores = 0;
    spec.deps = barrier_deps_;
    table_.append(spec);
    last_barrier_ = row;
    segment_start_ = row;
  }

  void task_line(std::string_view line, size_t i) {
    const uint32_t first_line = line_no_;
    Settings settings = defaults_;
    std::string_view name;
    size_t name_column = 0;
    std::string_view workdir;
    bool seen[3] = {false, false, false};
    bool any_prefix = false;
    while (i + 1 < line.size() && line[i] == '[' &&
           (line[i + 1] == '#' || line[i + 1] == '@' || line[i + 1] == '%')) {
      const char mark = line[i + 1];
      const char closing[2] = {mark, ']'};
      const size_t close = line.find(std::string_view(closing, 2), i + 2);
      if (close == std::string_view::npos)
        fail(line_no_, i + 1,
             std::string("unterminated '[") + mark + "' (no closing '" + mark + "]' on this line)");
      bool& once = seen[mark == '#' ? 0 : mark == '@' ? 1 : 2];
      if (once) fail(line_no_, i + 1, std::string("second '[") + mark + "' prefix on one task");
      once = true;
      if (mark == '#') {
        parse_deps(line, i + 2, close);
      } else if (mark == '@') {
        workdir = trim_blanks(line.substr(i + 2, close - i - 2));
        if (workdir.empty()) fail(line_no_, i + 1, "empty working directory in '[@ @]'");
      } else {
        parse_settings(line, i + 2, close, settings, &name, &name_column);
      }
      i = skip_blanks(line, close + 2);
      any_prefix = true;
    }
    const size_t command_column = i + 1;
    mark_line(LineKind::task, static_cast<TaskIndex>(table_.size()));

    std::string_view command = line.substr(i);
    std::string joined;  // only for continued lines: most tasks are a view into the text
    if (ends_with_continuation(line)) {
      joined.assign(command.substr(0, command.size() - 1));
      std::string_view last = line;
      for (;;) {
        if (pos_ >= text_.size())
          fail(line_no_, last.size(), "unterminated continuation: the last line ends with '\\'");
        last = next_line();
        mark_line(LineKind::continuation, kNone);
        if (!ends_with_continuation(last)) {
          joined.append(last);
          break;
        }
        joined.append(last.substr(0, last.size() - 1));
      }
      command = joined;
      command.remove_prefix(skip_blanks(command, 0));
    }
    if (command.empty()) {
      if (any_prefix) fail(first_line, command_column, "missing command after the prefixes");
      fail(first_line, command_column, "empty command");
    }

    const auto row = static_cast<TaskIndex>(table_.size());
    if (!name.empty()) {
      const TaskIndex first = names_.find(name);
      if (first != kNone)
        fail(first_line, name_column,
             "duplicate name '" + std::string(name) + "' (first used on line " +
                 std::to_string(table_.id[first]) + ")");
      if (run_ && run_->find_name)
        if (const auto task = run_->find_name(name))
          fail(first_line, name_column,
               "duplicate name '" + std::string(name) + "': the run already has it (task " +
                   std::to_string(task->id) + ")");
    }
    if (last_barrier_ != kNone) row_deps_.push_back(last_barrier_);
    if (row_deps_.size() > 1) {
      std::sort(row_deps_.begin(), row_deps_.end());
      row_deps_.erase(std::unique(row_deps_.begin(), row_deps_.end()), row_deps_.end());
    }
    TaskSpec spec;
    spec.id = first_line;
    spec.name = name;
    spec.command = command;
    spec.workdir = workdir;
    spec.cores = settings.cores;
    spec.gpus = settings.gpus;
    spec.timeout_s = settings.timeout_s;
    spec.retries = settings.retries;
    spec.priority = settings.priority;
    spec.deps = row_deps_;
    table_.append(spec);
    if (!name.empty()) names_.insert(row);
    row_deps_.clear();
    ++command_tasks_;
  }

  // The dependency list between line[begin] and line[end]: comma-separated tokens.
  void parse_deps(std::string_view line, size_t begin, size_t end) {
    // `[##]` or `[# #]`: no dependency, as in GREASY.
    if (skip_blanks(line, begin) >= end) return;
    size_t start = begin;
    for (;;) {
      size_t comma = start;
      while (comma < end && line[comma] != ',') ++comma;
      size_t b = skip_blanks(line, start);
      if (b > comma) b = comma;
      size_t e = comma;
      while (e > b && is_blank(line[e - 1])) --e;
      if (b == e) fail(line_no_, b + 1, "empty dependency (two commas in a row, or a comma at an end)");
      parse_dep_token(line.substr(b, e - b), b + 1);
      if (comma == end) break;
      start = comma + 1;
    }
  }

  void parse_dep_token(std::string_view tok, size_t column) {
    DepRef ref{RefKind::id, static_cast<uint32_t>(column), 0, 0, tok};
    auto digits_end = [&](size_t j) {
      while (j < tok.size() && is_digit(tok[j])) ++j;
      return j;
    };
    bool ok = false;
    if (is_digit(tok[0])) {
      const size_t e1 = digits_end(0);
      ref.a = saturating_u32(tok.substr(0, e1));
      size_t j = skip_blanks(tok, e1);
      if (j == tok.size()) {
        ok = true;
      } else if (tok[j] == '-') {
        const size_t b2 = skip_blanks(tok, j + 1);
        const size_t e2 = digits_end(b2);
        if (e2 > b2 && e2 == tok.size()) {
          ref.kind = RefKind::range;
          ref.b = saturating_u32(tok.substr(b2, e2 - b2));
          ok = true;
        }
      }
    } else if (tok[0] == '-') {
      const size_t e = digits_end(1);
      if (e > 1 && e == tok.size()) {
        ref.kind = RefKind::relative;
        ref.a = saturating_u32(tok.substr(1));
        ok = true;
      }
    } else if (is_valid_name(tok)) {
      ref.kind = RefKind::name;
      ok = true;
    }
    if (!ok)
      fail(line_no_, column,
           "bad dependency '" + std::string(tok) +
               "': expected an id (3), a range (5-7), a relative id (-1) or a task name");
    add_dep(ref);
  }

  // Resolves a dependency of the task on the current line now when it points backward (everything it can
  // point at is known), else keeps it for resolve_pending().
  void add_dep(const DepRef& ref) {
    const auto self = static_cast<TaskIndex>(table_.size());
    switch (ref.kind) {
      case RefKind::id:
        if (ref.a > line_no_) break;
        row_deps_.push_back(task_row_at(ref.a, ref, line_no_));
        return;
      case RefKind::relative:
        if (ref.a >= line_no_)
          fail(line_no_, ref.column, "dependency '" + std::string(ref.token) + "' points before line 1");
        row_deps_.push_back(task_row_at(line_no_ - ref.a, ref, line_no_));
        return;
      case RefKind::range:
        if (std::max(ref.a, ref.b) >= line_no_) break;
        add_range(ref, line_no_, row_deps_);
        return;
      case RefKind::name: {
        // The task's own name is not registered yet, so a hit here is always another, earlier task.
        const TaskIndex row = names_.find(ref.token);
        if (row == kNone) break;
        row_deps_.push_back(row);
        return;
      }
    }
    pending_.push_back({self, ref});
  }

  // Whitespace-separated key=value settings in line[begin, end). `name` is null for `#MPIQ defaults`,
  // which may not set a name. Returns how many settings there were.
  size_t parse_settings(std::string_view line, size_t begin, size_t end, Settings& s, std::string_view* name,
                        size_t* name_column) {
    size_t count = 0;
    unsigned seen = 0;
    size_t i = skip_blanks(line, begin);
    while (i < end) {
      size_t e = i;
      while (e < end && !is_blank(line[e])) ++e;
      const std::string_view token = line.substr(i, e - i);
      const size_t eq = token.find('=');
      if (eq == std::string_view::npos)
        fail(line_no_, i + 1, "missing '=' in setting '" + std::string(token) + "' (expected key=value)");
      const std::string_view key = token.substr(0, eq);
      const std::string_view value = token.substr(eq + 1);
      const size_t value_column = i + eq + 2;
      static constexpr std::string_view kKeys[] = {"name", "cores", "gpus", "timeout", "retries", "priority"};
      const auto k = static_cast<unsigned>(std::find(std::begin(kKeys), std::end(kKeys), key) - kKeys);
      if (k == std::size(kKeys))
        fail(line_no_, i + 1,
             "unknown setting '" + std::string(key) +
                 "' (expected name, cores, gpus, timeout, retries or priority)");
      if (seen & (1u << k)) fail(line_no_, i + 1, "setting '" + std::string(key) + "' given twice");
      seen |= 1u << k;
      switch (k) {
        case 0:
          if (name == nullptr) fail(line_no_, i + 1, "'name' cannot have a default: names are unique");
          if (!is_valid_name(value))
            fail(line_no_, value_column,
                 "bad name '" + std::string(value) +
                     "': a name is a letter or '_' followed by letters, digits, '_', '.' or '-'");
          *name = value;
          *name_column = value_column;
          break;
        case 1:
          s.cores = static_cast<uint32_t>(integer(key, value, value_column, 1, kNone));
          break;
        case 2:
          s.gpus = static_cast<uint32_t>(integer(key, value, value_column, 0, kNone));
          break;
        case 3: {
          const auto d = parse_duration(value);
          if (!d)
            fail(line_no_, value_column,
                 "bad duration '" + std::string(value) +
                     "' for timeout: expected e.g. 90, 90s, 30m, 2h or 1h30m");
          s.timeout_s = *d;
          break;
        }
        case 4:
          s.retries = static_cast<uint32_t>(integer(key, value, value_column, 0, kNone));
          break;
        default:
          s.priority =
              static_cast<int32_t>(integer(key, value, value_column, std::numeric_limits<int32_t>::min(),
                                           std::numeric_limits<int32_t>::max()));
          break;
      }
      ++count;
      i = skip_blanks(line, e);
    }
    return count;
  }

  int64_t integer(std::string_view key, std::string_view value, size_t column, int64_t lo, int64_t hi) const {
    int64_t out = 0;
    switch (parse_int(value, lo, hi, out)) {
      case IntParse::ok:
        return out;
      case IntParse::not_a_number:
        fail(line_no_, column,
             "bad value '" + std::string(value) + "' for " + std::string(key) + ": expected an integer" +
                 (lo < 0 ? std::string() : " >= " + std::to_string(lo)));
      case IntParse::out_of_range:
        break;
    }
    fail(line_no_, column,
         std::string(key) + "=" + std::string(value) + " is out of range: expected " + std::to_string(lo) +
             " to " + std::to_string(hi));
  }

  // "3", "3 (prep)" or "4 (barrier)": how messages name a row.
  std::string describe(TaskIndex row) const {
    std::string s = std::to_string(table_.id[row]);
    if (table_.is_barrier(row)) return s + " (barrier)";
    if (!table_.name[row].empty()) s += " (" + std::string(table_.name[row]) + ")";
    return s;
  }

  // The row of the task on `line`, for the dependency `ref` of the task on line `at`; anything else is an
  // error. Lines before `at` are known while scanning, every line after it.
  TaskIndex task_row_at(uint64_t line, const DepRef& ref, uint32_t at) const {
    if (line < at && line > 0 && line_kind_[line - 1] == LineKind::task) return line_row_[line - 1];
    if (line > at && line <= line_kind_.size() && line_kind_[line - 1] == LineKind::task)
      return line_row_[line - 1];
    not_a_task(line, ref, at);
  }

  // The error for a dependency that does not point at a task: built only here, off the hot path.
  [[noreturn]] void not_a_task(uint64_t line, const DepRef& ref, uint32_t at) const {
    const std::string dep = "dependency '" + std::string(ref.token) + "'";
    if (line == at) fail(at, ref.column, "task " + std::to_string(at) + " depends on itself");
    if (line == 0) fail(at, ref.column, dep + " points at line 0, but lines start at 1");
    if (line > line_kind_.size())
      fail(at, ref.column, dep + " points past the last line (" + std::to_string(line_kind_.size()) + ")");
    const std::string where = dep + " points at line " + std::to_string(line) + ", which ";
    switch (line_kind_[line - 1]) {
      case LineKind::blank:
        fail(at, ref.column, where + "is blank, not a task");
      case LineKind::comment:
        fail(at, ref.column, where + "is a comment, not a task");
      case LineKind::directive:
        fail(at, ref.column, where + "is an '#MPIQ' directive, not a task");
      case LineKind::barrier:
        fail(at, ref.column, where + "is a barrier, not a task");
      case LineKind::task:
      case LineKind::continuation:
        break;
    }
    uint64_t first = line;
    while (line_kind_[first - 1] != LineKind::task) --first;
    fail(at, ref.column,
         where + "continues the task on line " + std::to_string(first) + ", not a task of its own");
  }

  // The task lines inside the range `ref` of the task on line `at`, except that task itself.
  void add_range(const DepRef& ref, uint32_t at, std::vector<TaskIndex>& out) const {
    // A reversed range means the same as the right way round, as in GREASY.
    const uint64_t lo = std::max<uint64_t>(std::min(ref.a, ref.b), 1);
    const uint64_t hi = std::min<uint64_t>(std::max(ref.a, ref.b), line_kind_.size());
    bool any_task = false;
    for (uint64_t line = lo; line <= hi; ++line) {
      if (line_kind_[line - 1] != LineKind::task) continue;
      any_task = true;
      // GREASY drops the task itself from a range that covers it; so do we, to mean the same.
      if (line != at) out.push_back(line_row_[line - 1]);
    }
    if (!any_task) fail(at, ref.column, "range '" + std::string(ref.token) + "' covers no task");
  }

  // Pass 2, only for files with forward dependencies or names used before their line: resolves them and
  // merges them into the rows' sorted, unique lists.
  void resolve_pending() {
    if (pending_.empty()) return;
    const size_t n = table_.size();
    std::vector<TaskIndex> deps;
    deps.reserve(table_.deps.size() + pending_.size());
    std::vector<uint64_t> offsets;
    offsets.reserve(n + 1);
    offsets.push_back(0);
    size_t p = 0;
    for (size_t r = 0; r < n; ++r) {
      const size_t begin = deps.size();
      deps.insert(deps.end(), table_.deps.begin() + static_cast<ptrdiff_t>(table_.dep_offsets[r]),
                  table_.deps.begin() + static_cast<ptrdiff_t>(table_.dep_offsets[r + 1]));
      if (p < pending_.size() && pending_[p].row == r) {
        for (; p < pending_.size() && pending_[p].row == r; ++p) resolve_later(pending_[p], deps);
        std::sort(deps.begin() + static_cast<ptrdiff_t>(begin), deps.end());
        deps.erase(std::unique(deps.begin() + static_cast<ptrdiff_t>(begin), deps.end()), deps.end());
        if (deps.size() > begin && deps.back() > r) may_cycle_ = true;
      }
      offsets.push_back(deps.size());
    }
    table_.deps = std::move(deps);
    table_.dep_offsets = std::move(offsets);
  }

  void resolve_later(const Pending& pending, std::vector<TaskIndex>& out) {
    const DepRef& ref = pending.ref;
    const uint32_t at = table_.id[pending.row];
    switch (ref.kind) {
      case RefKind::id:
        out.push_back(task_row_at(ref.a, ref, at));
        break;
      case RefKind::range:
        add_range(ref, at, out);
        break;
      case RefKind::name: {
        const TaskIndex row = names_.find(ref.token);
        if (row == kNone && run_) {
          // Not a task of the file: one of the run's, or (the run's names unknown) left for later.
          if (!run_->find_name) {
            outside_names_.emplace_back(ref.token);
            break;
          }
          if (const auto task = run_->find_name(ref.token)) {
            external_.emplace_back(pending.row, task->row);
            break;
          }
          fail(at, ref.column,
               "unknown dependency '" + std::string(ref.token) +
                   "' (no task of this file or of the run has that name)");
        }
        if (row == kNone) fail(at, ref.column, "unknown dependency '" + std::string(ref.token) + "'");
        if (row == pending.row) fail(at, ref.column, "task " + std::to_string(at) + " depends on itself");
        out.push_back(row);
        break;
      }
      case RefKind::relative:  // always backward: resolved while scanning
        break;
    }
  }

  // Pass 3: a cycle is an error that names its tasks, starting from the one with the smallest id.
  void check_acyclic() const {
    const size_t n = table_.size();
    const std::vector<TaskIndex> order = topological_order(table_, dependants(table_));
    if (order.size() == n) return;
    std::vector<uint8_t> ordered(n, 0);
    for (TaskIndex r : order) ordered[r] = 1;
    // Every row left out of the order waits for at least one other row left out (else it would have been
    // ordered), so following such dependencies from any of them must come back to a row already seen.
    TaskIndex r = 0;
    while (ordered[r]) ++r;
    std::vector<uint32_t> position(n, kNone);
    std::vector<TaskIndex> path;
    while (position[r] == kNone) {
      position[r] = static_cast<uint32_t>(path.size());
      path.push_back(r);
      for (uint64_t k = table_.dep_offsets[r];; ++k) {
        if (!ordered[table_.deps[k]]) {
          r = table_.deps[k];
          break;
        }
      }
    }
    std::vector<TaskIndex> cycle(path.begin() + position[r], path.end());
    std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
    // A cycle can be a million tasks long: name its ends and count the middle.
    std::string message = "dependency cycle: ";
    auto add = [&](TaskIndex c) { message += describe(c) + " -> "; };
    if (cycle.size() <= 12) {
      for (TaskIndex c : cycle) add(c);
    } else {
      for (size_t k = 0; k < 8; ++k) add(cycle[k]);
      message += "... (" + std::to_string(cycle.size() - 10) + " more) -> ";
      add(cycle[cycle.size() - 2]);
      add(cycle.back());
    }
    message += describe(cycle.front());
    fail(table_.id[cycle.front()], 1, message);
  }

  std::string_view text_;
  const std::string& path_;
  const RunContext* run_;
  size_t pos_ = 0;
  uint32_t line_no_ = 0;

  TaskTable table_;
  uint64_t command_tasks_ = 0;
  Settings defaults_;
  TaskIndex last_barrier_ = kNone;
  TaskIndex segment_start_ = 0;
  NameIndex names_{table_.name};

  std::vector<LineKind> line_kind_;      ///< per physical line (index line - 1)
  std::vector<TaskIndex> line_row_;      ///< per physical line: the row of a task or barrier line, else kNone
  std::vector<TaskIndex> row_deps_;      ///< the dependencies of the task being read
  std::vector<TaskIndex> barrier_deps_;  ///< scratch: the rows a barrier waits for
  std::vector<Pending> pending_;         ///< in row order
  bool may_cycle_ = false;               ///< some row waits for a later one
  /// Of a submitted file: (row of the file, row of the run) for each dependency on a task of the run.
  std::vector<std::pair<TaskIndex, TaskIndex>> external_;
  std::vector<std::string> outside_names_;  ///< names defined neither in the file nor (known) in the run
};

}  // namespace

TaskTable parse_task_file(std::string_view text, const std::string& path) {
  return Parser(text, path).run();
}

uint64_t submission_base(TaskId last_id) {
  return (uint64_t{last_id} + kSubmissionIdStep - 1) / kSubmissionIdStep * kSubmissionIdStep;
}

Submission parse_submission(std::string_view text, const std::string& path, const RunContext& run) {
  return Parser(text, path, &run).submission();
}

RunContext run_context(const TaskTable& run) {
  RunContext context;
  context.rows = static_cast<TaskIndex>(run.size());
  context.last_id = run.id.empty() ? 0 : run.id.back();
  // Views into the table's name column: valid as long as the table does not change, as documented.
  auto names = std::make_shared<std::unordered_map<std::string_view, TaskIndex>>();
  for (TaskIndex r = 0; r < run.size(); ++r)
    if (!run.name[r].empty()) names->emplace(run.name[r], r);
  const TaskTable* table = &run;
  context.find_name = [names, table](std::string_view name) -> std::optional<RunTask> {
    const auto it = names->find(name);
    if (it == names->end()) return std::nullopt;
    return RunTask{it->second, table->id[it->second]};
  };
  return context;
}

TaskTable load_task_file(const std::string& path) {
  return parse_task_file(read_task_file(path), path);
}

std::string read_task_file(const std::string& path) {
  auto unreadable = [&path](int err) {
    return InputError(path, 0, 0, std::string("cannot read the task file: ") + std::strerror(err));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw unreadable(errno);
  struct stat st {};
  std::string text;
  text.resize(::fstat(fd, &st) == 0 && st.st_size > 0 ? static_cast<size_t>(st.st_size) + 1 : 1 << 16);
  size_t len = 0;
  for (;;) {
    if (len == text.size()) text.resize(text.size() * 2);
    const ssize_t got = ::read(fd, text.data() + len, text.size() - len);
    if (got < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw unreadable(err);
    }
    if (got == 0) break;
    len += static_cast<size_t>(got);
  }
  ::close(fd);
  text.resize(len);
  return text;
}

std::optional<uint32_t> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t total = 0;
  int last_rank = 3;  // units must come in the order h (2), m (1), s (0), each at most once
  size_t i = 0;
  while (i < text.size()) {
    if (!is_digit(text[i])) return std::nullopt;
    uint64_t n = 0;
    for (; i < text.size() && is_digit(text[i]); ++i) {
      n = n * 10 + static_cast<uint64_t>(text[i] - '0');
      if (n > kNone) return std::nullopt;
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
    if (total > kNone) return std::nullopt;
  }
  return static_cast<uint32_t>(total);
}

}  // namespace mpiq::core
