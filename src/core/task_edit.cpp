#include "core/task_edit.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "core/graph.hpp"

namespace mpiq::core {

namespace {

// FNV-1a over bytes, folded into `h`.
uint64_t mix(uint64_t h, std::string_view bytes) {
  for (const unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
  return h;
}
template <class T>
uint64_t mix_value(uint64_t h, T v) {
  return mix(h, std::string_view(reinterpret_cast<const char*>(&v), sizeof v));
}

// A row's own content, without its dependencies: what the line says.
uint64_t own_key(const TaskTable& t, TaskIndex r) {
  uint64_t h = 0xcbf29ce484222325ull;
  h = mix(h, t.command[r]);
  h = mix_value(h, uint8_t{0xff});  // separators: "ab","c" differs from "a","bc"
  h = mix(h, t.workdir[r]);
  h = mix_value(h, uint8_t{0xff});
  h = mix(h, t.name[r]);
  h = mix_value(h, uint8_t{0xff});
  h = mix(h, t.kind_name(r));
  h = mix_value(h, uint8_t{0xff});
  h = mix(h, t.payload[r]);
  h = mix_value(h, t.flags[r]);
  h = mix_value(h, t.element[r]);
  h = mix_value(h, t.cores[r]);
  h = mix_value(h, t.gpus[r]);
  h = mix_value(h, t.timeout_s[r]);
  h = mix_value(h, t.retries[r]);
  h = mix_value(h, t.priority[r]);
  h = mix_value(h, t.mem_kb[r]);
  return h;
}

// Every row's key: its own content and its dependencies' keys, in dependency order.
std::vector<uint64_t> content_keys(const TaskTable& t) {
  std::vector<uint64_t> key(t.size(), 0);
  for (const TaskIndex r : topological_order(t, dependants(t))) {
    uint64_t h = own_key(t, r);
    for (uint64_t e = t.dep_offsets[r]; e < t.dep_offsets[r + 1]; ++e) h = mix_value(h, key[t.deps[e]]);
    key[r] = h;
  }
  return key;
}

// Whether the rows hold the same line: its own content, compared (the keys only hash it).
bool same_line(const TaskTable& a, TaskIndex i, const TaskTable& b, TaskIndex j) {
  return a.command[i] == b.command[j] && a.workdir[i] == b.workdir[j] && a.name[i] == b.name[j] &&
         a.kind_name(i) == b.kind_name(j) && a.payload[i] == b.payload[j] && a.flags[i] == b.flags[j] &&
         a.element[i] == b.element[j] && a.cores[i] == b.cores[j] && a.gpus[i] == b.gpus[j] &&
         a.timeout_s[i] == b.timeout_s[j] && a.retries[i] == b.retries[j] && a.priority[i] == b.priority[j] &&
         a.mem_kb[i] == b.mem_kb[j] &&
         a.dep_offsets[i + 1] - a.dep_offsets[i] == b.dep_offsets[j + 1] - b.dep_offsets[j];
}

// Adds `id` to `lines` unless it is the last one there (a sweep's rows share their line).
void add_line(std::vector<TaskId>& lines, TaskId id) {
  if (lines.empty() || lines.back() != id) lines.push_back(id);
}

std::string line_list(const std::vector<TaskId>& lines, const char* one, const char* many) {
  std::string s = std::string(lines.size() == 1 ? one : many) + " ";
  for (size_t i = 0; i < lines.size() && i < 10; ++i) s += (i ? ", " : "") + std::to_string(lines[i]);
  if (lines.size() > 10) s += ", ... (" + std::to_string(lines.size() - 10) + " more)";
  return s;
}

}  // namespace

std::string TaskEditSummary::describe() const {
  std::string s = "task file edited: ";
  s += std::to_string(changed.size()) + " changed or new";
  if (!changed.empty()) s += " (" + line_list(changed, "line", "lines") + ")";
  s += ", " + std::to_string(downstream.size()) + " run again as they depend on a change";
  if (!downstream.empty()) s += " (" + line_list(downstream, "line", "lines") + ")";
  s += ", " + std::to_string(removed.size()) + " removed";
  if (!removed.empty()) s += " (" + line_list(removed, "old line", "old lines") + ")";
  s += "; " + std::to_string(kept) + " task(s) keep their state";
  return s;
}

TaskTable apply_task_edit(const TaskTable& saved, TaskTable edited, uint32_t run, TaskEditSummary* summary,
                          std::vector<TaskIndex>* new_row_of_saved) {
  if (new_row_of_saved) new_row_of_saved->assign(saved.size(), kNotKept);
  const std::vector<uint64_t> old_key = content_keys(saved);
  const std::vector<uint64_t> new_key = content_keys(edited);
  // Saved rows by key, in row order: of equal tasks the first saved is claimed first.
  std::unordered_map<uint64_t, std::vector<TaskIndex>> by_key;
  by_key.reserve(saved.size());
  for (TaskIndex r = static_cast<TaskIndex>(saved.size()); r-- > 0;) by_key[old_key[r]].push_back(r);
  std::vector<uint8_t> claimed(saved.size(), 0);
  std::vector<uint8_t> matched(edited.size(), 0);
  edited.init_runtime_columns();
  TaskEditSummary s;
  for (TaskIndex r = 0; r < edited.size(); ++r) {
    auto it = by_key.find(new_key[r]);
    if (it == by_key.end()) continue;
    std::vector<TaskIndex>& rows = it->second;
    while (!rows.empty() && !same_line(saved, rows.back(), edited, r)) rows.pop_back();  // a hash collision
    if (rows.empty()) continue;
    const TaskIndex old = rows.back();
    rows.pop_back();
    claimed[old] = 1;
    matched[r] = 1;
    if (new_row_of_saved) (*new_row_of_saved)[old] = r;
    edited.set_runtime(r, saved.runtime(old));
    if (!edited.is_barrier(r)) ++s.kept;
    const TaskState state = saved.state[old];
    const bool ended = (state == TaskState::done || state == TaskState::failed) && saved.attempts[old] > 0;
    if (ended && saved.output_id[old] != 0) {  // moved by an earlier edit: still where it was written
      edited.output_id[r] = saved.output_id[old];
      edited.output_run[r] = saved.output_run[old];
    } else if (ended && saved.id[old] != edited.id[r]) {
      edited.output_id[r] = saved.id[old];
      edited.output_run[r] = run;
    }
  }
  // What the rest are: a line unchanged in itself (the same own content among the unclaimed saved
  // rows) runs again because something it depends on changed; any other is changed or new.
  std::unordered_map<uint64_t, uint32_t> unclaimed_own;
  for (TaskIndex r = 0; r < saved.size(); ++r)
    if (!claimed[r] && !saved.is_barrier(r)) ++unclaimed_own[own_key(saved, r)];
  for (TaskIndex r = 0; r < edited.size(); ++r) {
    if (matched[r] || edited.is_barrier(r)) continue;
    auto it = unclaimed_own.find(own_key(edited, r));
    if (it != unclaimed_own.end() && it->second > 0) {
      --it->second;
      add_line(s.downstream, edited.id[r]);
    } else {
      add_line(s.changed, edited.id[r]);
    }
  }
  // Removed: saved lines of which nothing is left, neither matched nor run again.
  std::unordered_map<uint64_t, uint32_t> rerun_own;
  for (TaskIndex r = 0; r < edited.size(); ++r)
    if (!matched[r] && !edited.is_barrier(r)) ++rerun_own[own_key(edited, r)];
  for (TaskIndex r = 0; r < saved.size(); ++r) {
    if (claimed[r] || saved.is_barrier(r)) continue;
    auto it = rerun_own.find(own_key(saved, r));
    if (it != rerun_own.end() && it->second > 0) {
      --it->second;
      continue;
    }
    add_line(s.removed, saved.id[r]);
  }
  if (summary) *summary = std::move(s);
  return edited;
}

}  // namespace mpiq::core
