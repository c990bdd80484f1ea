#include "core/task_file.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "core/graph.hpp"
#include "core/name_index.hpp"
#include "core/pylauncher.hpp"
#include "core/submission.hpp"
#include "core/task_syntax.hpp"
#include "mpiq/error.hpp"

namespace mpiq::core {
namespace {

using namespace syntax;

// "No row" in the parser's per-line columns; NameIndex::find says the same for an unknown name.
constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
// Rows a file may make: row indices are 32-bit and kNone is not one.
static_assert(NameIndex::kNotFound == kNone);

/// What a physical line of the file is.
enum class LineKind : uint8_t { blank, comment, directive, task, continuation, barrier };

/// A dependency of row `row` that points forward, or at a name not defined yet: left for the end of the
/// file (one that points backward is resolved as soon as its line is read).
struct Pending {
  TaskIndex row;
  DepRef ref;
};

constexpr std::string_view kDirectives = "'barrier', 'defaults' or 'pernode'";

class Parser {
 public:
  /// `run` is null for a task file of its own, else the run a submitted file joins.
  Parser(std::string_view text, const std::string& path, const RunContext* run = nullptr)
      : text_(text), path_(path), run_(run) {}

  TaskTable run() {
    reject_nul_bytes();
    // A UTF-8 byte order mark (some Windows editors write one) is no part of the first line; columns
    // count from after it, as the editor shows the line.
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
    // Another tool's file read as mpiq's would run with another meaning (docs/design.md §2).
    if (run_ == nullptr && looks_like_pylauncher(text_.substr(pos_)))
      fail(1, 1,
           "this is a pylauncher file (every task line is CORES,COMMAND): run it with --format pylauncher");
    scan();
    if (command_tasks_ == 0) fail(0, 0, "no tasks");
    resolve_pending();
    // With every dependency pointing backward (GREASY's rule, and the common case) row order is a
    // topological order: there can be no cycle to look for. Dependencies on the run's tasks never
    // close a cycle: those tasks cannot wait for the file's, which did not exist when they were added.
    if (may_cycle_) check_acyclic();
    // The spec columns only: the runtime columns are given once the text and the parser's own
    // temporaries are gone (parse_task_file, store::load_task_file), so that they are never all held at
    // once (the hub's peak memory of a large file: bench_hub_scale).
    table_.pad_spec_columns();
    return std::move(table_);
  }

  const NodeCommands& pernode() const noexcept { return pernode_; }

  /// The file as a submission to run_: its own rows, and what it needs of the run.
  detail::ParsedSubmission submission() {
    detail::ParsedSubmission out;
    out.own = run();
    out.lines = line_kind_.size();
    out.run_deps = std::move(external_);
    out.outside_names = std::move(outside_names_);
    return out;
  }

