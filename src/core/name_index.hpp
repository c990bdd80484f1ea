#pragma once
/// Task names to rows, for the parser (names defined so far in a file) and for a run that a submitted
/// file joins (the run's named tasks, core/submission.hpp, hub::Inbox).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include "core/string_column.hpp"
#include "core/task_table.hpp"

namespace mpiq::core {

/// An index from names to rows over a table's name column: open addressing over (hash, row) slots whose
/// keys are the column's own strings, 8 bytes a slot instead of a heap node and a copy per name. The
/// column is referred to, not copied: it must outlive the index, and the rows it indexes must not
/// change (appending rows is fine: a row's name never changes once it is in the column).
class NameIndex {
 public:
  /// What find() returns for a name that is not in the index.
  static constexpr TaskIndex kNotFound = std::numeric_limits<TaskIndex>::max();

  /// An empty index whose keys will be rows of `names`.
  explicit NameIndex(const StringColumn& names) : names_(names) {}

  /// The row named `name`, or kNotFound.
  TaskIndex find(std::string_view name) const {
    if (slots_.empty()) return kNotFound;
    const uint32_t h = hash(name);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.row == kNotFound) return kNotFound;
      if (slot.hash == h && names_[slot.row] == name) return slot.row;
    }
  }

  /// Adds `row`, whose name (already in the column, not empty) is not in the index yet.
  void insert(TaskIndex row) {
    // At most half full keeps probe sequences short.
    if ((count_ + 1) * 2 > slots_.size()) grow();
    place(hash(names_[row]), row);
    ++count_;
  }

  /// How many names the index holds.
  size_t size() const noexcept { return count_; }

 private:
  struct Slot {
    uint32_t hash;
    TaskIndex row;
  };
  static uint32_t hash(std::string_view s) { return static_cast<uint32_t>(std::hash<std::string_view>{}(s)); }
  void place(uint32_t h, TaskIndex row) {
    size_t i = h & mask_;
    while (slots_[i].row != kNotFound) i = (i + 1) & mask_;
    slots_[i] = {h, row};
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(std::max<size_t>(64, old.size() * 2), Slot{0, kNotFound});
    mask_ = slots_.size() - 1;
    for (const Slot& slot : old)
      if (slot.row != kNotFound) place(slot.hash, slot.row);
  }

  const StringColumn& names_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

}  // namespace mpiq::core
