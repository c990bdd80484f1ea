#pragma once
/// A column of strings stored as one byte blob plus offsets: the in-memory twin of the
/// `/tasks/command` layout in checkpoint.h5 (docs/design.md §7), and far smaller than a vector of
/// std::string for millions of tasks (no per-string heap block or 32-byte header).
///
/// While every string in it is empty (the names, directories and payloads of a command-only file, the
/// commands of function tasks) it keeps no offsets at all, only a row count: 8 B per row saved in each
/// such column.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/column_memory.hpp"

namespace mpiq::core {

class StringColumn {
 public:
  /// Appends `s` as the next row.
  [[gnu::always_inline]] void push_back(std::string_view s) {
    if (s.empty() && offsets_.empty()) [[likely]] {
      ++rows_;
      return;
    }
    push_stored(s);
  }
  /// Row `i` (0-based); valid until the column is next modified.
  std::string_view operator[](size_t i) const {
    if (offsets_.empty()) return {};
    return {blob_.data() + offsets_[i], static_cast<size_t>(offsets_[i + 1] - offsets_[i])};
  }
  size_t size() const noexcept { return rows_; }
  bool empty() const noexcept { return rows_ == 0; }
  void reserve(size_t rows, size_t bytes) {
    if (bytes == 0) return;  // offsets are made when the first non-empty string comes
    materialize();
    reserve_column(offsets_, rows + 1);
    reserve_column(blob_, bytes);
  }
  void clear() {
    blob_.clear();
    offsets_.clear();
    rows_ = 0;
  }

  /// True while every row is "" and no offsets are kept: offsets() is then empty, and the checkpoint
  /// writes rows+1 zeros itself.
  bool all_empty() const noexcept { return offsets_.empty(); }
  /// Raw storage, for the checkpoint: unless all_empty(), `offsets()` has size()+1 entries, the first
  /// 0, the last blob().size(); row i is blob()[offsets()[i], offsets()[i+1]).
  const std::vector<char>& blob() const noexcept { return blob_; }
  const std::vector<uint64_t>& offsets() const noexcept { return offsets_; }
  /// Rebuilds the column from raw storage; the caller has validated the offsets
  /// (non-decreasing, first 0, last blob.size(), at least one entry).
  void assign(std::vector<char> blob, std::vector<uint64_t> offsets) {
    rows_ = offsets.empty() ? 0 : offsets.size() - 1;
    blob_ = std::move(blob);
    offsets_ = std::move(offsets);
    if (blob_.empty()) offsets_ = {};  // every row empty: keep none
  }

 private:
  // push_back of a string that is stored: the first non-empty one makes the offsets.
  [[gnu::noinline]] void push_stored(std::string_view s) {
    materialize();
    grow_column(blob_, s.size());
    blob_.insert(blob_.end(), s.begin(), s.end());
    push_column(offsets_, blob_.size());
    ++rows_;
  }
  void materialize() {
    if (!offsets_.empty()) return;
    reserve_column(offsets_, rows_ + 1);
    offsets_.assign(rows_ + 1, 0);
  }
  std::vector<char> blob_;
  std::vector<uint64_t> offsets_;  // empty while every row is ""
  size_t rows_ = 0;
};

}  // namespace mpiq::core
