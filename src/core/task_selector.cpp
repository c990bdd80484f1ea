#include "core/task_selector.hpp"

#include <algorithm>
#include <charconv>

#include "core/task_ref.hpp"
#include "mpiq/error.hpp"

namespace mpiq::core {

namespace {
std::optional<TaskId> parse_id(std::string_view s) {
  TaskId v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}
}  // namespace

std::vector<TaskIndex> resolve_task_word(const TaskTable& table, std::string_view word) {
  std::vector<TaskIndex> rows;
  if (word.empty()) return rows;
  if (word.back() == ']') {  // one element of a sweep, ID[i] or NAME[i] (core/task_ref.hpp)
    std::string why;
    if (const auto row = find_task_ref(table, word, &why)) rows.push_back(*row);
    return rows;
  }
  if (word.front() >= '0' && word.front() <= '9') {
    const size_t dash = word.find('-');
    const auto first = parse_id(word.substr(0, dash));
    const auto last = dash == std::string_view::npos ? first : parse_id(word.substr(dash + 1));
    if (!first || !last || *last < *first) return rows;
    // Rows are in id order: the first row at or past `first`, then on while ids stay in the range.
    const auto from = std::lower_bound(table.id.begin(), table.id.end(), *first);
    for (auto it = from; it != table.id.end() && *it <= *last; ++it) {
      const auto row = static_cast<TaskIndex>(it - table.id.begin());
      if (!table.is_barrier(row)) rows.push_back(row);
    }
    return rows;
  }
  for (TaskIndex t = 0; t < table.size(); ++t)
    if (table.name[t] == word) {
      if (table.is_sweep_join(t)) {  // a sweep's name: every element (the rows of its id but the join)
        const auto [first, end] = table.rows_of(table.id[t]);
        for (TaskIndex r = first; r < end; ++r)
          if (!table.is_barrier(r)) rows.push_back(r);
      } else if (!table.is_barrier(t)) {
        rows.push_back(t);
      }
      break;  // names are unique in a run
    }
  return rows;
}

std::vector<TaskIndex> resolve_task_words(const TaskTable& table, const std::vector<std::string>& words,
                                          const std::string& where) {
  std::vector<TaskIndex> rows;
  for (const std::string& w : words) {
    const std::vector<TaskIndex> some = resolve_task_word(table, w);
    if (some.empty())
      throw InputError(
          where + ": no task '" + w +
          "' (give a task id (its line number), a range A-B, a name, or a sweep's element ID[i])");
    rows.insert(rows.end(), some.begin(), some.end());
  }
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

}  // namespace mpiq::core
