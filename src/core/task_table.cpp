#include "core/task_table.hpp"

#include <string>

namespace mpiq::core {

namespace {

std::string rows_problem(std::string_view name, size_t rows, size_t expected) {
  return "column '" + std::string(name) + "' has " + std::to_string(rows) + " rows, 'id' has " +
         std::to_string(expected);
}

std::string offsets_problem(std::string_view name, const StringColumn& column) {
  if (column.all_empty()) return "";
  const std::vector<uint64_t>& offsets = column.offsets();
  for (size_t i = 1; i < offsets.size(); ++i)
    if (offsets[i] < offsets[i - 1])
      return "offsets of '" + std::string(name) + "' decrease at row " + std::to_string(i - 1);
  if (offsets.front() != 0 || offsets.back() != column.blob().size())
    return "offsets of '" + std::string(name) + "' do not span its bytes";
  return "";
}

std::string dependency_problem(const std::vector<uint64_t>& dep_offsets, const std::vector<TaskIndex>& deps,
                               size_t n) {
  if (dep_offsets.size() != n + 1)
    return "the dependency offsets have " + std::to_string(dep_offsets.size()) + " entries, expected " +
           std::to_string(n + 1);
  if (dep_offsets.front() != 0 || dep_offsets.back() != deps.size())
    return "the dependency offsets do not span the edges";
  for (size_t row = 0; row < n; ++row) {
    const uint64_t begin = dep_offsets[row], end = dep_offsets[row + 1];
    if (end < begin) return "the dependency offsets decrease at row " + std::to_string(row);
    for (uint64_t e = begin; e < end; ++e) {
      if (deps[e] >= n)
        return "row " + std::to_string(row) + " depends on row " + std::to_string(deps[e]) +
               ", but there are " + std::to_string(n) + " rows";
      if (e > begin && deps[e] <= deps[e - 1])
        return "the dependencies of row " + std::to_string(row) + " are not ascending";
    }
  }
  return "";
}

template <class T>
std::string value_text(T value) {
  if constexpr (std::is_enum_v<T>)
    return std::to_string(static_cast<unsigned>(value));
  else
    return std::to_string(+value);  // uint8_t as a number
}

}  // namespace

std::string find_table_problem(const TaskTable& table) {
  const size_t n = table.size();
  std::string problem;
  // First every column's length, so that the checks of values below may index any column.
  for_each_column([&](const auto& c) {
    using D = std::remove_cvref_t<decltype(c)>;
    if (!problem.empty()) return;
    if constexpr (kIsColumn<D, DependencyColumn>) {
      problem = dependency_problem(table.*c.offsets, table.*c.edges, n);
    } else {
      if ((table.*c.rows).size() != n) problem = rows_problem(c.name, (table.*c.rows).size(), n);
    }
  });
  if (!problem.empty()) return problem;

  for_each_column([&](const auto& c) {
    using D = std::remove_cvref_t<decltype(c)>;
    if (!problem.empty()) return;
    if constexpr (kIsColumn<D, TextColumn>) {
      problem = offsets_problem(c.name, table.*c.rows);
    } else if constexpr (kIsColumn<D, KindColumn>) {
      const std::vector<std::string>& names = table.*c.names;
      if (names.empty() || !names[0].empty()) {
        problem = "kind 0 is not the shell command";
        return;
      }
      const std::vector<uint16_t>& kinds = table.*c.rows;
      for (size_t row = 0; row < n && problem.empty(); ++row)
        if (kinds[row] >= names.size())
          problem = "row " + std::to_string(row) + " has the unknown kind " + std::to_string(kinds[row]);
    } else if constexpr (kIsColumn<D, ValueColumn>) {
      if (c.known == nullptr) return;
      const auto& values = table.*c.rows;
      for (size_t row = 0; row < n && problem.empty(); ++row)
        if (!c.known(values[row]))
          problem = "row " + std::to_string(row) + " has the unknown " + std::string(c.name) + " " +
                    value_text(values[row]);
    }
  });
  if (!problem.empty()) return problem;

  // The key: rows are ordered by (task id, element) (find() and the journal's appends rely on it).
  for (size_t row = 1; row < n; ++row)
    if (table.id[row] < table.id[row - 1] ||
        (table.id[row] == table.id[row - 1] && table.element[row] <= table.element[row - 1]))
      return "task ids are not ascending at row " + std::to_string(row) + " (id " +
             table.label(static_cast<TaskIndex>(row)) + " after " +
             table.label(static_cast<TaskIndex>(row - 1)) + ")";
  return "";
}

void TaskTable::pad_text(StringColumn& column, size_t n, std::string_view value) {
  while (column.size() < n) column.push_back(value);
}

void TaskTable::pad_offsets(std::vector<uint64_t>& offsets, size_t n) {
  if (offsets.empty()) offsets.push_back(0);
  const uint64_t end = offsets.back();  // a copy: growing moves the vector
  grow(offsets, n + 1, end);            // rows without dependencies
}

std::optional<TaskIndex> TaskTable::find(TaskId task, uint32_t elem) const {
  const auto [first, last] = rows_of(task);
  if (elem == kNoElement) {
    // A plain task's row, or a sweep's join row: the last of its id.
    if (first == last || element[last - 1] != kNoElement) return std::nullopt;
    return last - 1;
  }
  const auto begin = element.begin() + first, end = element.begin() + last;
  const auto it = std::lower_bound(begin, end, elem);
  if (it == end || *it != elem) return std::nullopt;
  return static_cast<TaskIndex>(it - element.begin());
}

}  // namespace mpiq::core
