#include "core/task_ref.hpp"

#include "core/task_syntax.hpp"

namespace mpiq::core {

namespace {

// Digits only, at most 10 of them, to their value (nullopt when not that or above UINT32_MAX).
std::optional<uint32_t> number(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t n = 0;
  for (char c : s) {
    if (!syntax::is_digit(c)) return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > 0xFFFFFFFFu) return std::nullopt;
  return static_cast<uint32_t>(n);
}

// "3 elements: 0, 1, 2" / "1000 elements: 0, 1, ... 999": what a sweep holds, for a message.
std::string elements_of(const TaskTable& table, TaskIndex first, TaskIndex join) {
  const TaskIndex n = join - first;
  std::string s = std::to_string(n) + (n == 1 ? " element: " : " elements: ");
  for (TaskIndex r = first; r < join && r < first + 3; ++r)
    s += (r > first ? ", " : "") + std::to_string(table.element[r]);
  if (n > 3) s += (n > 4 ? ", ... " : ", ") + std::to_string(table.element[join - 1]);
  return s;
}

}  // namespace

std::optional<TaskIndex> find_task_ref(const TaskTable& table, std::string_view ref, std::string* why) {
  std::string_view base = ref;
  std::optional<uint32_t> element;
  if (!ref.empty() && ref.back() == ']') {
    const size_t open = ref.find('[');
    element =
        open == std::string_view::npos ? std::nullopt : number(ref.substr(open + 1, ref.size() - open - 2));
    if (!element || open == 0) {
      *why = "bad task '" + std::string(ref) + "': an element of a sweep is ID[i] or NAME[i], i a number";
      return std::nullopt;
    }
    base = ref.substr(0, open);
  }
  // The row of the task itself: a plain task's, or a sweep's join row (the last of its id); a disBatch
  // REPEAT's sweep has no join row (core/disbatch.hpp): its last element stands for it here.
  std::optional<TaskIndex> row;
  if (const auto id = number(base)) {
    const auto [first, end] = table.rows_of(*id);
    if (first < end) row = end - 1;
  } else {
    for (TaskIndex t = 0; t < table.size(); ++t)
      if (table.name[t] == base) {
        row = t;
        break;
      }
  }
  if (!row || (table.is_barrier(*row) && !table.is_sweep_join(*row))) {
    *why = "no task '" + std::string(base) + "' (give a task id, the line number, or a name)";
    return std::nullopt;
  }
  const auto [first, rows_end] = table.rows_of(table.id[*row]);
  const bool sweep = table.is_element(first);
  const TaskIndex end =
      table.is_sweep_join(rows_end - 1) ? rows_end : rows_end + 1;  // elements: [first, end - 1)
  if (!element) {
    if (!sweep) return row;
    *why = "task '" + std::string(base) + "' is a sweep of " + elements_of(table, first, end - 1) +
           ": name one as " + std::string(base) + "[" + std::to_string(table.element[first]) + "]";
    return std::nullopt;
  }
  if (!sweep) {
    *why =
        "task '" + std::string(base) + "' is not a sweep: name it without [" + std::to_string(*element) + "]";
    return std::nullopt;
  }
  if (const auto e = table.find(table.id[*row], *element)) return e;
  *why = "sweep '" + std::string(base) + "' has no element " + std::to_string(*element) + " (it has " +
         elements_of(table, first, end - 1) + ")";
  return std::nullopt;
}

}  // namespace mpiq::core