 private:
  [[noreturn]] void fail(uint32_t line, size_t column, const std::string& message) const {
    syntax::fail(LineRef{path_, line}, column, message);
  }
  LineRef here() const { return LineRef{path_, line_no_}; }

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
      } else if (i == 0 && line.substr(0, 10) == "#DISBATCH ") {
        // disBatch reads this line (as it does: `#DISBATCH ` at the start of the line) as a directive;
        // read as a comment it would give the file another meaning (docs/design.md §2).
        fail(line_no_, 1,
             "disBatch directive '" + std::string(trim_blanks(line.substr(0, line.find(' ', 10)))) +
                 "': this is a disBatch file: run it with --format disbatch");
      } else {
        mark_line(LineKind::comment, kNone);
      }
    }
  }

  void directive_line(std::string_view line, size_t hash) {
    const size_t word = skip_blanks(line, hash + 5);
    if (word == line.size())
      fail(line_no_, hash + 1, "missing directive after '#MPIQ' (expected " + std::string(kDirectives) + ")");
    size_t end = word;
    while (end < line.size() && !is_blank(line[end])) ++end;
    const std::string_view name = line.substr(word, end - word);
    if (name == "barrier") {
      const size_t rest = skip_blanks(line, end);
      if (rest != line.size()) fail(line_no_, rest + 1, "unexpected text after '#MPIQ barrier'");
      add_barrier();
    } else if (name == "defaults") {
      if (parse_settings(here(), line, end, line.size(), defaults_, nullptr) == 0)
        fail(line_no_, word + 1, "'#MPIQ defaults' needs at least one key=value");
      mark_line(LineKind::directive, kNone);
    } else if (name == "pernode") {
      pernode_line(line, end);
    } else {
      fail(line_no_, word + 1,
           "unknown directive '" + std::string(name) + "' (expected " + std::string(kDirectives) + ")");
    }
  }

  // `#MPIQ pernode start CMD` / `#MPIQ pernode stop CMD`; `at` is just after the word `pernode`.
  void pernode_line(std::string_view line, size_t at) {
    const size_t word = skip_blanks(line, at);
    size_t end = word;
    while (end < line.size() && !is_blank(line[end])) ++end;
    const std::string_view which = line.substr(word, end - word);
    if (which != "start" && which != "stop")
      fail(line_no_, word + 1,
           which.empty() ? std::string("'#MPIQ pernode' needs 'start CMD' or 'stop CMD'")
                         : "unknown pernode command '" + std::string(which) + "' (expected 'start' or 'stop')");
    if (run_ != nullptr)
      fail(line_no_, at - 6, "'#MPIQ pernode' belongs in the run's own task file, not in a submitted one");
    const size_t cmd = skip_blanks(line, end);
    if (cmd == line.size()) fail(line_no_, end + 1, "missing command after '#MPIQ pernode " + std::string(which) + "'");
    if (ends_with_continuation(line))
      fail(line_no_, line.size(), "a pernode command cannot continue on the next line (write it as one line)");
    NodeCommand& c = which == "start" ? pernode_.start : pernode_.stop;
    if (!c.empty())
      fail(line_no_, word + 1,
           "a second '#MPIQ pernode " + std::string(which) + "' (the first is on line " + std::to_string(c.line) +
               "; join the commands with && on one line)");
    c.line = line_no_;
    c.command = std::string(line.substr(cmd));
    mark_line(LineKind::directive, kNone);
  }

  [[noreturn]] void too_many_tasks(size_t column) const {
    fail(line_no_, column,
         "too many tasks: the file makes more than " + std::to_string(kMaxFileTasks) +
             " (with its sweeps); split it, and submit the rest while the run goes (mpiq submit)");
  }

  void add_barrier() {
    if (table_.size() >= kMaxFileTasks) too_many_tasks(1);
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
    NameSetting named;
    RepeatSetting repeat;
    std::string_view workdir;
    bool seen[3] = {false, false, false};
    bool any_prefix = false;
    while (const auto prefix = prefix_at(here(), line, i)) {
      const char mark = prefix->mark;
      bool& once = seen[mark == '#' ? 0 : mark == '@' ? 1 : 2];
      if (once) fail(line_no_, i + 1, std::string("second '[") + mark + "' prefix on one task");
      once = true;
      if (mark == '#') {
        for_each_dep(here(), line, prefix->body, prefix->close, [this](const DepRef& ref) { add_dep(ref); });
      } else if (mark == '@') {
        workdir = trim_blanks(line.substr(prefix->body, prefix->close - prefix->body));
        if (workdir.empty()) fail(line_no_, i + 1, "empty working directory in '[@ @]'");
      } else {
        parse_settings(here(), line, prefix->body, prefix->close, settings, &named, &repeat);
      }
      i = skip_blanks(line, prefix->close + 2);
      any_prefix = true;
    }
    const size_t command_column = i + 1;
    if (table_.size() >= kMaxFileTasks) too_many_tasks(command_column);
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
    const std::string_view name = named.value;
    const size_t name_column = named.column;
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
    spec.mem_kb = settings.mem_kb;
    spec.deps = row_deps_;
    if (repeat.value) {
      add_sweep(spec, *repeat.value, repeat.column);
    } else {
      table_.append(spec);
      if (!name.empty()) names_.insert(row);
      ++command_tasks_;
    }
    row_deps_.clear();
  }

  // A `repeat=` line (docs/design.md §2): one row per element, each with the line's command, settings and
  // dependencies and its own index, then a join row (flagged kBarrier, with the line's name) that waits for
  // every element. The line stands for its join row, so whatever depends on the line (id, range, relative
  // id or name) waits for all of its elements through one edge. Each element costs what a line of its own
  // would: one row and a copy of the command.
  void add_sweep(TaskSpec spec, const Repeat& repeat, size_t column) {
    if (uint64_t{table_.size()} + repeat.count + 1 > kMaxFileTasks) too_many_tasks(column);
    const auto first_row = static_cast<TaskIndex>(table_.size());
    const std::string_view name = spec.name;
    spec.name = {};
    table_.reserve(table_.size() + repeat.count + 1,
                   table_.deps.size() + repeat.count * (spec.deps.size() + 1));
    table_.command.reserve(table_.size() + repeat.count + 1,
                           table_.command.blob().size() + repeat.count * spec.command.size());
    for (uint32_t k = 0; k < repeat.count; ++k) {
      spec.element = repeat.index(k);
      table_.append(spec);
    }
    sweep_deps_.resize(repeat.count);
    for (uint32_t k = 0; k < repeat.count; ++k) sweep_deps_[k] = first_row + k;
    TaskSpec join;
    join.id = spec.id;
    join.flags = kBarrier;
    join.name = name;
    join.cores = 0;
    join.deps = sweep_deps_;
    const TaskIndex join_row = table_.append(join);
    line_row_[spec.id - 1] = join_row;
    if (!name.empty()) names_.insert(join_row);
    command_tasks_ += repeat.count;
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

  // "3", "3 (prep)", "3[7]" or "4 (barrier)": how messages name a row.
  std::string describe(TaskIndex row) const {
    std::string s = task_label(table_.id[row], table_.element[row]);
    if (table_.is_barrier(row) && line_kind_[table_.id[row] - 1] != LineKind::task) return s + " (barrier)";
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

  // The task lines inside the range `ref` of the task on line `at`, except that task itself. Ranges
  // expand to edges, and the file's edges are capped at kMaxDependencyEdges: 200,000 lines of
  // `[# 1-100000 #]` would be 2 * 10^10 (80 GB), an out-of-memory abort instead of an error.
  void add_range(const DepRef& ref, uint32_t at, std::vector<TaskIndex>& out) {
    // A reversed range means the same as the right way round, as in GREASY.
    const uint64_t lo = std::max<uint64_t>(std::min(ref.a, ref.b), 1);
    const uint64_t hi = std::min<uint64_t>(std::max(ref.a, ref.b), line_kind_.size());
    bool any_task = false;
    for (uint64_t line = lo; line <= hi; ++line) {
      if (line_kind_[line - 1] != LineKind::task) continue;
      any_task = true;
      // GREASY drops the task itself from a range that covers it; so do we, to mean the same.
      if (line == at) continue;
      if (++range_edges_ > kMaxDependencyEdges)
        fail(at, ref.column,
             "range '" + std::string(ref.token) + "': the file's ranges expand to more than " +
                 std::to_string(kMaxDependencyEdges) +
                 " dependencies; let one task (or #MPIQ barrier) wait for the range, and the others for it");
      out.push_back(line_row_[line - 1]);
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
    // The pending dependencies of a sweep are recorded at its first element and hold for every element.
    std::vector<TaskIndex> sweep_extra;
    for (size_t r = 0; r < n; ++r) {
      const size_t begin = deps.size();
      deps.insert(deps.end(), table_.deps.begin() + static_cast<ptrdiff_t>(table_.dep_offsets[r]),
                  table_.deps.begin() + static_cast<ptrdiff_t>(table_.dep_offsets[r + 1]));
      const bool later_element = table_.is_element(static_cast<TaskIndex>(r)) && r > 0 &&
                                 table_.is_element(static_cast<TaskIndex>(r - 1)) &&
                                 table_.id[r] == table_.id[r - 1];
      if (!later_element) sweep_extra.clear();
      if (later_element && !sweep_extra.empty()) {
        deps.insert(deps.end(), sweep_extra.begin(), sweep_extra.end());
        std::sort(deps.begin() + static_cast<ptrdiff_t>(begin), deps.end());
        deps.erase(std::unique(deps.begin() + static_cast<ptrdiff_t>(begin), deps.end()), deps.end());
      } else if (p < pending_.size() && pending_[p].row == r) {
        const size_t own_end = deps.size();
        for (; p < pending_.size() && pending_[p].row == r; ++p) resolve_later(pending_[p], deps);
        if (table_.is_element(static_cast<TaskIndex>(r)))
          sweep_extra.assign(deps.begin() + static_cast<ptrdiff_t>(own_end), deps.end());
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
    const std::vector<TaskIndex> cycle = find_cycle(table_);
    if (cycle.empty()) return;
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
  NodeCommands pernode_;
  TaskIndex segment_start_ = 0;
  NameIndex names_{table_.name};

  std::vector<LineKind> line_kind_;      ///< per physical line (index line - 1)
  std::vector<TaskIndex> line_row_;      ///< per physical line: the row of a task or barrier line, else kNone
  std::vector<TaskIndex> row_deps_;      ///< the dependencies of the task being read
  std::vector<TaskIndex> barrier_deps_;  ///< scratch: the rows a barrier waits for
  uint64_t range_edges_ = 0;             // dependencies that ranges expanded to so far
  std::vector<TaskIndex> sweep_deps_;    ///< scratch: the elements a sweep's join row waits for
  std::vector<Pending> pending_;         ///< in row order
  bool may_cycle_ = false;               ///< some row waits for a later one
  /// Of a submitted file: (row of the file, row of the run) for each dependency on a task of the run.
  std::vector<std::pair<TaskIndex, TaskIndex>> external_;
  std::vector<std::string> outside_names_;  ///< names defined neither in the file nor (known) in the run
};

}  // namespace

TaskTable parse_task_file(std::string_view text, const std::string& path, NodeCommands* pernode) {
  TaskTable table = detail::parse_spec_columns(text, path, pernode);
  table.init_runtime_columns();
  return table;
}

namespace detail {

TaskTable parse_spec_columns(std::string_view text, const std::string& path, NodeCommands* pernode) {
  Parser parser(text, path);
  TaskTable table = parser.run();
  if (pernode != nullptr) *pernode = parser.pernode();
  return table;
}

ParsedSubmission parse_for_run(std::string_view text, const std::string& path, const RunContext& run) {
  return Parser(text, path, &run).submission();
}

}  // namespace detail
}  // namespace mpiq::core
