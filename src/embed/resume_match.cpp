#include "embed/resume_match.hpp"

#include <functional>

#include "mpiq/error.hpp"

namespace mpiq::embed {

namespace {

uint64_t mix(uint64_t h, uint64_t v) {
  return (h ^ v) * 0x100000001b3ull + (h >> 29);
}

// What a submission is matched on: kind, payload and dependencies (ids, ascending).
uint64_t content_key(std::string_view kind, std::string_view payload, std::span<const TaskId> deps) {
  uint64_t h = mix(std::hash<std::string_view>{}(kind), std::hash<std::string_view>{}(payload));
  for (TaskId d : deps) h = mix(h, d);
  return h;
}

void dep_ids(const core::TaskTable& table, core::TaskIndex t, std::vector<TaskId>& out) {
  out.clear();
  for (uint64_t e = table.dep_offsets[t]; e < table.dep_offsets[t + 1]; ++e)
    out.push_back(table.id[table.deps[e]]);
}

}  // namespace

ResumeMatch::ResumeMatch(const core::TaskTable& restored,
                         const std::unordered_map<std::string, TaskId>& names)
    : table_(&restored), names_(&names), claimed_(restored.size(), 0) {
  std::vector<TaskId> ids;
  for (core::TaskIndex t = 0; t < restored.size(); ++t) {
    if (!restored.is_function(t)) continue;
    dep_ids(restored, t, ids);
    unclaimed_[content_key(restored.kind_name(t), restored.payload[t], ids)].push_back(t);
  }
}

bool ResumeMatch::same(core::TaskIndex t, std::string_view kind, std::string_view payload,
                       const std::string& name, std::span<const TaskId> deps) const {
  if (claimed_[t] || table_->kind_name(t) != kind || table_->payload[t] != payload || table_->name[t] != name)
    return false;
  std::vector<TaskId> ids;
  dep_ids(*table_, t, ids);
  return std::equal(ids.begin(), ids.end(), deps.begin(), deps.end());
}

std::optional<core::TaskIndex> ResumeMatch::claim(std::string_view kind, std::string_view payload,
                                                  const std::string& name, std::span<const TaskId> deps) {
  if (!table_) return std::nullopt;
  if (!name.empty() && names_) {
    if (auto it = names_->find(name); it != names_->end()) {
      const auto t = table_->find(it->second);
      const bool saved = t && *t < claimed_.size();
      if (saved && same(*t, kind, payload, name, deps)) {
        claimed_[*t] = 1;
        return t;
      }
      throw InputError("submit: a task named '" + name + "' already exists" +
                       (saved && table_->is_function(*t)
                            ? " in the checkpoint with another kind, payload or dependencies; start with "
                              "--fresh to drop the saved run"
                            : ""));
    }
  }
  if (unclaimed_.empty()) return std::nullopt;
  const auto it = unclaimed_.find(content_key(kind, payload, deps));
  if (it == unclaimed_.end()) return std::nullopt;
  std::vector<core::TaskIndex>& rows = it->second;
  for (auto r = rows.begin(); r != rows.end(); ++r)
    if (same(*r, kind, payload, name, deps)) {
      const core::TaskIndex t = *r;
      claimed_[t] = 1;
      rows.erase(r);
      if (rows.empty()) unclaimed_.erase(it);
      return t;
    }
  return std::nullopt;
}

}  // namespace mpiq::embed
