#pragma once
/// A column of strings stored as one byte blob plus offsets: the in-memory twin of the
/// `/tasks/command` layout in checkpoint.h5 (DESIGN §7), and far smaller than a vector of
/// std::string for millions of tasks (no per-string heap block or 32-byte header).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/column_memory.hpp"

namespace mpiq::core {

class StringColumn {
 public:
  StringColumn() { offsets_.push_back(0); }

  /// Appends `s` as the next row.
  void push_back(std::string_view s) {
    if (!s.empty()) {
      grow_column(blob_, s.size());
      blob_.insert(blob_.end(), s.begin(), s.end());
    }
    push_column(offsets_, blob_.size());
  }
  /// Row `i` (0-based); valid until the column is next modified.
  std::string_view operator[](size_t i) const {
    return {blob_.data() + offsets_[i], static_cast<size_t>(offsets_[i + 1] - offsets_[i])};
  }
  size_t size() const noexcept { return offsets_.size() - 1; }
  bool empty() const noexcept { return size() == 0; }
  void reserve(size_t rows, size_t bytes) {
    reserve_column(offsets_, rows + 1);
    reserve_column(blob_, bytes);
  }
  void clear() {
    blob_.clear();
    offsets_.assign(1, 0);
  }

  /// Raw storage, for the checkpoint: `offsets()` has size()+1 entries, the first 0, the last
  /// blob().size(); row i is blob()[offsets()[i], offsets()[i+1]).
  const std::vector<char>& blob() const noexcept { return blob_; }
  const std::vector<uint64_t>& offsets() const noexcept { return offsets_; }
  /// Rebuilds the column from raw storage; the caller has validated the offsets
  /// (non-decreasing, first 0, last blob.size()).
  void assign(std::vector<char> blob, std::vector<uint64_t> offsets) {
    blob_ = std::move(blob);
    offsets_ = std::move(offsets);
  }

 private:
  std::vector<char> blob_;
  std::vector<uint64_t> offsets_;
};

}  // namespace mpiq::core
